"""Typed events that move between stages.

Every event is a frozen dataclass carrying ``t``, a ``time.monotonic()`` stamp taken when it was
made.  Media offsets (``start``/``end``) are seconds from the start of the stream or file.
Arrays inside events are treated as read-only by convention; equality is by identity (``eq=False``)
so events with arrays can still be hashed and compared safely.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Modality = Literal["face", "voice", "text"]
MODALITIES: tuple[Modality, ...] = ("face", "voice", "text")


def now() -> float:
    return time.monotonic()


@dataclass(frozen=True, eq=False)
class SpeechStarted:
    start: float
    """Seconds from stream start where speech (including pre-roll) begins."""
    t: float = field(default_factory=now)


@dataclass(frozen=True, eq=False)
class SpeechEnded:
    start: float
    end: float
    audio: np.ndarray
    """float32 mono PCM at 16 kHz, shape (n_samples,), including pre-roll and hang-over."""
    t: float = field(default_factory=now)

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, eq=False)
class Transcript:
    text: str
    is_final: bool
    start: float
    end: float
    language: str = "en"
    t: float = field(default_factory=now)


@dataclass(frozen=True, eq=False)
class VideoFrame:
    """A decoded video frame, BGR uint8, shape (height, width, 3)."""

    image: np.ndarray
    timestamp: float
    """Seconds from stream start."""
    t: float = field(default_factory=now)


@dataclass(frozen=True, eq=False)
class FaceCrop:
    """A face cut from a frame: grayscale uint8, shape (h, w), and its box in the frame."""

    image: np.ndarray
    box: tuple[int, int, int, int]
    """(x, y, width, height) in frame pixels."""
    timestamp: float
    score: float = 1.0
    t: float = field(default_factory=now)


@dataclass(frozen=True, eq=False)
class ExpertScores:
    """One expert's view of one window."""

    modality: Modality
    probs: np.ndarray
    """float32, shape (7,), sums to 1, in ``labels.LABELS`` order."""
    embedding: np.ndarray
    """float32, shape (d,), the expert's penultimate representation (d fixed per expert)."""
    confidence: float
    """Quality of this window for this modality in [0, 1] (max prob times input quality)."""
    latency_ms: float
    logits: np.ndarray | None = None
    """Pre-softmax scores, shape (7,), when the expert has them."""
    t: float = field(default_factory=now)

    @property
    def label(self) -> str:
        from emotion_agent.core.labels import LABELS

        return LABELS[int(np.argmax(self.probs))]


@dataclass(frozen=True, eq=False)
class EmotionEstimate:
    """The fused view: one label with calibrated confidence, weights and an explanation."""

    label: str
    probs: np.ndarray
    """float32, shape (7,)."""
    confidence: float
    weights: dict[str, float]
    """Attention weight per modality (0 for a missing one); sums to 1 over present ones."""
    experts: dict[str, ExpertScores | None]
    explanation: str
    uncertain: bool
    valence: float
    arousal: float
    fuser: str
    t: float = field(default_factory=now)
