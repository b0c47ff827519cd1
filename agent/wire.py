"""Wire messages: what hosts and the browser receive.  Pydantic models, each with a ``type`` literal.

Internal events are frozen dataclasses (``emotion_agent.core.events``); they become wire dicts here, at the
boundary, through ``emotion_agent.agent.serialize``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class Wire(BaseModel):
    model_config = ConfigDict(frozen=True)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class SpeechMsg(Wire):
    type: Literal["speech"] = "speech"
    state: Literal["started", "ended"]
    start: float
    end: float | None = None


class TranscriptMsg(Wire):
    type: Literal["transcript"] = "transcript"
    text: str
    is_final: bool
    start: float
    end: float


class ExpertScoresMsg(Wire):
    type: Literal["expert_scores"] = "expert_scores"
    modality: Literal["face", "voice", "text"]
    label: str
    probs: dict[str, float]
    confidence: float
    latency_ms: float


class EmotionMsg(Wire):
    type: Literal["emotion"] = "emotion"
    label: str
    probs: dict[str, float]
    confidence: float
    weights: dict[str, float]
    explanation: str
    uncertain: bool
    valence: float
    arousal: float
    provisional: bool = False
    fuser: str
    turn: int = 0


class MoodMsg(Wire):
    type: Literal["mood"] = "mood"
    valence: float
    arousal: float
    trend: str
    t: float


class MoodShiftMsg(Wire):
    model_config = ConfigDict(frozen=True, populate_by_name=True)
    type: Literal["mood_shift"] = "mood_shift"
    from_: str
    to: str
    t: float

    def dump(self) -> dict[str, Any]:
        data = super().dump()
        data["from"] = data.pop("from_")
        return data


class EscalationMsg(Wire):
    """The risk screen fired.  ``kind`` and ``severity`` follow the taxonomy in ``safety.taxonomy``;
    ``rule`` names the pattern or model stage that fired and ``score`` is the classifier's score."""

    type: Literal["escalation"] = "escalation"
    kind: str
    severity: str = "high"
    source: str
    message: str
    rule: str = ""
    score: float | None = None


class RiskLevelMsg(Wire):
    """The conversation's risk level changed; it only goes down when the user says so."""

    type: Literal["risk_level"] = "risk_level"
    level: str
    previous: str
    reason: str


class ReplyDeltaMsg(Wire):
    type: Literal["reply_delta"] = "reply_delta"
    text: str
    turn: int = 0


class ReplyMsg(Wire):
    type: Literal["reply"] = "reply"
    text: str
    responder: str
    turn: int = 0
    fallback_reason: str | None = None
    interrupted: bool = False


class SpeechOutStartedMsg(Wire):
    """The agent's voice started a reply: on the page (``browser``), on the server's WebRTC audio
    track (``server``) or in the host's own TTS (``host``).  ``prosody`` is the row of the prosody
    table used (``responders.prosody``); ``t`` is the server's monotonic clock in seconds."""

    type: Literal["speech_out_started"] = "speech_out_started"
    turn: int = 0
    source: Literal["browser", "server", "host"]
    prosody: dict[str, float] | None = None
    t: float


class SpeechOutStoppedMsg(Wire):
    """The agent's voice stopped: ``done`` (all said) or ``interrupted`` (barge-in, Stop, speaker off).
    ``barge_in_ms``: for a barge-in, from the user's speech-start event to this stop."""

    type: Literal["speech_out_stopped"] = "speech_out_stopped"
    turn: int = 0
    source: Literal["browser", "server", "host"]
    reason: Literal["done", "interrupted"]
    barge_in_ms: float | None = None
    t: float


class FaceMsg(Wire):
    type: Literal["face"] = "face"
    box: tuple[int, int, int, int]
    timestamp: float


class MetricsMsg(Wire):
    type: Literal["metrics"] = "metrics"
    audio_lag_s: float
    audio_seconds: float
    video_frames_seen: int
    video_frames_dropped: int
    video_frames_paused: int = 0
    """Frames skipped on purpose while a turn was scored (see settings.video_pause_while_scoring)."""
    stage_ms: dict[str, dict[str, float]]
    reply_guard: dict[str, int] = {}
    """Reply-guard counts so far (``responders.guard.GuardCounts.as_dict``): checked, flagged,
    regenerated, fallbacks, flag_<kind>."""


class ErrorMsg(Wire):
    type: Literal["error"] = "error"
    message: str
    where: str = ""


class SummaryMsg(Wire):
    type: Literal["summary"] = "summary"
    turns: int
    dominant: list[tuple[str, int]]
    trend: str
    mean_valence: float
    mean_arousal: float
    escalations: int
    profile: str
    reply_guard: dict[str, int] = {}


class HandoffMsg(Wire):
    type: Literal["handoff"] = "handoff"
    reason: str
    message: str


class TrendReportMsg(Wire):
    type: Literal["trend_report"] = "trend_report"
    trend: str
    text: str
    turns: int
