"""Pydantic models of the HTTP API (requests and responses).  Events themselves are ``agent.wire``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

Profile = Literal["default", "customer_service", "mental_health", "casual"]



def _valid_unicode(text: str) -> str:
    """Refuse strings that are not valid Unicode text (a lone surrogate such as ``"\\udfff"`` is legal in
    JSON but cannot be encoded, so it would break every later step)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text contains invalid Unicode (a lone surrogate)") from None
    return text


Text = Annotated[str, AfterValidator(_valid_unicode)]
SessionId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class ConsentIn(BaseModel):
    """Which sensors emotion recognition may read for this session (omitted: unchanged / on)."""

    face: bool | None = Field(None, description="Camera: face detection and the face expert.")
    voice: bool | None = Field(None, description="Microphone: the voice expert, speech detection, transcription.")


class ConsentOut(BaseModel):
    face: bool
    voice: bool
    text: bool = Field(True, description="Typed words are always read: they are what the agent answers.")


class OfferIn(BaseModel):
    """A complete (non-trickle) SDP offer from the browser."""

    sdp: Text = Field(min_length=1, max_length=200_000)
    type: Literal["offer"]
    profile: Profile = "default"
    consent: ConsentIn | None = Field(None, description="Sensors the user agreed to; default both on.")


class AnswerOut(BaseModel):
    sdp: str
    type: Literal["answer"] = "answer"
    session_id: str
    session_token: str = Field(description="The session's secret: send it as X-Session-Token (or the websocket "
                                           "subprotocol token.<value>) to reach this session again.")
    consent: ConsentOut | None = None


class ChatIn(BaseModel):
    text: Text = Field(min_length=1, max_length=4000)
    session_id: SessionId | None = Field(None, description="Continue this session (with its token in "
                                                           "X-Session-Token); omit to start one.")
    profile: Profile = "default"


class ChatOut(BaseModel):
    session_id: str
    session_token: str | None = Field(None, description="Only in the reply that created the session.")
    emotion: dict[str, Any] | None = Field(None, description="The final `emotion` event of the turn.")
    reply: str | None
    responder: str | None = None
    escalation: dict[str, Any] | None = None
    events: list[dict[str, Any]] = Field(default_factory=list, description="Every event of the turn.")


class DataChannelChat(BaseModel):
    """What the browser sends on the "events" data channel (or the websocket)."""

    type: Literal["chat"]
    text: Text = Field(min_length=1, max_length=4000)


class ClientConfig(BaseModel):
    """What the page needs to know about the server."""

    ice_servers: list[str]
    max_upload_mb: float
    turn_servers: list[IceServerOut] = Field(default_factory=list,
                                             description="TURN with short-lived credentials (when configured).")
    auth: Literal["anonymous", "host-token"] = "anonymous"


class IceServerOut(BaseModel):
    urls: list[str]
    username: str
    credential: str


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"
    sessions: int
    peers: int


class ErrorOut(BaseModel):
    detail: str
