"""Barge-in and the echo guard, right after the VAD in the audio chain.

A VAD speech start while the agent's own audio plays (``SpeechOut.active``, including
``echo_tail_ms`` after it stops) is either the user talking over the agent or the agent's voice
coming back through the microphone.  The rule (docs/VOICE.md, "Echo guard"):

    it is the user — a barge-in — only if the onset (the voiced audio that made the VAD fire, the
    last ``onset_s``) is at least ``min_dbfs`` loud (RMS) and at least ``margin_db`` above the
    microphone's level during the agent's audio just before the utterance (the echo that the
    browser's echo cancellation let through, median over up to ``FLOOR_S``).

A barge-in calls ``on_barge_in(event)`` (the session stops the voice, cancels generation and marks
the reply interrupted) and the utterance goes on as a normal turn.  Anything quieter is taken as
echo: its ``SpeechStartedFrame`` and matching ``SpeechEndedFrame`` are dropped here, so it is never
transcribed nor answered.  Outside the agent's speech everything passes untouched.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Awaitable, Callable

import numpy as np

from emotion_agent.agent.pipeline import FrameProcessor
from emotion_agent.agent.speech import SpeechOut
from emotion_agent.core.events import SpeechStarted
from emotion_agent.core.frames import AudioChunk, Frame, SpeechEndedFrame, SpeechStartedFrame
from emotion_agent.perception.audio import SAMPLE_RATE

FLOOR_S = 2.0
KEEP_S = 4.0


def dbfs(power: float) -> float:
    return 10 * math.log10(power) if power > 1e-12 else -120.0


class BargeIn(FrameProcessor):
    name = "barge_in"

    def __init__(self, speech: SpeechOut, on_barge_in: Callable[[SpeechStarted], Awaitable[None]], *,
                 min_dbfs: float = -45.0, margin_db: float = 10.0, tail_s: float = 0.4,
                 onset_s: float = 0.25) -> None:
        super().__init__()
        self.speech = speech
        self.on_barge_in = on_barge_in
        self.min_dbfs = min_dbfs
        self.margin_db = margin_db
        self.tail_s = tail_s
        self.onset_s = onset_s
        self._chunks: deque[tuple[float, float, float, bool]] = deque()  # (start s, end s, power, agent audio on)
        self._position = 0.0
        self._dropping = False
        self.decisions: list[dict[str, float | bool]] = []
        """The newest decisions (onset and floor in dBFS, barge-in or not), for tests and tuning."""

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, AudioChunk):
            n = len(frame.pcm)
            power = float(np.mean(np.square(frame.pcm, dtype=np.float64))) if n else 0.0
            start = self._position
            self._position += n / SAMPLE_RATE
            self._chunks.append((start, self._position, power, self.speech.active(self.tail_s)))
            while self._chunks and self._chunks[0][1] < self._position - KEEP_S:
                self._chunks.popleft()
            await self.push(frame)
        elif isinstance(frame, SpeechStartedFrame):
            if not self.speech.active(self.tail_s):
                await self.push(frame)
                return
            onset, floor = self.levels(frame.event.start)
            user = onset >= self.min_dbfs and onset >= floor + self.margin_db
            self.decisions = [*self.decisions[-19:], {"onset_dbfs": round(onset, 1), "floor_dbfs": round(floor, 1),
                                                      "barge_in": user}]
            if not user:
                self._dropping = True
                self.speech.echo_ignored += 1
                return
            self.speech.barge_ins += 1
            await self.push(frame)
            await self.on_barge_in(frame.event)
        elif isinstance(frame, SpeechEndedFrame) and self._dropping:
            self._dropping = False
        else:
            await self.push(frame)

    def levels(self, utterance_start: float) -> tuple[float, float]:
        """(onset level, echo floor) in dBFS for an utterance starting at ``utterance_start`` (s)."""
        onset = [p for s, e, p, _ in self._chunks if e > self._position - self.onset_s]
        before = [p for s, e, p, on in self._chunks
                  if on and e <= utterance_start and s >= utterance_start - FLOOR_S]
        onset_db = dbfs(float(np.mean(onset))) if onset else -120.0
        floor_db = dbfs(float(np.median(before))) if before else -120.0
        return onset_db, floor_db
