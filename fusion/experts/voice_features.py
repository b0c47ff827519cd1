"""Voice-expert input features used at run time: the input-quality factor and state padding.

Shapes: audio is float32 mono 16 kHz ``(n_samples,)``; Whisper states are ``(n_frames, d_model)``
with one frame per 20 ms (``d_model`` = 384 for tiny.en).  Feature caches and the log-mel baseline
used in training live in ``emotion_agent.training.voice_cache``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emotion_agent.perception.audio import SAMPLE_RATE, rms

MIN_SAMPLES = SAMPLE_RATE // 10
"""Shortest window the voice expert accepts (100 ms): below that there is no prosody to read."""
QUIET_RMS = 0.003
"""RMS below which a window is treated as near-silent (quality → low)."""
GOOD_SECONDS = 1.0
"""Windows at least this long get full duration quality."""


def input_quality(audio: np.ndarray) -> float:
    """A [0, 1] quality factor from duration and loudness.

    Very short windows carry little prosody, and near-silent ones are mostly noise, so both lower the
    expert's confidence (``make_scores`` multiplies the top probability by this).
    """
    seconds = audio.size / SAMPLE_RATE
    duration_q = float(np.clip(seconds / GOOD_SECONDS, 0.0, 1.0))
    level = rms(audio)
    # 0 at/below a tenth of QUIET_RMS, 1 at/above QUIET_RMS, log-linear between.
    loud_q = float(np.clip(np.log10(max(level, 1e-9) / (QUIET_RMS / 10)), 0.0, 1.0))
    return duration_q * loud_q


def pad_states(states: Sequence[np.ndarray], max_frames: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Stack variable-length ``(t_i, d)`` arrays → ``(b, T, d)`` float32 and a ``(b, T)`` bool mask."""
    if not states:
        raise ValueError("no states to pad")
    lengths = [min(len(s), max_frames) if max_frames else len(s) for s in states]
    t_max = max(lengths)
    d = states[0].shape[1]
    out = np.zeros((len(states), t_max, d), dtype=np.float32)
    mask = np.zeros((len(states), t_max), dtype=bool)
    for i, (s, n) in enumerate(zip(states, lengths, strict=True)):
        out[i, :n] = s[:n]
        mask[i, :n] = True
    return out, mask
