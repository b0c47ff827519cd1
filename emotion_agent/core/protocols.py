"""The seams where models are swapped: experts, fusers, transcribers, VADs, risk screens, responders.

All methods here are synchronous and CPU-bound; async callers run them in an executor
(see ``emotion_agent.agent.executors``).  That keeps them testable without an event loop.

Optional capabilities are their own small protocols, checked with ``isinstance`` (they use method
names of their own, so the check cannot be fooled by a look-alike signature):

* ``BatchExpert``: ``predict_many`` for batch scoring (evaluation and pooling);
* ``StatesVoiceExpert`` + ``SharedEncoderTranscriber``: one Whisper encoder pass shared by ASR and
  the voice expert;
* ``ContextualTextExpert``: a text expert that reads the message after the conversation's previous
  turns (``predict_in_context``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

import numpy as np

from emotion_agent.core.events import (
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


@runtime_checkable
class BatchExpert(Protocol[InputT_contra]):
    """An expert that scores many windows at once (faster per window)."""

    modality: Modality

    def predict_many(self, windows: Sequence[InputT_contra]) -> list[ExpertScores]: ...


@runtime_checkable
class StatesVoiceExpert(Protocol):
    """A voice expert that can score Whisper encoder states another pass already computed."""

    def predict_states(self, states: np.ndarray, quality: float = 1.0,
                       started: float | None = None) -> ExpertScores: ...


@runtime_checkable
class ContextualTextExpert(Protocol):
    """A text expert that reads a message in its dialogue context.

    ``previous``: the conversation's earlier turns, oldest first, user and assistant alike (plain
    text; the expert uses as many of the most recent ones as it was trained with, possibly none).
    Same errors as ``predict``: ``ValueError`` for an empty or non-string ``text``."""

    def predict_in_context(self, text: str, previous: Sequence[str]) -> ExpertScores: ...


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
class SharedEncoderTranscriber(Protocol):
    """A transcriber that hands the encoder states of its pass to ``on_encoded`` (from its thread)."""

    def transcribe_sharing_encoder(self, audio: np.ndarray, *, start: float = 0.0,
                                   on_encoded: Callable[[np.ndarray], None]) -> Transcript: ...


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
    interrupted: bool = False
    """An assistant turn the user cut off (barge-in): ``text`` is what was said before the cut."""


@runtime_checkable
class Responder(Protocol):
    """(dialogue history, fused estimate, per-turn context) → reply, streamed as text deltas.

    ``context`` carries what the agent knows beyond the estimate: ``mood_trend``, the profile's
    ``instructions``, ``risk`` (the conversation's risk level) and ``interrupted`` (the previous
    reply was cut by the user).  Responders use what they can and ignore the rest.
    """

    name: str

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None = None) -> Iterator[str]: ...


@runtime_checkable
class ProfileResponders(Protocol):
    """A responder that answers some profiles with another responder (``responders.routing``): the
    agent asks it which one answers a conversation's profile, so replies, the guard and the reply's
    ``responder`` name are those of the one that answered."""

    name: str

    def for_profile(self, profile: str) -> Responder: ...

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None = None) -> Iterator[str]: ...


@runtime_checkable
class RiskVerdict(Protocol):
    """One screen's result.  ``flagged`` False means nothing to act on (``severity`` may still be
    ``concern``).  ``matched`` names the rule or model stage that fired."""

    @property
    def flagged(self) -> bool: ...

    @property
    def kind(self) -> str: ...

    @property
    def severity(self) -> str: ...

    @property
    def matched(self) -> str: ...

    @property
    def message(self) -> str: ...

    @property
    def score(self) -> float | None: ...

    @property
    def threshold(self) -> float | None:
        """The classifier threshold ``score`` was judged against (None without a classifier)."""
        ...


@runtime_checkable
class RiskScreen(Protocol):
    def check_user(self, text: str, level: str = "standard") -> RiskVerdict: ...

    def message_for(self, kind: str, severity: str = "high") -> str:
        """The fixed message for an escalation of that kind and severity."""
        ...

    def check_reply(self, text: str) -> RiskVerdict: ...


@runtime_checkable
class FaceFinder(Protocol):
    def detect_largest(self, image_bgr: np.ndarray, timestamp: float) -> FaceCrop | None: ...


@runtime_checkable
class ModelSource(Protocol):
    """Where processors get the shared, lazily loaded models (``agent.components.Components``)."""

    def get_transcriber(self) -> Transcriber: ...

    def get_expert(self, modality: Modality) -> Expert[Any]: ...

    def get_fuser(self) -> Fuser: ...

    def get_face_detector(self) -> FaceFinder: ...

    def get_safety(self) -> RiskScreen: ...

    def get_responder(self) -> Responder: ...
