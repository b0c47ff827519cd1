"""``ByProfile``: one responder for most conversations, others for named profiles.

The default offline set-up answers ``customer_service`` with the structured support responder
(``responders.support``), ``mental_health`` and ``default`` with the listener (``responders.listener``),
``casual`` with the casual responder (``responders.casual``), and any other profile with the reply
model (``responders.registry.load_responder``).  It honours ``core.protocols.ProfileResponders``: the agent asks
``for_profile(name)`` which responder answers a conversation; ``stream`` dispatches on
``context["profile"]`` for callers that do not ask.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from emotion_agent.core.events import EmotionEstimate
from emotion_agent.core.protocols import Responder, Turn
from emotion_agent.responders.base import ResponderError


class Unavailable:
    """Stands in for a reply model that could not be loaded while structured responders answer the other
    profiles: every turn routed to it fails with the loading error (the agent then answers with the
    template and reports the reason)."""

    def __init__(self, kind: str, error: Exception) -> None:
        self.name = kind
        self.error = error

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None = None) -> Iterator[str]:
        raise ResponderError(f"{self.name} responder unavailable: {self.error}")


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
