"""Host-facing facade: ``EmotionAwareAgent``, ``Session``, and the LangChain integration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emotion_agent.agent.facade import EmotionAwareAgent, SessionLimitError
    from emotion_agent.agent.session import Session

__all__ = ["EmotionAwareAgent", "Session", "SessionLimitError"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import agent.wire` does not pull in torch and the models.
    if name in ("EmotionAwareAgent", "SessionLimitError"):
        from emotion_agent.agent import facade

        return getattr(facade, name)
    if name == "Session":
        from emotion_agent.agent.session import Session

        return Session
    raise AttributeError(name)
