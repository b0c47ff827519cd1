"""Sampled ``VideoInput`` → the largest face, found in the executor → ``FaceFrame`` into the memory.

Live, frames are dropped (and counted) when the executor is saturated or while a turn is being
scored (``gate.paused``); the offline path passes ``drop=False`` so every sampled frame is searched.
"""

from __future__ import annotations

import time
from typing import Protocol

from emotion_agent.agent.executors import BoundedExecutor, Saturated
from emotion_agent.agent.pipeline import FrameProcessor, error_text
from emotion_agent.agent.processors.face_memory import FaceMemory
from emotion_agent.core.frames import ErrorFrame, FaceFrame, Frame, VideoInput
from emotion_agent.core.protocols import ModelSource


class ScoringGate(Protocol):
    @property
    def paused(self) -> bool: ...


class FaceDetect(FrameProcessor):
    name = "face_detect"

    def __init__(self, models: ModelSource, executor: BoundedExecutor, memory: FaceMemory,
                 gate: ScoringGate | None = None, drop: bool = True) -> None:
        super().__init__()
        self.models = models
        self.executor = executor
        self.memory = memory
        self.gate = gate
        self.drop = drop
        self.dropped = 0
        self.paused = 0

    async def process(self, frame: Frame) -> None:
        if not isinstance(frame, VideoInput):
            await self.push(frame)
            return
        if self.gate is not None and self.gate.paused:
            # The utterance's faces are in already; its ASR, experts and first reply text need the cores.
            self.paused += 1
            return
        image, ts = frame.frame.image, frame.frame.timestamp
        started = time.perf_counter()
        try:
            detector = self.models.get_face_detector()
            if self.drop:
                face = await self.executor.try_run(detector.detect_largest, image, ts)
            else:
                face = await self.executor.run(detector.detect_largest, image, ts)
        except Saturated:
            self.dropped += 1
            return
        except Exception as exc:
            await self.push(ErrorFrame(error_text(exc), "face_detect", exc))
            return
        if face is not None:
            self.memory.add(face)
            await self.push(FaceFrame(face, (time.perf_counter() - started) * 1000))
