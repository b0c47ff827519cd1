"""Final ``EmotionFrame`` → the mood timeline: ``MoodFrame``, a ``MoodShiftFrame`` when the quadrant
changes, and a ``TrendReportFrame`` every N turns when the profile asks for one."""

from __future__ import annotations

import time

from emotion_agent.agent.pipeline import FrameProcessor
from emotion_agent.agent.processors.conversation import Conversation
from emotion_agent.core.frames import EmotionFrame, Frame, MoodFrame, MoodShiftFrame, TrendReportFrame


class Mood(FrameProcessor):
    name = "mood"

    def __init__(self, conversation: Conversation) -> None:
        super().__init__()
        self.conversation = conversation

    async def process(self, frame: Frame) -> None:
        await self.push(frame)
        if not isinstance(frame, EmotionFrame) or frame.provisional:
            return
        conv, mood = self.conversation, self.conversation.mood
        shift = mood.update(frame.estimate)
        await self.push(MoodFrame(mood.valence, mood.arousal, mood.trend(), time.monotonic()))
        if shift is not None:
            await self.push(MoodShiftFrame(shift.from_state, shift.to_state, shift.t))
        every = conv.profile.trend_report_every
        if every and conv.turns % every == 0:
            trend = mood.trend()
            await self.push(TrendReportFrame(trend, conv.turns,
                                             f"Over the last {conv.turns} check-ins your mood looks {trend}."))
