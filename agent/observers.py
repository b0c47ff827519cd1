"""Observers of the pipeline: stage timings for the metrics, the bench and ``/metrics``.

``StageTimer`` derives every stage figure from the frames themselves and the processors' own
times; no processor times itself.  Stage names (ms unless said):

* ``vad``, ``fusion``: the processor's own time per chunk / per turn;
* ``face_detect``, ``asr`` (and the unitless ``asr_rtf``), ``face``, ``voice``, ``text``: what the
  frame says the work took;
* ``eou_to_provisional_emotion``, ``eou_to_emotion``, ``eou_to_first_reply``, ``eou_to_reply``
  (``text_…`` for typed turns): from the turn being ready to that frame leaving the pipeline;
* ``responder_first``, ``responder_full``: from the words reaching the end of the chain (the
  reply starts) to the first reply text and to the whole reply.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from emotion_agent.agent.metrics import StageTimes
from emotion_agent.core.frames import (
    AudioChunk,
    EmotionFrame,
    ExpertScoresFrame,
    FaceFrame,
    Frame,
    ReplyDeltaFrame,
    ReplyFrame,
    TranscriptFrame,
    TurnFinished,
    TurnStarted,
    UserWords,
)


@dataclass
class _TurnClock:
    t_ready: float
    prefix: str
    fused: bool = False
    reply_started: float | None = None
    first_text: bool = False


class StageTimer:
    def __init__(self, times: StageTimes) -> None:
        self.times = times
        self._turns: dict[int, _TurnClock] = {}

    def on_processed(self, processor: str, frame: Frame, own_ms: float) -> None:
        if processor == "vad" and isinstance(frame, AudioChunk):
            self.times.add("vad", own_ms)
        elif processor == "fuse" and isinstance(frame, UserWords):
            clock = self._turns.get(frame.turn)
            if clock is not None and clock.fused:
                self.times.add("fusion", own_ms)

    def on_output(self, frame: Frame) -> None:
        now = time.perf_counter()
        match frame:
            case TurnStarted():
                self._turns[frame.turn] = _TurnClock(frame.t_ready, "eou" if frame.kind == "speech" else "text")
            case FaceFrame():
                self.times.add("face_detect", frame.elapsed_ms)
            case ExpertScoresFrame():
                self.times.add(frame.scores.modality, frame.scores.latency_ms)
            case TranscriptFrame() if frame.transcript.is_final and frame.elapsed_ms:
                self.times.add("asr", frame.elapsed_ms)
                self.times.add("asr_rtf", frame.elapsed_ms / 1000 / max(frame.audio_s, 1e-3))
            case EmotionFrame():
                clock = self._turns.get(frame.turn)
                if clock is not None:
                    stage = "provisional_emotion" if frame.provisional else "emotion"
                    clock.fused = clock.fused or not frame.provisional
                    self.times.add(f"{clock.prefix}_to_{stage}", (now - clock.t_ready) * 1000)
            case UserWords():
                clock = self._turns.get(frame.turn)
                if clock is not None:
                    clock.reply_started = now
            case ReplyDeltaFrame():
                clock = self._turns.get(frame.turn)
                if clock is not None and not clock.first_text:
                    clock.first_text = True
                    self.times.add(f"{clock.prefix}_to_first_reply", (now - clock.t_ready) * 1000)
                    if clock.reply_started is not None:
                        self.times.add("responder_first", (now - clock.reply_started) * 1000)
            case ReplyFrame():
                clock = self._turns.get(frame.turn)
                if clock is not None:
                    self.times.add(f"{clock.prefix}_to_reply", (now - clock.t_ready) * 1000)
                    if clock.reply_started is not None and frame.fallback_reason is None:
                        self.times.add("responder_full", (now - clock.reply_started) * 1000)
            case TurnFinished():
                self._turns.pop(frame.turn, None)
