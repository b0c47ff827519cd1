"""LangChain integration: add the user's emotion to a host's chain, and let its LLM ask for it.

Three lines for a host (see README)::

    emotion = EmotionContext(agent)                      # or EmotionContext(session) for live input
    chain = emotion.runnable() | prompt | llm           # prompt may use {emotion} / {emotion_context}
    chain.invoke({"input": "my order never arrived"})

``EmotionContext`` scores the input text with the text expert and the fuser (and, for a live
session, uses what the face and voice said in the latest turn), keeps the mood over the
conversation, and ``tool()`` gives the host's LLM a ``get_user_emotion`` tool.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from emotion_agent.agent.mood import MoodTracker
from emotion_agent.agent.scoring import fuse_scores
from emotion_agent.agent.serialize import estimate_json
from emotion_agent.core.events import EmotionEstimate, ExpertScores, Modality

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool

    from emotion_agent.agent.facade import EmotionAwareAgent
    from emotion_agent.agent.session import Session


def describe(estimate: EmotionEstimate | None, trend: str = "steady") -> str:
    """One sentence for a system prompt."""
    if estimate is None:
        return "The user's emotion is not known yet; be warm and attentive."
    if estimate.uncertain:
        return (f"The user may be feeling {estimate.label} (low confidence {estimate.confidence:.2f}); "
                f"acknowledge feelings gently without assuming. Mood trend: {trend}.")
    return (f"The user seems {estimate.label} (confidence {estimate.confidence:.2f}); respond with empathy "
            f"suited to that. Mood trend: {trend}.")


class EmotionContext:
    """Tracks the user's emotion for a LangChain host.  Thread-safe."""

    def __init__(self, source: EmotionAwareAgent | Session, text_key: str = "input") -> None:
        from emotion_agent.agent.session import Session

        self.session = source if isinstance(source, Session) else None
        self.components = source.components
        self.text_key = text_key
        self.mood = self.session.mood if self.session is not None else MoodTracker()
        self.latest: EmotionEstimate | None = None
        self._lock = threading.Lock()

    def observe(self, text: str) -> EmotionEstimate | None:
        """Score ``text`` (with the live session's latest face/voice view, if any); update the mood."""
        if not isinstance(text, str) or not text.strip():
            return self.latest
        text_scores = self.components.get_expert("text").predict(text.strip())
        live = self.session.latest_estimate.experts if self.session is not None and \
            self.session.latest_estimate is not None else {}
        merged: dict[Modality, ExpertScores | None] = {"face": live.get("face"), "voice": live.get("voice"),
                                                       "text": text_scores}
        scores = fuse_scores(merged, self.components.get_fuser())
        with self._lock:
            self.latest = scores.estimate
            if scores.estimate is not None and self.session is None:
                self.mood.update(scores.estimate)
        return scores.estimate

    def inject(self, inputs: Any) -> dict[str, Any]:
        """Chain input (a dict with ``text_key``, or a plain string) → the same dict plus emotion keys."""
        data = {self.text_key: inputs} if isinstance(inputs, str) else dict(inputs)
        estimate = self.observe(str(data.get(self.text_key, "")))
        return {
            **data,
            "emotion": estimate.label if estimate else "unknown",
            "emotion_confidence": round(float(estimate.confidence), 4) if estimate else 0.0,
            "emotion_context": describe(estimate, self.mood.trend()),
        }

    def state(self) -> dict[str, Any]:
        """What the tool reports: latest estimate, mood and trend."""
        with self._lock:
            latest = self.latest if self.session is None else (self.session.latest_estimate or self.latest)
            return {
                "emotion": estimate_json(latest),
                "mood": {"valence": round(self.mood.valence, 4), "arousal": round(self.mood.arousal, 4),
                         "state": self.mood.state, "trend": self.mood.trend()},
                "summary": describe(latest, self.mood.trend()),
            }

    def runnable(self) -> Runnable[Any, dict[str, Any]]:
        from langchain_core.runnables import RunnableLambda

        return RunnableLambda(self.inject, name="EmotionContext")

    def tool(self) -> BaseTool:
        from langchain_core.tools import StructuredTool

        def get_user_emotion() -> str:
            """Current emotional state of the user: label, confidence, per-modality weights and mood trend."""
            return json.dumps(self.state())

        return StructuredTool.from_function(get_user_emotion, name="get_user_emotion")
