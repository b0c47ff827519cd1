"""Any PCM in (rate, channels, dtype) → float32 mono 16 kHz ``AudioChunk``."""

from __future__ import annotations

from emotion_agent.agent.pipeline import FrameProcessor
from emotion_agent.core.frames import AudioChunk, AudioInput, Frame
from emotion_agent.perception.audio import StreamingResampler


class Resample(FrameProcessor):
    name = "resample"

    def __init__(self) -> None:
        super().__init__()
        self._resampler = StreamingResampler()

    async def process(self, frame: Frame) -> None:
        if not isinstance(frame, AudioInput):
            await self.push(frame)
            return
        chunk = self._resampler(frame.pcm, frame.sample_rate)  # AudioFormatError goes to the caller
        if chunk.size:
            await self.push(AudioChunk(chunk))
