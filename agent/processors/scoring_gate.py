"""Marks the time from the end of an utterance to the reply's first text, when face detection
pauses (``settings.video_pause_while_scoring``): the cores go to ASR, experts and the reply."""

from __future__ import annotations

from emotion_agent.agent.pipeline import FrameProcessor
from emotion_agent.core.frames import Frame, ReplyDeltaFrame, ReplyFrame, TurnFinished, TurnStarted


class ScoringGate(FrameProcessor):
    name = "scoring_gate"

    def __init__(self, enabled: bool = True) -> None:
        super().__init__()
        self.enabled = enabled
        self._scoring = False

    @property
    def paused(self) -> bool:
        return self.enabled and self._scoring

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, TurnStarted):
            self._scoring = frame.utterance is not None
        elif isinstance(frame, (ReplyDeltaFrame, ReplyFrame, TurnFinished)):
            self._scoring = False
        await self.push(frame)
