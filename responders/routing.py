"""``ByProfile``: one responder for most conversations, others for named profiles.

The default offline set-up answers ``customer_service`` conversations with the structured support
responder (``responders.support``) and every other profile with the reply model
(``settings.support_replies``).  It honours ``core.protocols.ProfileResponders``: the agent asks
``for_profile(name)`` which responder answers a conversation; ``stream`` dispatches on
``context["profile"]`` for callers that do not ask.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from emotion_agent.core.events import EmotionEstimate
from emotion_agent.core.protocols import Responder, Turn


class ByProfile:
    def __init__(self, default: Responder, routes: Mapping[str, Responder]) -> None:
        self.default = default
        self.routes = dict(routes)
        self.name = default.name

    def for_profile(self, profile: str) -> Responder:
        return self.routes.get(profile, self.default)

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None = None) -> Iterator[str]:
        profile = context.get("profile") if isinstance(context, Mapping) else None
        responder = self.for_profile(profile) if isinstance(profile, str) else self.default
        return responder.stream(history, estimate, context)
