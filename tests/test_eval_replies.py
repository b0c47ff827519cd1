"""``eval replies``: scripts (profile from header or file name) through the agent with a fake responder."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from emotion_agent.agent.components import Components
from emotion_agent.agent.facade import EmotionAwareAgent
from emotion_agent.core.events import EmotionEstimate
from emotion_agent.core.protocols import Turn
from emotion_agent.core.settings import Settings
from emotion_agent.safety.screen import SafetyPolicy
from emotion_agent.training.replies_eval import build_eval_parser, read_script, run_eval
from tests.agent_fakes import FakeExpert, MeanFuser


class FakeResponder:
    """Turn 1: a clean reply; turn 2: invented personal life, then a clean regeneration; turn 3: a role
    break twice (→ template); later turns: clean."""

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None = None) -> Iterator[str]:
        turn = sum(t.role == "user" for t in history)
        attempt = int((context or {}).get("attempt", 0))
        self.calls.append((turn, attempt))
        if turn == 2 and attempt == 0:
            text = "I went to the beach at the weekend."
        elif turn == 3:
            text = "As an AI, I can't help you with that."
        else:
            text = "That sounds hard, I'm sorry."
        yield from (w + " " for w in text.split(" "))


def write_scripts(folder: Path) -> Path:
    folder.mkdir()
    (folder / "customer_service_01.txt").write_text(
        "# profile: customer_service\nmy parcel is late\nstill nothing\nthis is ridiculous\n", encoding="utf-8")
    (folder / "casual_07.txt").write_text("# a comment\nguess what i got the job\nstarting monday\n",
                                          encoding="utf-8")
    return folder


def test_profile_from_header_or_file_name(tmp_path: Path) -> None:
    folder = write_scripts(tmp_path / "scripts")
    assert read_script(folder / "customer_service_01.txt").profile == "customer_service"
    script = read_script(folder / "casual_07.txt")
    assert script.profile == "casual" and script.turns == ["guess what i got the job", "starting monday"]
    (tmp_path / "x.txt").write_text("# profile: pirate\nahoy\n")
    with pytest.raises(ValueError, match="pirate"):
        read_script(tmp_path / "x.txt")


def test_eval_replies_on_two_scripts_with_a_fake_responder(tmp_path: Path, capsys: Any) -> None:
    folder = write_scripts(tmp_path / "scripts")
    responder = FakeResponder()
    comps = Components(settings=Settings(reply_first_text_timeout_s=5.0),
                       experts={"text": FakeExpert("text", "sad")}, fuser=MeanFuser(),
                       responder=responder, safety=SafetyPolicy())
    agent = EmotionAwareAgent(components=comps)
    out = tmp_path / "out"
    args = build_eval_parser(argparse.ArgumentParser()).parse_args(
        ["--scripts", str(folder), "--out", str(out), "--json"])

    def similarity(a: Sequence[str], b: Sequence[str]) -> list[float]:
        return [0.5] * len(a)

    def reader(texts: Sequence[str]) -> list[str]:
        return ["happy" if "sorry" in t else "neutral" for t in texts]

    assert run_eval(args, agent=agent, similarity=similarity, reader=reader) == 0
    records = [json.loads(line) for line in (out / "replies.jsonl").read_text().splitlines()]
    assert len(records) == 5 and {r["profile"] for r in records} == {"casual", "customer_service"}
    cs = {r["turn"]: r for r in records if r["script"] == "customer_service_01"}
    assert cs[1]["flags"] == [] and cs[1]["first_flags"] == [] and cs[1]["responder"] == "fake"
    assert cs[2]["regenerated"] and cs[2]["first_flags"] and cs[2]["flags"] == []
    assert cs[2]["reply"].startswith("That sounds hard")
    assert cs[3]["responder"] == "template" and cs[3]["fallback_reason"].startswith("reply guard")
    assert all(r["similarity"] == 0.5 and r["emotion"] == "sad" for r in records)
    assert cs[1]["mismatch"]  # a sad user, a reply that reads happy
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replies"] == 5 and summary["guard_fallback_rate"] == pytest.approx(1 / 5)
    assert summary["model_red_flag_rate"] == pytest.approx(3 / 5) and summary["red_flag_rate"] == 0.0
    assert summary["regeneration_rate"] == pytest.approx(3 / 5)
    assert set(summary["by_profile"]) == {"casual", "customer_service"}
    transcript = (out / "customer_service_01.txt").read_text()
    assert transcript.startswith("# profile: customer_service") and "USER (sad): my parcel is late" in transcript
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["replies"] == 5
    assert (3, 1) in responder.calls and (2, 1) in responder.calls


def test_no_guard_reports_the_flags_of_what_was_shown(tmp_path: Path) -> None:
    folder = write_scripts(tmp_path / "scripts")
    comps = Components(settings=Settings(), experts={"text": FakeExpert("text", "angry")},
                       fuser=MeanFuser(), responder=FakeResponder(), safety=SafetyPolicy())
    out = tmp_path / "out"
    args = build_eval_parser(argparse.ArgumentParser()).parse_args(
        ["--scripts", str(folder), "--out", str(out), "--no-guard", "--no-similarity", "--no-reader", "--limit", "1"])
    assert run_eval(args, agent=EmotionAwareAgent(components=comps)) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replies"] == 2 and summary["red_flag_rate"] == pytest.approx(0.5)
    records = [json.loads(line) for line in (out / "replies.jsonl").read_text().splitlines()]
    assert [bool(r["flags"]) for r in records] == [False, True] and not any(r["regenerated"] for r in records)
