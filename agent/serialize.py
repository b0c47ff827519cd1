"""The one serializer: frames → wire messages (for the browser and hosts) and the analyze JSON.

``wire_message`` maps each user-visible frame to its pydantic wire model; frames that are internal
(audio, video, turn control) map to None.  ``analyze`` builds its per-utterance JSON from the same
messages (``scores_json``, ``estimate_json``).
"""

from __future__ import annotations

from typing import Any

from emotion_agent.agent.wire import (
    EmotionMsg,
    ErrorMsg,
    EscalationMsg,
    ExpertScoresMsg,
    FaceMsg,
    HandoffMsg,
    MoodMsg,
    MoodShiftMsg,
    ReplyDeltaMsg,
    ReplyMsg,
    RiskLevelMsg,
    SpeechMsg,
    SpeechOutStartedMsg,
    SpeechOutStoppedMsg,
    TranscriptMsg,
    TrendReportMsg,
    Wire,
)
from emotion_agent.core.events import EmotionEstimate, ExpertScores
from emotion_agent.core.frames import (
    EmotionFrame,
    ErrorFrame,
    EscalationFrame,
    ExpertScoresFrame,
    FaceFrame,
    Frame,
    HandoffFrame,
    MoodFrame,
    MoodShiftFrame,
    ReplyDeltaFrame,
    ReplyFrame,
    RiskLevelFrame,
    SpeechEndedFrame,
    SpeechOutStartedFrame,
    SpeechOutStoppedFrame,
    SpeechStartedFrame,
    TranscriptFrame,
    TrendReportFrame,
)
from emotion_agent.core.labels import probs_to_dict


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


def wire_message(frame: Frame) -> Wire | None:
    match frame:
        case SpeechStartedFrame(event=e):
            return SpeechMsg(state="started", start=round(e.start, 3))
        case SpeechEndedFrame(event=e):
            return SpeechMsg(state="ended", start=round(e.start, 3), end=round(e.end, 3))
        case TranscriptFrame(transcript=t):
            return TranscriptMsg(text=t.text, is_final=t.is_final, start=round(t.start, 3), end=round(t.end, 3))
        case FaceFrame(crop=c):
            return FaceMsg(box=c.box, timestamp=round(c.timestamp, 3))
        case ExpertScoresFrame(scores=s):
            return scores_msg(s)
        case EmotionFrame():
            return emotion_msg(frame.estimate, frame.provisional, frame.turn)
        case MoodFrame():
            return MoodMsg(valence=round(frame.valence, 4), arousal=round(frame.arousal, 4), trend=frame.trend,
                           t=round(frame.t, 3))
        case MoodShiftFrame():
            return MoodShiftMsg(from_=frame.from_state, to=frame.to_state, t=round(frame.t, 3))
        case TrendReportFrame():
            return TrendReportMsg(trend=frame.trend, text=frame.text, turns=frame.turns)
        case EscalationFrame():
            return EscalationMsg(kind=frame.kind, severity=frame.severity, source=frame.source,
                                 message=frame.message, rule=frame.rule, score=frame.score)
        case RiskLevelFrame():
            return RiskLevelMsg(level=frame.level, previous=frame.previous, reason=frame.reason)
        case HandoffFrame():
            return HandoffMsg(reason=frame.reason, message=frame.message)
        case ReplyDeltaFrame():
            return ReplyDeltaMsg(text=frame.text, turn=frame.turn)
        case ReplyFrame():
            return ReplyMsg(text=frame.text, responder=frame.responder, turn=frame.turn,
                            fallback_reason=frame.fallback_reason, interrupted=frame.interrupted)
        case SpeechOutStartedFrame():
            return SpeechOutStartedMsg(turn=frame.turn, source=frame.source, prosody=frame.prosody,
                                       t=round(frame.t, 3))
        case SpeechOutStoppedFrame():
            return SpeechOutStoppedMsg(turn=frame.turn, source=frame.source, reason=frame.reason,
                                       barge_in_ms=None if frame.barge_in_ms is None else round(frame.barge_in_ms, 1),
                                       t=round(frame.t, 3))
        case ErrorFrame():
            return ErrorMsg(message=frame.message, where=frame.where)
    return None


def scores_json(scores: ExpertScores | None) -> dict[str, Any] | None:
    if scores is None:
        return None
    data = scores_msg(scores).dump()
    return {k: data[k] for k in ("label", "probs", "confidence")}


def estimate_json(estimate: EmotionEstimate | None) -> dict[str, Any] | None:
    if estimate is None:
        return None
    data = emotion_msg(estimate).dump()
    return {k: data[k] for k in ("label", "probs", "confidence", "weights", "explanation", "uncertain",
                                 "valence", "arousal", "fuser")}
