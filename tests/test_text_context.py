"""Dialogue context for the words expert: the loaders (tiny files in tmp_path), the ``ContextualTextExpert``
capability on a tiny BERT, the text stage feeding it the conversation's previous turns, ``eval text`` with
context, and (``-m models``) a scripted angry customer through ``chat`` with the real text expert."""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from emotion_agent.agent.executors import BoundedExecutor
from emotion_agent.agent.pipeline import FrameProcessor, Pipeline
from emotion_agent.agent.processors.conversation import Conversation
from emotion_agent.agent.processors.text_expert import TextExpertStage
from emotion_agent.agent.profiles import DEFAULT
from emotion_agent.core.events import ExpertScores
from emotion_agent.core.frames import ExpertScoresFrame, Frame, UserWords
from emotion_agent.core.labels import LABEL_INDEX, NUM_LABELS
from emotion_agent.core.protocols import ContextualTextExpert, Turn
from emotion_agent.fusion.experts.base import save_checkpoint
from emotion_agent.fusion.experts.text import TextExpert, TextExpertConfig, TextHead, build_state_dict
from emotion_agent.training.datasets import DatasetError
from emotion_agent.training.metrics import weighted_f1
from emotion_agent.training.text_data import (
    load_authored_examples,
    load_dialogue_examples,
    load_emorynlp_examples,
    load_examples,
    load_meld_examples,
    with_context,
)
from tests.agent_fakes import FakeExpert


# -- loaders -------------------------------------------------------------------------------------------------
def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_meld_context_follows_dialogue_order(tmp_path: Path) -> None:
    header = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID"]
    rows = [[3, "Where is it?", "B", "anger", "negative", 0, 2], [1, "Hi.", "A", "neutral", "neutral", 0, 0],
            [2, "Itâ€™s late.", "B", "sadness", "negative", 0, 1], [4, "New talk.", "C", "joy", "positive", 1, 0]]
    path = _write_csv(tmp_path / "dev_sent_emo.csv", header, rows)
    ex = load_meld_examples(path, context_turns=2)
    assert [e.text for e in ex] == ["Hi.", "It’s late.", "Where is it?", "New talk."]  # mojibake fixed
    assert [e.context for e in ex] == [(), ("Hi.",), ("Hi.", "It’s late."), ()]
    assert [e.label for e in ex] == [LABEL_INDEX[x] for x in ("neutral", "sad", "angry", "happy")]
    assert load_meld_examples(path, context_turns=1)[2].context == ("It’s late.",)
    assert load_examples(path, context_turns=0)[2].context == ()
    assert {e.group for e in ex[:3]} == {"meld:0"} and ex[3].group == "meld:1"


def test_emorynlp_scenes_and_label_mapping(tmp_path: Path) -> None:
    header = ["Utterance", "Speaker", "Emotion", "Scene_ID", "Utterance_ID", "Season", "Episode"]
    rows = [["Coffee.", "['R']", "Neutral", 1, 1, 1, 2], ["Thanks!", "['J']", "Joyful", 1, 2, 1, 2],
            ["I did it.", "['M']", "Powerful", 1, 3, 1, 2], ["Calm now.", "['M']", "Peaceful", 1, 1, 1, 3],
            ["Get out!", "['R']", "Mad", 1, 2, 1, 3], ["Oh no.", "['P']", "Scared", 2, 1, 1, 3],
            ["I miss her.", "['P']", "Sad", 2, 2, 1, 3]]
    path = _write_csv(tmp_path / "emorynlp_dev_final.csv", header, rows)
    ex = load_examples(path)
    labels = {e.text: e.label for e in ex}
    assert labels == {"Coffee.": LABEL_INDEX["neutral"], "Thanks!": LABEL_INDEX["happy"], "I did it.": LABEL_INDEX["happy"],
                      "Calm now.": LABEL_INDEX["neutral"], "Get out!": LABEL_INDEX["angry"],
                      "Oh no.": LABEL_INDEX["fearful"], "I miss her.": LABEL_INDEX["sad"]}
    ctx = {e.text: e.context for e in load_emorynlp_examples(path)}
    # Same scene number in another episode is another dialogue.
    assert ctx["I did it."] == ("Coffee.", "Thanks!") and ctx["Get out!"] == ("Calm now.",) and ctx["Oh no."] == ()
    bad = _write_csv(tmp_path / "bad.csv", header, [["x", "['R']", "Bored", 1, 1, 1, 1]])
    with pytest.raises(DatasetError, match="Bored"):
        load_examples(bad)


