"""The last processor of every chain: user-visible frames → wire events on the session's bus."""

from __future__ import annotations

from emotion_agent.agent.bus import EventBus
from emotion_agent.agent.pipeline import FrameProcessor
from emotion_agent.agent.serialize import wire_message
from emotion_agent.core.frames import Frame, WireFrame


class WireOut(FrameProcessor):
    name = "wire_out"

    def __init__(self, bus: EventBus) -> None:
        super().__init__()
        self.bus = bus

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, WireFrame):
            self.bus.publish(dict(frame.data))
        else:
            msg = wire_message(frame)
            if msg is not None:
                self.bus.publish(msg.dump())
        await self.push(frame)
