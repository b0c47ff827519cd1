"""Wire messages: what hosts and the browser receive.  Pydantic models, each with a ``type`` literal.

Internal events are frozen dataclasses (``emotion_agent.events``); they become wire dicts here, at the
boundary, through ``to_wire``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from emotion_agent.events import EmotionEstimate, Escalation, ExpertScores, Transcript
from emotion_agent.labels import probs_to_dict


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
    type: Literal["escalation"] = "escalation"
    kind: str
    source: str
    message: str


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


def transcript_msg(t: Transcript) -> TranscriptMsg:
    return TranscriptMsg(text=t.text, is_final=t.is_final, start=round(t.start, 3), end=round(t.end, 3))


def scores_msg(s: ExpertScores) -> ExpertScoresMsg:
    return ExpertScoresMsg(modality=s.modality, label=s.label, probs=probs_to_dict(s.probs),
                           confidence=round(float(s.confidence), 4), latency_ms=round(s.latency_ms, 2))


def emotion_msg(e: EmotionEstimate, provisional: bool = False, turn: int = 0) -> EmotionMsg:
    return EmotionMsg(
        label=e.label, probs=probs_to_dict(e.probs), confidence=round(float(e.confidence), 4),
        weights={k: round(float(v), 4) for k, v in e.weights.items()}, explanation=e.explanation,
        uncertain=e.uncertain, valence=round(e.valence, 4), arousal=round(e.arousal, 4),
        provisional=provisional, fuser=e.fuser, turn=turn,
    )


def escalation_msg(e: Escalation) -> EscalationMsg:
    return EscalationMsg(kind=e.kind, source=e.source, message=e.message)


class HandoffMsg(Wire):
    type: Literal["handoff"] = "handoff"
    reason: str
    message: str


class TrendReportMsg(Wire):
    type: Literal["trend_report"] = "trend_report"
    trend: str
    text: str
    turns: int
