"""Collects the turn's ``ExpertScoresFrame``s; on ``UserWords`` fuses them → ``EmotionFrame``."""

from __future__ import annotations

from emotion_agent.agent.executors import BoundedExecutor
from emotion_agent.agent.pipeline import FrameProcessor, error_text
from emotion_agent.agent.processors.conversation import Conversation
from emotion_agent.agent.scoring import fuse_scores
from emotion_agent.core.events import ExpertScores, Modality
from emotion_agent.core.frames import (
    EmotionFrame,
    ErrorFrame,
    ExpertScoresFrame,
    Frame,
    TurnStarted,
    UserWords,
)
from emotion_agent.core.protocols import ModelSource


class Fuse(FrameProcessor):
    name = "fuse"

    def __init__(self, experts: ModelSource, executor: BoundedExecutor, conversation: Conversation) -> None:
        super().__init__()
        self.experts = experts
        self.executor = executor
        self.conversation = conversation
        self._scores: dict[Modality, ExpertScores | None] = {}

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, TurnStarted):
            self._scores = {"face": None, "voice": None, "text": None}
            self.conversation.turn_estimate = None
        elif isinstance(frame, ExpertScoresFrame):
            self._scores[frame.scores.modality] = frame.scores
        elif isinstance(frame, UserWords) and any(v is not None for v in self._scores.values()):
            try:
                result = await self.executor.run(fuse_scores, dict(self._scores), self.experts.get_fuser())
            except Exception as exc:
                await self.push(ErrorFrame(error_text(exc), "fusion", exc))
            else:
                if result.estimate is not None:
                    self.conversation.latest_estimate = result.estimate
                    self.conversation.turn_estimate = result.estimate
                    await self.push(EmotionFrame(result.estimate, frame.turn, kind=frame.kind,
                                                 t_ready=frame.t_ready))
        await self.push(frame)
