"""``UserWords`` with words → the text expert's scores, before the words go on.

The words are read in their dialogue context when the expert can (``ContextualTextExpert``): the
previous turns come from the conversation's history (user and assistant turns) when the stage is
given the ``Conversation``, else from the earlier utterances this stage has scored (``analyze``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from emotion_agent.agent.executors import BoundedExecutor
from emotion_agent.agent.pipeline import FrameProcessor, error_text
from emotion_agent.agent.processors.conversation import Conversation
from emotion_agent.core.frames import ErrorFrame, ExpertScoresFrame, Frame, UserWords
from emotion_agent.core.protocols import ContextualTextExpert, ModelSource

CONTEXT_TURNS = 4
"""Previous turns handed to the expert (it keeps as many of the latest as it was trained with)."""


class TextExpertStage(FrameProcessor):
    name = "text_expert"

    def __init__(self, experts: ModelSource, executor: BoundedExecutor,
                 conversation: Conversation | None = None, context_turns: int = CONTEXT_TURNS) -> None:
        super().__init__()
        self.experts = experts
        self.executor = executor
        self.conversation = conversation
        self.context_turns = context_turns
        self._seen: deque[str] = deque(maxlen=max(context_turns, 1))

    def previous_turns(self) -> list[str]:
        """The latest ``context_turns`` turns before the current one, oldest first."""
        if self.context_turns <= 0:
            return []
        if self.conversation is not None:
            turns: Sequence[str] = [t.text for t in self.conversation.history if t.text.strip()]
        else:
            turns = list(self._seen)
        return list(turns[-self.context_turns:])

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, UserWords) and frame.text.strip():
            text = frame.text.strip()
            try:
                expert = self.experts.get_expert("text")
                if isinstance(expert, ContextualTextExpert):
                    scores = await self.executor.run(expert.predict_in_context, text, self.previous_turns())
                else:
                    scores = await self.executor.run(expert.predict, text)
                await self.push(ExpertScoresFrame(scores, frame.turn))
            except Exception as exc:
                await self.push(ErrorFrame(error_text(exc), "text_expert", exc))
            self._seen.append(text)
        await self.push(frame)
