"""Keeps video frames at most ``fps`` per second of media time; the rest are passed over."""

from __future__ import annotations

from emotion_agent.agent.pipeline import FrameProcessor
from emotion_agent.core.frames import Frame, VideoInput


class VideoSampler(FrameProcessor):
    name = "video_sampler"

    def __init__(self, fps: float) -> None:
        super().__init__()
        self.min_gap = 1.0 / max(fps, 0.1)
        self._last_ts = -1e9

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, VideoInput):
            if frame.frame.timestamp - self._last_ts < self.min_gap:
                return
            self._last_ts = frame.frame.timestamp
        await self.push(frame)
