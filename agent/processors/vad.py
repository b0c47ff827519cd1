"""``AudioChunk`` → webrtcvad segmentation → ``SpeechStartedFrame`` / ``SpeechEndedFrame``.

Chunks are passed on before the events they complete, so later processors see the audio first.
"""

from __future__ import annotations

from emotion_agent.agent.pipeline import FrameProcessor
from emotion_agent.core.events import SpeechStarted
from emotion_agent.core.frames import AudioChunk, EndOfAudio, Frame, SpeechEndedFrame, SpeechStartedFrame
from emotion_agent.core.protocols import VoiceActivityDetector
from emotion_agent.perception.audio import SAMPLE_RATE


class Vad(FrameProcessor):
    name = "vad"

    def __init__(self, detector: VoiceActivityDetector) -> None:
        super().__init__()
        self.detector = detector
        self.seconds_done = 0.0

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, AudioChunk):
            events = self.detector.process(frame.pcm)
            self.seconds_done += len(frame.pcm) / SAMPLE_RATE
            await self.push(frame)
        elif isinstance(frame, EndOfAudio):
            events = self.detector.flush()
            await self.push(frame)
        else:
            await self.push(frame)
            return
        for event in events:
            await self.push(SpeechStartedFrame(event) if isinstance(event, SpeechStarted) else SpeechEndedFrame(event))
