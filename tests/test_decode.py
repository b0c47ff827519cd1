from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from emotion_agent.perception.decode import MediaDecodeError, decode_media, read_audio
from tests.conftest import silence, speechlike
from tests.media import face_frame, write_media


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".mp3", ".mp4", ".webm"])
def test_decode_audio_formats(tmp_path: Path, suffix: str) -> None:
    audio = np.concatenate([silence(0.3), speechlike(1.0), silence(0.3)])
    path = write_media(tmp_path / f"a{suffix}", audio)
    media = decode_media(path)
    assert media.audio is not None and media.audio.dtype == np.float32
    assert abs(media.duration - 1.6) < 0.15
    assert np.abs(media.audio).max() > 0.05


def test_decode_video_samples_frames(tmp_path: Path) -> None:
    audio = speechlike(2.0)
    path = write_media(tmp_path / "v.mp4", audio, frame=face_frame(None), fps=10)
    media = decode_media(path, video_fps=4.0)
    assert media.has_video
    assert 7 <= len(media.frames) <= 9
    assert media.frames[0].image.shape == (240, 320, 3)
    stamps = [f.timestamp for f in media.frames]
    assert all(b - a >= 0.2 for a, b in itertools.pairwise(stamps))


def test_video_without_audio(tmp_path: Path) -> None:
    path = write_media(tmp_path / "mute.mp4", None, frame=face_frame(None), seconds=1.0)
    media = decode_media(path)
    assert media.audio is None and media.frames


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(MediaDecodeError, match="no such file"):
        decode_media(tmp_path / "missing.wav")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(MediaDecodeError, match="empty"):
        decode_media(empty)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(MediaDecodeError):
        decode_media(junk)
    good = write_media(tmp_path / "good.mp4", speechlike(2.0), frame=face_frame(None))
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(MediaDecodeError):
        decode_media(truncated)


def test_read_audio_resamples(tmp_path: Path) -> None:
    import soundfile as sf

    tone = speechlike(1.0, sr=44_100)
    sf.write(tmp_path / "a.wav", tone, 44_100)
    audio = read_audio(tmp_path / "a.wav")
    assert audio.shape == (16_000,)
