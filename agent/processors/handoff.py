"""Suggests a human hand-off when the profile's angry-turn streak is reached."""

from __future__ import annotations

from emotion_agent.agent.pipeline import FrameProcessor
from emotion_agent.agent.processors.conversation import Conversation
from emotion_agent.core.frames import Frame, HandoffFrame, UserWords


class Handoff(FrameProcessor):
    name = "handoff"

    def __init__(self, conversation: Conversation) -> None:
        super().__init__()
        self.conversation = conversation

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, UserWords) and frame.text.strip():
            profile, mood = self.conversation.profile, self.conversation.mood
            if profile.handoff_after_angry_turns and mood.streak("angry") >= profile.handoff_after_angry_turns:
                await self.push(HandoffFrame(f"angry for {mood.streak('angry')} turns in a row",
                                             profile.handoff_message))
        await self.push(frame)
