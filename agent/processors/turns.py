"""The end of the audio path: a ``SpeechEndedFrame`` becomes a ``TurnStarted`` (with the faces seen
during the utterance and its newest partial transcript) put on the session's turn queue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from emotion_agent.agent.pipeline import FrameProcessor
from emotion_agent.agent.processors.conversation import Conversation
from emotion_agent.agent.processors.face_memory import FaceMemory
from emotion_agent.core.frames import (
    Frame,
    SpeechEndedFrame,
    SpeechStartedFrame,
    TranscriptFrame,
    TurnStarted,
)


class TurnAssembler(FrameProcessor):
    name = "turns"

    def __init__(self, conversation: Conversation, faces: FaceMemory,
                 enqueue: Callable[[TurnStarted], Awaitable[None]]) -> None:
        super().__init__()
        self.conversation = conversation
        self.faces = faces
        self.enqueue = enqueue
        self._partial = ""

    async def process(self, frame: Frame) -> None:
        await self.push(frame)
        if isinstance(frame, SpeechStartedFrame):
            self._partial = ""
        elif isinstance(frame, TranscriptFrame) and not frame.transcript.is_final:
            self._partial = frame.transcript.text
        elif isinstance(frame, SpeechEndedFrame):
            u = frame.event
            await self.enqueue(TurnStarted(self.conversation.next_turn(), "speech", utterance=u,
                                           partial=self._partial, faces=self.faces.for_utterance(u)))
