"""The one place for PCM conversions, resampling and framing.

Internal audio is float32 mono at ``SAMPLE_RATE`` (16 kHz) in [-1, 1], shape ``(n_samples,)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

SAMPLE_RATE = 16_000
"""Hz; what VAD, ASR and the voice expert consume."""
INT16_SCALE = 32768.0


class AudioFormatError(ValueError):
    """Audio that cannot be used: wrong shape, rate, dtype, or an unreadable file."""


def int16_to_float(pcm: np.ndarray) -> np.ndarray:
    """int16 PCM → float32 in [-1, 1)."""
    if pcm.dtype != np.int16:
        raise AudioFormatError(f"expected int16 PCM, got {pcm.dtype}")
    return pcm.astype(np.float32) / INT16_SCALE


def float_to_int16(audio: np.ndarray) -> np.ndarray:
    """float PCM in [-1, 1] → int16 (clipped)."""
    return np.clip(np.round(audio * INT16_SCALE), -32768, 32767).astype(np.int16)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """Average channels.  Accepts (n,), (n, channels) or (channels, n) with channels ≤ 8."""
    if audio.ndim == 1:
        return audio
    if audio.ndim != 2:
        raise AudioFormatError(f"audio must be 1-D or 2-D, got shape {audio.shape}")
    axis = 0 if audio.shape[0] <= 8 < audio.shape[1] or audio.shape[0] < audio.shape[1] else 1
    return audio.mean(axis=axis)


def resample(audio: np.ndarray, orig_rate: int, target_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling of mono float audio; ``orig_rate``/``target_rate`` in Hz."""
    if orig_rate <= 0 or target_rate <= 0:
        raise AudioFormatError(f"sample rates must be positive, got {orig_rate} → {target_rate}")
    audio = np.asarray(audio, dtype=np.float32)
    if orig_rate == target_rate or audio.size == 0:
        return audio
    ratio = Fraction(target_rate, orig_rate)
    return resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)


def to_model_input(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Any PCM (int16 or float, mono or multi-channel) → float32 mono 16 kHz."""
    audio = np.asarray(audio)
    if audio.dtype == np.int16:
        audio = int16_to_float(audio)
    elif not np.issubdtype(audio.dtype, np.floating):
        raise AudioFormatError(f"unsupported PCM dtype {audio.dtype}")
    return resample(to_mono(audio.astype(np.float32)), sample_rate)


def check_model_input(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Raise a clear error unless ``audio`` is float32 mono at 16 kHz."""
    if sample_rate != SAMPLE_RATE:
        raise AudioFormatError(f"expected {SAMPLE_RATE} Hz audio, got {sample_rate} Hz; resample first")
    if audio.ndim != 1:
        raise AudioFormatError(f"expected mono audio of shape (n,), got {audio.shape}")
    return audio.astype(np.float32, copy=False)


def rms(audio: np.ndarray) -> float:
    """Root-mean-square level of float audio (0 for empty)."""
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if audio.size else 0.0


def frames(audio: np.ndarray, frame_samples: int) -> Iterator[np.ndarray]:
    """Consecutive full frames of ``frame_samples``; a short tail is not yielded."""
    for start in range(0, len(audio) - frame_samples + 1, frame_samples):
        yield audio[start : start + frame_samples]


class StreamingResampler:
    """Stateful resampling of a live stream's chunks to float32 mono 16 kHz (no seams between chunks).

    Wraps libswresample through PyAV; feed chunks of int16 or float PCM shaped (n,) or (n, channels).
    """

    def __init__(self, target_rate: int = SAMPLE_RATE) -> None:
        self.target_rate = target_rate
        self._resampler: object | None = None
        self._key: tuple[int, int, str] | None = None

    def __call__(self, pcm: np.ndarray, sample_rate: int) -> np.ndarray:
        import av

        pcm = np.asarray(pcm)
        if pcm.ndim == 1:
            pcm = pcm[:, None]
        if pcm.ndim != 2 or pcm.shape[1] > 8:
            raise AudioFormatError(f"expected PCM shaped (n,) or (n, channels), got {pcm.shape}")
        if sample_rate <= 0:
            raise AudioFormatError(f"sample rate must be positive, got {sample_rate}")
        if pcm.dtype == np.int16:
            fmt = "s16"
        elif np.issubdtype(pcm.dtype, np.floating):
            pcm, fmt = pcm.astype(np.float32), "flt"
        else:
            raise AudioFormatError(f"unsupported PCM dtype {pcm.dtype}")
        channels = pcm.shape[1]
        key = (sample_rate, channels, fmt)
        if self._key != key:  # a format change mid-stream starts a fresh resampler
            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=self.target_rate)
            self._key = key
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm).reshape(1, -1), format=fmt,
                                           layout="mono" if channels == 1 else "stereo" if channels == 2
                                           else f"{channels}c")
        frame.sample_rate = sample_rate
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]  # type: ignore[union-attr]
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, dtype=np.float32)
