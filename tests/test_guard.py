"""The reply guard: each flag kind, its calibration on the authored replies, and the Respond processor's
regenerate-once-then-template behaviour with its counts."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from emotion_agent.agent.components import Components
from emotion_agent.agent.executors import BoundedExecutor
from emotion_agent.agent.pipeline import Pipeline
from emotion_agent.agent.processors.conversation import Conversation
from emotion_agent.agent.processors.respond import Respond
from emotion_agent.agent.profiles import CUSTOMER_SERVICE, MENTAL_HEALTH
from emotion_agent.core.events import EmotionEstimate
from emotion_agent.core.frames import ReplyDeltaFrame, ReplyFrame, UserWords
from emotion_agent.core.protocols import Turn
from emotion_agent.core.settings import Settings
from emotion_agent.responders.guard import KINDS, GuardCounts, ReplyGuard, StreamRelease
from emotion_agent.responders.template import SUPPORT_STEP, UNSURE_ACK, TemplateResponder
from tests.agent_fakes import FakeSafety, FrameLog

CORPUS = Path(__file__).resolve().parent.parent / "corpora" / "dialogue"
USER = [Turn("user", "My order 55102 still hasn't arrived and I paid for express shipping.")]


def kinds(reply: str, history: Sequence[Turn] = USER) -> set[str]:
    return {f.kind for f in ReplyGuard().check(reply, history)}


@pytest.mark.parametrize(("reply", "kind"), [
    ("I've just arrived at the beach and we had a lovely day together!", "personal_life"),
    ("I'm glad we could have our walk together today.", "personal_life"),
    ("My weekend was quiet, thanks for asking.", "personal_life"),
    ("As an AI, I don't have feelings about parcels.", "role_break"),
    ("I'm sorry, but I can't help you right now.", "role_break"),
    ("I'm sorry, I can't be here for you right now.", "role_break"),
    ("I don't have the capability to track a chat.", "role_break"),
    ("The answer to this question is 12 months.", "invented_fact"),
    ("Refunds usually arrive within 3-5 business days.", "invented_fact"),
    ("You'll get $20 back as compensation.", "invented_fact"),
    ("Our refund policy covers this, it should arrive by Friday.", "invented_fact"),
    ("Maybe support your friend through this.", "invented_fact"),
    ("I'm sorry for your loss.", "condolence"),
    ("My condolences, that must be hard.", "condolence"),
    ("It is great that you are in a positive mood today.", "prompt_leak"),
    ("User emotion: angry. Mood: steady.", "prompt_leak"),
    ("word " * 60 + "end.", "over_length"),
    ("One. Two. Three. Four.", "over_length"),
    ("Could you tell me the CVV number on your account?", "sensitive_data"),
    ("Please send me your password so I can check.", "sensitive_data"),
    ("Just type your PIN here and I'll sort it.", "sensitive_data"),
])
def test_each_flag_kind(reply: str, kind: str) -> None:
    assert kind in KINDS
    assert kind in kinds(reply), ReplyGuard().check(reply, USER)


@pytest.mark.parametrize("reply", [
    "A parcel that's gone quiet is maddening, and I'm sorry you've been left waiting. Is 55102 the right number?",
    "I'm sorry the express shipping didn't get it to you. Would you like me to pass this to a colleague?",
    "I'm passing this to a human colleague now with your order number.",
    "The CVV is the three numbers on the back of your card; enter them on the payment page, never in a chat.",
    "Could you send me the order or account number so I can look into it?",
])
def test_good_support_replies_pass(reply: str) -> None:
    assert kinds(reply) == set()


def test_facts_the_user_gave_are_not_invented() -> None:
    history = [Turn("user", "I was charged £45 twice on Monday, for 3 months now. My friend said to ask.")]
    assert kinds("Being charged £45 twice since Monday for three months is a lot; your friend was right.",
                 history) == set()
    assert kinds("I'm sorry about your gran; losing her is hard.", [Turn("user", "my gran died last week")]) == set()
    assert kinds("I'm so sorry for your loss.", [Turn("user", "my gran died last week")]) == set()


def test_the_authored_replies_are_almost_never_flagged() -> None:
    """Calibration: the corpus replies follow the rules, so the guard must stay quiet on them."""
    guard, n, flagged = ReplyGuard(), 0, 0
    for line in (CORPUS / "dev.jsonl").read_text(encoding="utf-8").splitlines():
        history: list[Turn] = []
        for turn in json.loads(line)["turns"]:
            history.append(Turn("user", turn["user"]))
            n += 1
            flagged += bool(guard.check(turn["reply"], history))
            history.append(Turn("assistant", turn["reply"]))
    assert n > 150 and flagged / n < 0.03, (flagged, n)


def test_stream_release_holds_back_the_open_clause() -> None:
    release = StreamRelease(ReplyGuard(), USER)
    assert release.feed("That sounds") == ""
    assert release.feed(" maddening, and") == "That sounds maddening,"
    assert release.feed(" I'm sorry for your") == ""
    assert release.feed(" loss.") == "" and release.flags and release.flags[0].kind == "condolence"
    ok = StreamRelease(ReplyGuard(), USER)
    assert ok.feed("Sorry, that's late. What") == "Sorry, that's late."
    assert ok.feed(" can I do?") == "" and ok.finish() == " What can I do?"


def test_counts_as_dict() -> None:
    counts = GuardCounts()
    counts.count(ReplyGuard().check("As an AI I went to the beach.", USER), turn=1)
    counts.count([], turn=1, attempt=1)
    d = counts.as_dict()
    assert d["checked"] == 2 and d["flagged"] == 1 and d["flag_role_break"] == 1 and d["flag_personal_life"] == 1
    assert counts.log[0][0] == 1 and counts.log[1][1] == 1


# -- in the Respond processor -----------------------------------------------------------------------

class Scripted:
    """Replies from a list, one per call; records the context it was given."""

    name = "scripted"

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.contexts: list[Mapping[str, Any]] = []

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None = None) -> Iterator[str]:
        self.contexts.append(dict(context or {}))
        text = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        for word in text.split(" "):
            yield word + " "


async def run_turn(responder: Any, profile: Any = CUSTOMER_SERVICE, guard: bool = True,
                   text: str = "My parcel is late again.") -> tuple[ReplyFrame, str, Conversation]:
    comps = Components(settings=Settings(), responder=responder, safety=FakeSafety())  # type: ignore[arg-type]
    executor = BoundedExecutor()
    conv = Conversation(profile)
    log = FrameLog()
    chain = Pipeline([Respond(comps, executor, conv, guard=guard), log])
    try:
        await chain.push(UserWords(1, text, "text", 0.0))
    finally:
        executor.shutdown()
    (reply,) = log.of(ReplyFrame)
    return reply, "".join(d.text for d in log.of(ReplyDeltaFrame)), conv


async def test_a_flagged_reply_is_regenerated_once() -> None:
    responder = Scripted("I went to the beach today, lovely.", "That sounds frustrating. What's the order number?")
    reply, _, conv = await run_turn(responder)
    assert reply.text == "That sounds frustrating. What's the order number?" and reply.fallback_reason is None
    assert [c.get("attempt", 0) for c in responder.contexts] == [0, 1]
    assert responder.contexts[0]["profile"] == "customer_service"
    assert conv.guard.as_dict()["regenerated"] == 1 and conv.guard.fallbacks == 0
    assert conv.guard.flagged == 1 and conv.guard.by_kind == {"personal_life": 1}


async def test_flagged_twice_falls_back_to_the_template() -> None:
    responder = Scripted("As an AI I can't help you.", "Refunds take 12 months.")
    reply, _, conv = await run_turn(responder)
    # the profile's template: no estimate here, so a neutral acknowledgement and the support next step
    assert reply.responder == "template" and reply.text == f"{UNSURE_ACK} {SUPPORT_STEP[0]}"
    assert reply.fallback_reason is not None and reply.fallback_reason.startswith("reply guard")
    assert "role_break" in reply.fallback_reason and "invented_fact" in reply.fallback_reason
    assert conv.guard.fallbacks == 1 and conv.guard.regenerated == 1 and conv.guard.flagged == 2
    assert conv.history[-1].text == reply.text


async def test_a_clean_reply_streams_clause_by_clause_and_is_counted() -> None:
    responder = Scripted("That's really annoying, I'm sorry. What's the order number?")
    reply, sent, conv = await run_turn(responder)
    assert reply.text == sent.strip() == "That's really annoying, I'm sorry. What's the order number?"
    assert conv.guard.checked == 1 and conv.guard.flagged == 0


async def test_guard_off_sends_the_reply_as_is() -> None:
    reply, _, conv = await run_turn(Scripted("I went to the beach today."), guard=False)
    assert reply.text == "I went to the beach today." and conv.guard.checked == 0


async def test_generated_replies_get_no_canned_checkin_question() -> None:
    reply, _, _ = await run_turn(Scripted("That sounds heavy. What's been keeping you up?"), profile=MENTAL_HEALTH,
                                 text="I can't sleep before my exams")
    assert reply.text == "That sounds heavy. What's been keeping you up?"
    plain, _, _ = await run_turn(Scripted("That sounds heavy."), profile=MENTAL_HEALTH, text="I can't sleep")
    assert plain.text == "That sounds heavy."


async def test_template_replies_get_the_profiles_checkin_question() -> None:
    reply, _, _ = await run_turn(TemplateResponder(), profile=MENTAL_HEALTH, text="I can't sleep")
    assert reply.text.count("?") == 1 and reply.responder == "template"


def test_a_date_the_user_misspelt_is_not_an_invented_fact_when_said_back_spelt_right() -> None:
    history = [Turn("user", "ok i will try to rest, visiting is at 10 tomorow. thanks")]
    assert ReplyGuard().check("So you will rest; visiting is at 10 tomorrow.", history) == []
    assert [f.kind for f in ReplyGuard().check("See you tomorrow.", [Turn("user", "ok thanks")])] == ["invented_fact"]
