"""The seams where models are swapped: experts, fusers, transcribers, VADs and responders.

All methods here are synchronous and CPU-bound; async callers run them in an executor
(see ``agent.executors``).  That keeps them testable without an event loop.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar, runtime_checkable

import numpy as np

from emotion_agent.events import (
    EmotionEstimate,
    ExpertScores,
    FaceCrop,
    Modality,
    SpeechEnded,
    SpeechStarted,
    Transcript,
    now,
)

InputT_contra = TypeVar("InputT_contra", contravariant=True)


@runtime_checkable
class Expert(Protocol[InputT_contra]):
    """Scores one modality's window over the seven labels.

    Inputs by modality: ``text`` takes ``str``; ``voice`` takes float32 mono 16 kHz PCM of shape
    ``(n_samples,)``; ``face`` takes a sequence of ``FaceCrop`` seen during the window.
    """

    modality: Modality

    def predict(self, window: InputT_contra) -> ExpertScores: ...


TextExpert = Expert[str]
VoiceExpert = Expert[np.ndarray]
FaceExpert = Expert[Sequence[FaceCrop]]


@runtime_checkable
class Fuser(Protocol):
    """Turns per-modality scores (``None`` for a missing modality) into one estimate."""

    name: str

    def fuse(self, scores: Mapping[Modality, ExpertScores | None]) -> EmotionEstimate: ...


@runtime_checkable
class Transcriber(Protocol):
    """Speech to text for one utterance (or the part of it heard so far)."""

    def transcribe(self, audio: np.ndarray, *, start: float = 0.0, is_final: bool = True) -> Transcript:
        """``audio``: float32 mono 16 kHz, shape (n_samples,).  ``start``: stream offset in seconds."""
        ...


@runtime_checkable
class VoiceActivityDetector(Protocol):
    """Streaming speech segmentation over 16 kHz mono PCM."""

    def process(self, audio: np.ndarray) -> list[SpeechStarted | SpeechEnded]:
        """Feed any number of samples (float32, 16 kHz); returns the events they complete."""
        ...

    def flush(self) -> list[SpeechStarted | SpeechEnded]:
        """End of stream: close an open utterance."""
        ...


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    text: str
    emotion: str | None = None
    t: float = field(default_factory=now)


@runtime_checkable
class Responder(Protocol):
    """(dialogue history, fused estimate) → reply, streamed as text deltas."""

    name: str

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None) -> Iterator[str]: ...