def test_authored_tsv(tmp_path: Path) -> None:
    path = tmp_path / "train.tsv"
    path.write_text("domain\tprevious\ttext\tlabel\tsource\n"
                    "support\tYour parcel is in transit.\tnine days. ridiculous\tangry\ta\n"
                    "checkin\t\tfine.\tneutral\tb\n", encoding="utf-8")
    ex = load_examples(path)
    assert [(e.text, e.context, e.domain, e.label) for e in ex] == [
        ("nine days. ridiculous", ("Your parcel is in transit.",), "support", LABEL_INDEX["angry"]),
        ("fine.", (), "checkin", LABEL_INDEX["neutral"])]
    assert with_context(ex, 0)[0].context == ()
    (tmp_path / "bad.tsv").write_text("domain\tprevious\ttext\tlabel\nsupport\t\thi\tbored\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="bored"):
        load_authored_examples(tmp_path / "bad.tsv")


def test_dialogue_jsonl_reads_user_turns_after_turns_and_replies(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    conv = {"id": "ca-1", "profile": "casual", "turns": [
        {"user": "i got the flat!!!", "emotion": "happy", "reply": "No way, congratulations!"},
        {"user": "moving in on the 1st", "emotion": "uncertain", "reply": "So soon!"},
        {"user": "need a bed lol", "emotion": "neutral", "reply": "A bed first."}]}
    path.write_text(json.dumps(conv) + "\n\n", encoding="utf-8")
    ex = load_examples(path, context_turns=2)
    assert [(e.text, e.label, e.domain, e.group) for e in ex] == [
        ("i got the flat!!!", LABEL_INDEX["happy"], "dialogue", "dialogue:ca-1"),
        ("need a bed lol", LABEL_INDEX["neutral"], "dialogue", "dialogue:ca-1")]  # uncertain: context only
    assert ex[0].context == () and ex[1].context == ("moving in on the 1st", "So soon!")
    (tmp_path / "bad.jsonl").write_text('{"id": 1}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="turns"):
        load_dialogue_examples(tmp_path / "bad.jsonl")


def test_dialogue_rows_near_a_held_out_text_are_dropped() -> None:
    from emotion_agent.training.text_context_train import drop_near
    from emotion_agent.training.text_data import TextExample

    rows = [TextExample("I got the job!!! the one at the museum", 1), TextExample("ok", 0),
            TextExample("the bus smells like wet dog", 4)]
    kept, dropped = drop_near(rows, ["I got the job!!! the one at the design studio", "OK"])
    assert [e.text for e in kept] == ["the bus smells like wet dog"] and dropped == 2


def test_unknown_formats_are_dataset_errors(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DatasetError):
        load_examples(tmp_path / "x.json")
    with pytest.raises(DatasetError):
        load_examples(_write_csv(tmp_path / "y.csv", ["a", "b"], [[1, 2]]))


def test_weighted_f1() -> None:
    y = np.array([0, 0, 0, 1])
    assert weighted_f1(y, y) == pytest.approx(1.0)
    # class 0: P=1, R=2/3 → F1 0.8 (weight 3); class 1: P=0.5, R=1 → 2/3 (weight 1)
    assert weighted_f1(y, np.array([0, 0, 1, 1])) == pytest.approx((3 * 0.8 + 2 / 3) / 4)


# -- the capability on a tiny BERT -------------------------------------------------------------------------------
def _expert(encoder: Path, folder: Path, context_turns: int, pool: str) -> Path:
    torch.manual_seed(1)
    config = TextExpertConfig(encoder=str(encoder), hidden_size=16, max_length=24, context_turns=context_turns,
                              pool=pool)
    save_checkpoint(folder / "model.pt", config, build_state_dict(TextHead(config)))
    return folder


def test_contextual_expert_reads_the_previous_turns(tiny_encoder: Path, tmp_path: Path) -> None:
    expert = TextExpert.load(_expert(tiny_encoder, tmp_path, context_turns=2, pool="current"))
    assert isinstance(expert, ContextualTextExpert)
    alone = expert.predict("where is my order")
    assert np.allclose(expert.predict_in_context("where is my order", []).probs, alone.probs, atol=1e-6)
    with_ctx = expert.predict_in_context("where is my order", ["sorry", "the parcel is late again"])
    assert with_ctx.probs.shape == (NUM_LABELS,) and abs(float(with_ctx.probs.sum()) - 1) < 1e-5
    assert not np.allclose(with_ctx.probs, alone.probs, atol=1e-6)
    # Only the last ``context_turns`` turns count; blank turns are skipped.
    older = expert.predict_in_context("where is my order", ["i am so happy", "sorry", "", "the parcel is late again"])
    assert np.allclose(older.probs, with_ctx.probs, atol=1e-5)
    # Batched scoring with contexts matches one-by-one scoring.
    many = expert.predict_many(["where is my order", "ok thanks"], contexts=[["sorry", "the parcel is late again"], []])
    assert np.allclose(many[0].probs, with_ctx.probs, atol=1e-5)
    assert np.allclose(many[1].probs, expert.predict("ok thanks").probs, atol=1e-5)
    with pytest.raises(ValueError):
        expert.predict_in_context("   ", ["hi"])
    with pytest.raises(ValueError):
        expert.predict_in_context("ok", "a single string is not a list of turns")


def test_long_context_is_cut_from_the_left_and_the_message_is_kept(tiny_encoder: Path, tmp_path: Path) -> None:
    expert = TextExpert.load(_expert(tiny_encoder, tmp_path, context_turns=1, pool="current"))
    batch, pool = expert.encoder.tokenize_in_context(["i am so angry"], [["the parcel is late " * 20]], 24)
    assert batch["input_ids"].shape[1] == 24
    assert int(pool.sum()) == 4  # every word of the current message survives
    assert bool(pool[0, -5:-1].all()) and int(pool[0, -1]) == 0  # the message sits at the end, before [SEP]


def test_model_without_context_ignores_it(tiny_encoder: Path, tmp_path: Path) -> None:
    expert = TextExpert.load(_expert(tiny_encoder, tmp_path, context_turns=0, pool="all"))
    assert np.allclose(expert.predict_in_context("i am so sad", ["i am so happy"]).probs,
                       expert.predict("i am so sad").probs, atol=1e-6)


# -- the text stage --------------------------------------------------------------------------------------
class RecordingContextExpert(FakeExpert):
    """A fake text expert with the capability; records the previous turns it was given."""

    def __init__(self) -> None:
        super().__init__("text")
        self.seen: list[tuple[str, tuple[str, ...]]] = []

    def predict_in_context(self, text: str, previous: Sequence[str]) -> ExpertScores:
        self.seen.append((text, tuple(previous)))
        return self.predict(text)


class Source:
    def __init__(self, expert: Any) -> None:
        self.expert = expert

    def get_expert(self, modality: str) -> Any:
        return self.expert


class Collect(FrameProcessor):
    def __init__(self) -> None:
        super().__init__()
        self.frames: list[Frame] = []

    async def process(self, frame: Frame) -> None:
        self.frames.append(frame)
        await self.push(frame)


def _words(text: str, turn: int) -> UserWords:
    return UserWords(turn=turn, text=text, kind="text", t_ready=0.0)


async def test_stage_passes_the_conversation_history() -> None:
    expert = RecordingContextExpert()
    conv = Conversation(DEFAULT)
    conv.history.extend([Turn("user", "where is my order"), Turn("assistant", "It left the depot today."),
                         Turn("user", "   ")])
    executor = BoundedExecutor(1)
    sink = Collect()
    chain = Pipeline([TextExpertStage(Source(expert), executor, conv, context_turns=2), sink])  # type: ignore[arg-type]
    await chain.push(_words("angry, it is late again", 3))
    assert expert.seen == [("angry, it is late again", ("where is my order", "It left the depot today."))]
    scores = [f for f in sink.frames if isinstance(f, ExpertScoresFrame)]
    assert len(scores) == 1 and scores[0].scores.label == "angry"


async def test_stage_without_conversation_remembers_earlier_utterances() -> None:
    """``analyze``: no dialogue history, so the previous utterances' transcripts are the context."""
    expert = RecordingContextExpert()
    executor = BoundedExecutor(1)
    chain = Pipeline([TextExpertStage(Source(expert), executor, context_turns=2), Collect()])  # type: ignore[arg-type]
    for i, text in enumerate(["first", "second", "", "third", "fourth"], 1):
        await chain.push(_words(text, i))
    assert [p for _, p in expert.seen] == [(), ("first",), ("first", "second"), ("second", "third")]


async def test_stage_uses_predict_for_a_plain_expert() -> None:
    expert = FakeExpert("text")
    conv = Conversation(DEFAULT)
    conv.history.append(Turn("user", "hello"))
    chain = Pipeline([TextExpertStage(Source(expert), BoundedExecutor(1), conv), Collect()])  # type: ignore[arg-type]
    await chain.push(_words("i am happy", 1))
    assert expert.calls == 1 and not isinstance(expert, ContextualTextExpert)


# -- distillation (train text --teacher) ------------------------------------------------------------------------
def test_distill_term_mixes_cross_entropy_and_the_teachers_soft_labels() -> None:
    from emotion_agent.training.text_context_train import distill_term

    torch.manual_seed(0)
    logits = torch.randn(3, NUM_LABELS)
    teacher = torch.randn(3, NUM_LABELS)
    y = torch.tensor([0, 3, 5])
    ce = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    has = torch.tensor([True, False, True])
    total = ce + distill_term(logits, teacher, has, ce, weight=0.5, temperature=2.0)
    p_t = torch.softmax(teacher / 2, 1)
    kl = (p_t * (torch.log(p_t) - torch.log_softmax(logits / 2, 1))).sum(1)
    assert torch.allclose(total[1], ce[1])  # no teacher: the plain loss
    assert torch.allclose(total[[0, 2]], 0.5 * ce[[0, 2]] + 0.5 * 4 * kl[[0, 2]], atol=1e-6)
    # the student already matching the teacher adds no KL: only (1 - weight) of the cross-entropy is left
    same = distill_term(teacher, teacher, torch.tensor([True] * 3), ce, weight=1.0, temperature=2.0)
    assert torch.allclose(ce + same, torch.zeros(3), atol=1e-5)


def test_teacher_logits_come_from_the_teachers_own_loader(tiny_encoder: Path, tmp_path: Path) -> None:
    from emotion_agent.training.text_context_train import teacher_logits
    from emotion_agent.training.text_data import TextExample

    teacher = _expert(tiny_encoder, tmp_path / "teacher", context_turns=2, pool="current")
    rows = {"meld": [TextExample("where is my order", 0, ("sorry",), "meld", "d1")],
            "goemotions": [TextExample("ok thanks", 1, (), "goemotions", "g1")]}
    out = teacher_logits(teacher, rows, ["meld"], tmp_path / "cache", threads=1)
    assert out.shape == (2, NUM_LABELS) and np.isnan(out[1]).all() and not np.isnan(out[0]).any()
    expert = TextExpert.load(teacher)
    probs = expert.predict_proba(["where is my order"], contexts=[["sorry"]])
    # the teacher's raw logits, through its temperature and prior, give its own prediction
    adjusted = torch.from_numpy(out[:1]) / expert.head.temperature + expert.head.logit_bias
    assert np.allclose(torch.softmax(adjusted, 1).numpy(), probs, atol=1e-5)


def test_minimax_temperature_evens_out_the_domains_calibration() -> None:
    from emotion_agent.core.numeric import softmax
    from emotion_agent.training.calibration import fit_temperature
    from emotion_agent.training.metrics import expected_calibration_error
    from emotion_agent.training.text_context_train import minimax_temperature, tune_prior

    rng = np.random.default_rng(0)
    n = 600
    y = rng.integers(0, NUM_LABELS, 2 * n)
    raw = rng.normal(0, 1, (2 * n, NUM_LABELS))
    # domain "a": sharp logits, right 60 % of the time (over-confident); "b": flat logits, right 60 % (under-confident)
    right = rng.random(2 * n) < 0.6
    pred = np.where(right, y, (y + 1 + rng.integers(0, NUM_LABELS - 1, 2 * n)) % NUM_LABELS)
    raw[np.arange(2 * n), pred] += np.where(np.arange(2 * n) < n, 6.0, 1.2)
    domains = np.array(["a"] * n + ["b"] * n)

    def worst(t: float) -> float:  # as the trainer uses it: the prior re-tuned at that temperature
        p = softmax(raw / t + tune_prior(raw / t, y, domains, rounds=1), axis=1)
        return max(expected_calibration_error(p[domains == d], y[domains == d]) for d in ("a", "b"))

    t = minimax_temperature(raw, y, domains)
    assert 0.8 <= t <= 2.5
    assert all(worst(t) <= worst(g) + 1e-9 for g in (0.8, 1.0, 1.5, 2.0, 2.5))
    assert worst(t) < worst(fit_temperature(raw, y)) - 0.005


def test_a_small_domain_is_pooled_with_the_authored_one_for_the_minimax_temperature() -> None:
    from emotion_agent.training.text_context_train import calibration_domains, minimax_temperature

    rng = np.random.default_rng(1)
    n_big, n_small = 1500, 60
    y = rng.integers(0, NUM_LABELS, n_big + n_small)
    raw = rng.normal(0, 1, (n_big + n_small, NUM_LABELS))
    # "authored": sharp logits, right 80 % of the time; the tiny "dialogue" domain: sharp logits, right 30 %
    right = rng.random(n_big + n_small) < np.where(np.arange(n_big + n_small) < n_big, 0.8, 0.3)
    pred = np.where(right, y, (y + 1 + rng.integers(0, NUM_LABELS - 1, n_big + n_small)) % NUM_LABELS)
    raw[np.arange(n_big + n_small), pred] += 4.0
    domains = np.array(["authored"] * n_big + ["dialogue"] * n_small)
    zero = np.zeros(NUM_LABELS, dtype=np.float32)

    assert calibration_domains(domains, 500).tolist() == ["authored"] * (n_big + n_small)
    assert calibration_domains(domains, 50).tolist() == domains.tolist()
    alone = minimax_temperature(raw, y, domains, zero, min_rows=0)  # the tiny domain drags T up
    pooled = minimax_temperature(raw, y, domains, zero, min_rows=500)
    assert pooled < alone


def _prior_data(shift: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Logits that favour the true label; ``shift`` is added to class 1's logit on every row, so a
    prior of about -shift on class 1 is right for all rows; groups of 4 rows, two domains."""
    rng = np.random.default_rng(seed)
    n = 1400
    y = rng.integers(0, NUM_LABELS, n)
    raw = rng.normal(0, 1, (n, NUM_LABELS))
    raw[np.arange(n), y] += 1.2
    raw[:, 1] += shift
    domains = np.array(["a", "b"] * (n // 2))
    groups = (np.arange(n) // 4).astype(str)
    return raw, y, domains, groups


def test_cv_prior_keeps_a_bias_that_carries_over_to_unseen_halves() -> None:
    from emotion_agent.training.text_context_train import choose_prior

    raw, y, domains, groups = _prior_data(shift=1.5)
    bias, report = choose_prior(raw, y, domains, groups, "cv")
    assert report["kept"] is True
    assert report["cross_fitted_score"]["tuned"] > report["cross_fitted_score"]["none"] + 0.05
    assert bias[1] < -0.8  # it undoes the shift


def test_cv_prior_drops_a_bias_that_only_fits_the_slice() -> None:
    from emotion_agent.training.text_context_train import choose_prior

    raw, y, domains, groups = _prior_data(shift=0.0)
    bias, report = choose_prior(raw, y, domains, groups, "cv")
    assert np.any(np.array(report["tuned_prior"]) != 0)  # tuning on the whole slice finds "something"
    assert report["kept"] is False
    assert not bias.any()
    none_bias, none_report = choose_prior(raw, y, domains, groups, "none")
    assert not none_bias.any() and none_report == {"rule": "none"}


def test_domain_weights_parse_and_reject_unknown_sources() -> None:
    from emotion_agent.training.text_context_train import parse_domain_weights

    assert parse_domain_weights(["meld=2", "emorynlp=1.5"]) == {"meld": 2.0, "emorynlp": 1.5}
    assert parse_domain_weights(None) == {}
    with pytest.raises(SystemExit, match="NAME=WEIGHT"):
        parse_domain_weights(["friends=2"])
    with pytest.raises(SystemExit, match="not a number"):
        parse_domain_weights(["meld=lots"])


# -- eval text ---------------------------------------------------------------------------------------------------
def test_eval_reads_meld_with_context_and_prints_weighted_f1(tiny_encoder: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from emotion_agent.training.text_context_train import build_eval_parser, eval_data, run_eval

    model = _expert(tiny_encoder, tmp_path / "m", context_turns=2, pool="current")
    header = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID"]
    data = _write_csv(tmp_path / "dev.csv", header, [[1, "where is my order", "A", "neutral", "n", 0, 0],
                                                     [2, "the parcel is late again", "A", "anger", "n", 0, 1],
                                                     [3, "ok thanks", "A", "joy", "p", 0, 2]])
    with_ctx, y = eval_data(data, str(model))
    without, _ = eval_data(data, str(model), context=False)
    assert with_ctx.shape == (3, NUM_LABELS) and list(y) == [0, LABEL_INDEX["angry"], LABEL_INDEX["happy"]]
    assert np.allclose(with_ctx[0], without[0], atol=1e-6) and not np.allclose(with_ctx[2], without[2], atol=1e-6)
    args = build_eval_parser(argparse.ArgumentParser()).parse_args(["--data", str(data), "--model", str(model), "--json"])
    assert run_eval(args) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"n", "accuracy", "macro_f1", "weighted_f1", "ece"} <= set(last) and last["n"] == 3


# -- the real expert in chat -------------------------------------------------------------------------------------
ANGRY_CUSTOMER = [
    "Hi, I ordered a kettle two weeks ago and the tracking still says in transit.",
    "That is exactly what you told me last week. Nine days stuck in transit is ridiculous.",
    "I'm honestly fed up with this company, nobody ever gets back to me.",
    "Just refund me. I've wasted enough of my evening on this.",
]


@pytest.mark.models
def test_angry_customer_gets_a_human_through_chat(monkeypatch: pytest.MonkeyPatch) -> None:
    """The customer_service profile, the real words expert (and the shipped fuser, which with only the
    words present returns the words' label), typed lines through ``chat``: the hand-off fires."""
    import emotion_agent.agent.chat
    from emotion_agent.agent.chat import run_chat
    from emotion_agent.agent.components import Components
    from emotion_agent.agent.facade import EmotionAwareAgent
    from emotion_agent.core.settings import Settings
    from emotion_agent.fusion.fusers.registry import load_fuser
    from emotion_agent.responders.template import TemplateResponder
    from emotion_agent.safety.screen import SafetyPolicy

    settings = Settings(reply_first_text_timeout_s=20.0)
    expert = TextExpert.load()
    assert isinstance(expert, ContextualTextExpert)
    components = Components(settings=settings, experts={"text": expert}, fuser=load_fuser(settings.fusion),
                            responder=TemplateResponder(), safety=SafetyPolicy.from_settings(settings))
    monkeypatch.setattr(emotion_agent.agent.chat, "EmotionAwareAgent",
                        lambda settings: EmotionAwareAgent(components=components))
    stdin = io.TextIOWrapper(io.BytesIO("\n".join(ANGRY_CUSTOMER).encode() + b"\n"), encoding="utf-8")
    out = io.StringIO()
    assert run_chat(settings, profile="customer_service", stdin=stdin, stdout=out) == 0
    output = out.getvalue()
    assert "[hand-off suggested: angry for 2 turns in a row]" in output, output
