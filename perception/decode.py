"""Decode media files (wav/flac/mp3/mp4/webm/...) with PyAV into model-ready audio and sampled frames."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
import soundfile as sf

from emotion_agent.core.events import VideoFrame
from emotion_agent.perception.audio import SAMPLE_RATE, AudioFormatError, to_model_input


class MediaDecodeError(ValueError):
    """The file is missing, empty, corrupt, or has none of the streams needed."""


@dataclass(frozen=True, eq=False)
class Media:
    path: Path
    audio: np.ndarray | None
    """float32 mono 16 kHz, or None when the file has no audio stream."""
    frames: list[VideoFrame] = field(default_factory=list)
    duration: float = 0.0
    has_video: bool = False


def av_frame_to_array(frame: av.AudioFrame) -> tuple[np.ndarray, int]:
    """An AudioFrame (any layout/format) → (float or int16 array of shape (n, channels), rate in Hz)."""
    arr = frame.to_ndarray()
    channels = len(frame.layout.channels)
    # planar: (channels, n) → (n, channels); packed: (1, n*channels) → (n, channels)
    arr = arr.T if frame.format.is_planar else arr.reshape(-1, channels)
    if arr.dtype == np.int32:
        arr = (arr.astype(np.float32) / 2**31).astype(np.float32)
    elif arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    return arr, frame.sample_rate


def decode_media(path: Path, video_fps: float | None = 4.0) -> Media:
    """Decode all audio (to 16 kHz mono) and, when ``video_fps`` is set, video frames at that rate.

    Raises ``MediaDecodeError`` with a one-line reason for missing, empty or corrupt files.
    """
    path = Path(path)
    if not path.exists():
        raise MediaDecodeError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise MediaDecodeError(f"{path}: file is empty")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaDecodeError(f"{path}: not a readable media file ({_reason(exc)})") from None
    chunks: list[np.ndarray] = []
    rate = 0
    frames: list[VideoFrame] = []
    next_frame_t = 0.0
    try:
        with container:
            audio_stream = container.streams.audio[0] if container.streams.audio else None
            video_stream = container.streams.video[0] if container.streams.video else None
            if audio_stream is None and video_stream is None:
                raise MediaDecodeError(f"{path}: no audio or video stream")
            streams = [s for s in (audio_stream, video_stream) if s is not None]
            if video_fps is None and audio_stream is not None:
                streams = [audio_stream]
            for packet in container.demux(*streams):
                for frame in packet.decode():
                    if isinstance(frame, av.AudioFrame):
                        arr, rate = av_frame_to_array(frame)
                        chunks.append(arr)
                    elif isinstance(frame, av.VideoFrame) and video_fps:
                        ts = float(frame.time) if frame.time is not None else next_frame_t
                        if ts + 1e-6 >= next_frame_t:
                            frames.append(VideoFrame(frame.to_ndarray(format="bgr24"), ts))
                            next_frame_t = ts + 1.0 / video_fps
    except MediaDecodeError:
        raise
    except (av.error.FFmpegError, ValueError) as exc:
        raise MediaDecodeError(f"{path}: corrupt media ({_reason(exc)})") from None
    audio: np.ndarray | None = None
    if chunks:
        raw = np.concatenate(chunks, axis=0)
        audio = to_model_input(raw, rate)
    elif audio_stream is not None:
        raise MediaDecodeError(f"{path}: audio stream has no decodable samples (corrupt or truncated)")
    if audio is None and not frames:
        raise MediaDecodeError(f"{path}: nothing could be decoded")
    duration = len(audio) / SAMPLE_RATE if audio is not None else (frames[-1].timestamp if frames else 0.0)
    return Media(path, audio, frames, duration, has_video=video_stream is not None)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def read_audio(path: Path) -> np.ndarray:
    """Read a wav/flac (soundfile) or any container PyAV decodes → float32 mono 16 kHz."""
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=False)
    except (RuntimeError, sf.LibsndfileError):
        media = decode_media(Path(path), video_fps=None)
        if media.audio is None:
            raise AudioFormatError(f"{path}: no audio track") from None
        return media.audio
    return to_model_input(data, int(rate))
