"""Pydantic models of the HTTP API (requests and responses).  Events themselves are ``agent.wire``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Profile = Literal["default", "customer_service", "mental_health"]


class OfferIn(BaseModel):
    """A complete (non-trickle) SDP offer from the browser."""

    sdp: str = Field(min_length=1, max_length=200_000)
    type: Literal["offer"]
    profile: Profile = "default"


class AnswerOut(BaseModel):
    sdp: str
    type: Literal["answer"] = "answer"
    session_id: str


class ChatIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    session_id: str | None = Field(None, description="Continue this session; omit to start one.")
    profile: Profile = "default"


class ChatOut(BaseModel):
    session_id: str
    emotion: dict[str, Any] | None = Field(None, description="The final `emotion` event of the turn.")
    reply: str | None
    responder: str | None = None
    escalation: dict[str, Any] | None = None
    events: list[dict[str, Any]] = Field(default_factory=list, description="Every event of the turn.")


class DataChannelChat(BaseModel):
    """What the browser sends on the "events" data channel (or the websocket)."""

    type: Literal["chat"]
    text: str = Field(min_length=1, max_length=4000)


class ClientConfig(BaseModel):
    """What the page needs to know about the server."""

    ice_servers: list[str]
    max_upload_mb: float


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"
    sessions: int
    peers: int


class ErrorOut(BaseModel):
    detail: str
