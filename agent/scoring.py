"""Which modality windows a turn has, and the fuser call: the synchronous pieces the ``recognise``
and ``fuse`` processors run in the executor (the live session and ``analyze`` alike)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emotion_agent.core.events import EmotionEstimate, ExpertScores, FaceCrop, Modality
from emotion_agent.perception.audio import SAMPLE_RATE, rms

MIN_VOICE_SECONDS = 0.3
"""Shorter windows carry too little prosody to score."""


@dataclass(frozen=True)
class TurnInputs:
    audio: np.ndarray | None = None
    """float32 mono 16 kHz utterance, or None."""
    text: str | None = None
    faces: Sequence[FaceCrop] = ()


@dataclass
class TurnResult:
    scores: dict[Modality, ExpertScores | None]
    estimate: EmotionEstimate | None
    skipped: dict[Modality, str] = field(default_factory=dict)
    """Why a modality has no scores (e.g. "no face found", "below RMS gate")."""
    timings_ms: dict[str, float] = field(default_factory=dict)


def present_windows(inputs: TurnInputs, rms_gate: float | None) -> tuple[dict[Modality, Any], dict[Modality, str]]:
    """Which modalities have a usable window, and why the others don't."""
    windows: dict[Modality, Any] = {}
    skipped: dict[Modality, str] = {}
    if inputs.text is not None and inputs.text.strip():
        windows["text"] = inputs.text.strip()
    else:
        skipped["text"] = "no words"
    if inputs.audio is None or inputs.audio.size == 0:
        skipped["voice"] = "no audio"
    elif inputs.audio.size < MIN_VOICE_SECONDS * SAMPLE_RATE:
        skipped["voice"] = f"audio shorter than {MIN_VOICE_SECONDS} s"
    elif rms_gate is not None and rms(inputs.audio) < rms_gate:
        skipped["voice"] = f"audio RMS {rms(inputs.audio):.4f} below gate {rms_gate}"
    else:
        windows["voice"] = inputs.audio
    if inputs.faces:
        windows["face"] = list(inputs.faces)
    else:
        skipped["face"] = "no face found"
    return windows, skipped


def fuse_scores(scores: Mapping[Modality, ExpertScores | None], fuser: Any,
                skipped: dict[Modality, str] | None = None,
                timings: dict[str, float] | None = None) -> TurnResult:
    timings = dict(timings or {})
    estimate = None
    if any(v is not None for v in scores.values()):
        started = time.perf_counter()
        estimate = fuser.fuse(scores)
        timings["fusion"] = (time.perf_counter() - started) * 1000
    return TurnResult(dict(scores), estimate, dict(skipped or {}), timings)
