"""One turn's recognition: the window of each modality → expert scores → fused estimate.

Shared by the offline ``analyze`` path and the live ``Session`` so both score a turn the same way.
The functions here are synchronous (CPU-bound); the session calls them in its executor.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emotion_agent.events import EmotionEstimate, ExpertScores, FaceCrop, Modality
from emotion_agent.labels import probs_to_dict
from perception.audio import SAMPLE_RATE, rms

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


def score_turn(
    inputs: TurnInputs,
    get_expert: Callable[[Modality], Any],
    fuser: Any,
    rms_gate: float | None = None,
) -> TurnResult:
    """Run each present modality's expert, then the fuser (None when no modality is present)."""
    windows, skipped = present_windows(inputs, rms_gate)
    scores: dict[Modality, ExpertScores | None] = {"face": None, "voice": None, "text": None}
    timings: dict[str, float] = {}
    for modality, window in windows.items():
        started = time.perf_counter()
        scores[modality] = get_expert(modality).predict(window)
        timings[modality] = (time.perf_counter() - started) * 1000
    return fuse_scores(scores, fuser, skipped, timings)


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


def scores_json(scores: ExpertScores | None) -> dict[str, Any] | None:
    if scores is None:
        return None
    return {
        "label": scores.label,
        "probs": probs_to_dict(scores.probs),
        "confidence": round(float(scores.confidence), 4),
    }


def estimate_json(estimate: EmotionEstimate | None) -> dict[str, Any] | None:
    if estimate is None:
        return None
    return {
        "label": estimate.label,
        "probs": probs_to_dict(estimate.probs),
        "confidence": round(float(estimate.confidence), 4),
        "weights": {k: round(float(v), 4) for k, v in estimate.weights.items()},
        "explanation": estimate.explanation,
        "uncertain": bool(estimate.uncertain),
        "valence": round(float(estimate.valence), 4),
        "arousal": round(float(estimate.arousal), 4),
        "fuser": estimate.fuser,
    }
