"""Partial transcripts while the user speaks: every ``interval_s`` the utterance so far is
transcribed in the executor.  Best effort: skipped while the previous partial is still running or
the executor is saturated, and dropped if the utterance ended before it came back."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque

import numpy as np

from emotion_agent.agent.executors import BoundedExecutor, Saturated
from emotion_agent.agent.pipeline import FrameProcessor, error_text
from emotion_agent.core.events import Transcript
from emotion_agent.core.frames import (
    AudioChunk,
    ErrorFrame,
    Frame,
    SpeechEndedFrame,
    SpeechStartedFrame,
    TranscriptFrame,
)
from emotion_agent.core.protocols import ModelSource
from emotion_agent.perception.audio import SAMPLE_RATE

KEEP_IDLE_S = 1.0
"""Audio kept while nobody speaks: enough for the VAD's pre-roll."""


class PartialAsr(FrameProcessor):
    name = "partial_asr"

    def __init__(self, models: ModelSource, executor: BoundedExecutor, interval_s: float = 1.0) -> None:
        super().__init__()
        self.models = models
        self.executor = executor
        self.interval_s = interval_s
        self._chunks: deque[tuple[int, np.ndarray]] = deque()  # (stream offset in samples, pcm)
        self._position = 0
        self._speech_start: float | None = None
        self._last_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._utterance = 0

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, AudioChunk):
            self._chunks.append((self._position, frame.pcm))
            self._position += len(frame.pcm)
            if self._speech_start is None:
                while self._chunks and self._chunks[0][0] < self._position - KEEP_IDLE_S * SAMPLE_RATE:
                    self._chunks.popleft()
        elif isinstance(frame, SpeechStartedFrame):
            self._speech_start = frame.event.start
            self._utterance += 1
            self._last_at = time.perf_counter()
        elif isinstance(frame, SpeechEndedFrame):
            self._speech_start = None
        await self.push(frame)
        if (isinstance(frame, AudioChunk) and self._speech_start is not None
                and time.perf_counter() - self._last_at >= self.interval_s
                and (self._task is None or self._task.done())):
            self._last_at = time.perf_counter()
            self._task = asyncio.create_task(self._partial(self._audio_since(self._speech_start),
                                                           self._speech_start, self._utterance))

    def _audio_since(self, start_s: float) -> np.ndarray:
        first = int(start_s * SAMPLE_RATE)
        parts = [pcm[max(0, first - off):] for off, pcm in self._chunks if off + len(pcm) > first]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    async def _partial(self, audio: np.ndarray, start: float, utterance: int) -> None:
        try:
            result: Transcript = await self.executor.try_run(self.models.get_transcriber().transcribe, audio, start=start,
                                                             is_final=False)
        except Saturated:
            return
        except Exception as exc:
            await self.push(ErrorFrame(error_text(exc), "asr_partial", exc))
            return
        if result.text and self._speech_start is not None and utterance == self._utterance:
            await self.push(TranscriptFrame(result))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
