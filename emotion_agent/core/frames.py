"""Typed frames: what flows between the pipeline's processors (in the spirit of Pipecat).

Data frames carry what was perceived or decided; control frames (``ControlFrame``) mark turn
boundaries and interruptions and overtake queued data frames.  Every frame is a frozen dataclass
with a ``time.monotonic()`` stamp ``t``; frames that belong to a turn carry its number ``turn``.
The wire serializer (``emotion_agent.agent.serialize``) turns the user-visible ones into JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from emotion_agent.core.events import (
    EmotionEstimate,
    ExpertScores,
    FaceCrop,
    Modality,
    SpeechEnded,
    SpeechStarted,
    Transcript,
    VideoFrame,
    now,
)

TurnKind = Literal["speech", "text"]


@dataclass(frozen=True, eq=False)
class Frame:
    """Base class of every frame."""


@dataclass(frozen=True, eq=False)
class ControlFrame(Frame):
    """Turn boundaries and interruptions: queued ahead of data frames."""


# -- perception ------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class AudioInput(Frame):
    """Raw PCM as it arrived: int16 or float, ``(n,)`` or ``(n, channels)``, any rate."""

    pcm: np.ndarray
    sample_rate: int
    t: float = field(default_factory=now)


@dataclass(frozen=True, eq=False)
class AudioChunk(Frame):
    """float32 mono 16 kHz PCM, after the resampler."""

    pcm: np.ndarray
    t: float = field(default_factory=now)


@dataclass(frozen=True, eq=False)
class EndOfAudio(ControlFrame):
    """The audio source ended: close an open utterance."""

    t: float = field(default_factory=now)


@dataclass(frozen=True, eq=False)
class SpeechStartedFrame(Frame):
    event: SpeechStarted


@dataclass(frozen=True, eq=False)
class SpeechEndedFrame(Frame):
    event: SpeechEnded


@dataclass(frozen=True, eq=False)
class TranscriptFrame(Frame):
    transcript: Transcript
    turn: int = 0
    elapsed_ms: float = 0.0
    """Wall time the transcriber took (0 for partials)."""
    audio_s: float = 0.0


@dataclass(frozen=True, eq=False)
class VideoInput(Frame):
    frame: VideoFrame


@dataclass(frozen=True, eq=False)
class FaceFrame(Frame):
    crop: FaceCrop
    elapsed_ms: float = 0.0


# -- a turn ----------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class TurnStarted(ControlFrame):
    """A turn is ready to be scored: an utterance (with its faces) or a typed text."""

    turn: int
    kind: TurnKind
    text: str | None = None
    utterance: SpeechEnded | None = None
    partial: str = ""
    """The newest partial transcript of the utterance (for the provisional emotion)."""
    faces: tuple[FaceCrop, ...] = ()
    t_ready: float = field(default_factory=now)


@dataclass(frozen=True, eq=False)
class ExpertScoresFrame(Frame):
    scores: ExpertScores
    turn: int = 0


@dataclass(frozen=True, eq=False)
class UserWords(Frame):
    """Recognition of the turn is done: the words (may be empty) and why modalities were skipped."""

    turn: int
    text: str
    kind: TurnKind
    t_ready: float
    skipped: tuple[tuple[Modality, str], ...] = ()
    start: float = 0.0
    end: float = 0.0


@dataclass(frozen=True, eq=False)
class EmotionFrame(Frame):
    estimate: EmotionEstimate
    turn: int
    provisional: bool = False
    kind: TurnKind = "speech"
    t_ready: float = 0.0


@dataclass(frozen=True, eq=False)
class MoodFrame(Frame):
    valence: float
    arousal: float
    trend: str
    t: float = field(default_factory=now)


@dataclass(frozen=True, eq=False)
class MoodShiftFrame(Frame):
    from_state: str
    to_state: str
    t: float


@dataclass(frozen=True, eq=False)
class TrendReportFrame(Frame):
    trend: str
    turns: int
    text: str


@dataclass(frozen=True, eq=False)
class EscalationFrame(Frame):
    """The risk screen fired (on the user's words or on a generated reply)."""

    kind: str
    severity: str
    source: Literal["user", "reply"]
    message: str
    rule: str = ""
    score: float | None = None
    turn: int = 0


@dataclass(frozen=True, eq=False)
class RiskLevelFrame(Frame):
    """The conversation's risk level changed (up or down), with the reason."""

    level: str
    previous: str
    reason: str
    turn: int = 0


@dataclass(frozen=True, eq=False)
class HandoffFrame(Frame):
    reason: str
    message: str


@dataclass(frozen=True, eq=False)
class ReplyDeltaFrame(Frame):
    text: str
    turn: int


@dataclass(frozen=True, eq=False)
class ReplyFrame(Frame):
    text: str
    responder: str
    turn: int
    fallback_reason: str | None = None
    interrupted: bool = False


@dataclass(frozen=True, eq=False)
class TurnFinished(ControlFrame):
    turn: int


@dataclass(frozen=True, eq=False)
class Interrupt(ControlFrame):
    """The user started speaking while the agent talked (barge-in)."""

    t: float = field(default_factory=now)


# -- spoken replies --------------------------------------------------------------------------------

SpeechSource = Literal["browser", "server", "host"]


@dataclass(frozen=True, eq=False)
class SpeechOutStartedFrame(Frame):
    """The agent's voice started playing a reply (``agent.speech``)."""

    turn: int
    source: SpeechSource
    prosody: dict[str, float] | None = None
    t: float = field(default_factory=now)


@dataclass(frozen=True, eq=False)
class SpeechOutStoppedFrame(Frame):
    """The agent's voice stopped: the reply was all said (``done``) or cut (``interrupted``)."""

    turn: int
    source: SpeechSource
    reason: Literal["done", "interrupted"]
    barge_in_ms: float | None = None
    """For a barge-in: from the user's speech-start event to this stop."""
    t: float = field(default_factory=now)


# -- housekeeping ----------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ErrorFrame(Frame):
    message: str
    where: str = ""
    error: BaseException | None = None
    """The exception, for callers that re-raise it (the offline path)."""


@dataclass(frozen=True, eq=False)
class WireFrame(Frame):
    """An already-serialised wire event (metrics, summary) passed straight to the subscribers."""

    data: dict[str, object]
