"""Settings of the web front end (signalling, limits, uploads), overridable by ``EMOTION_AGENT_*`` env vars.

Kept apart from ``emotion_agent.core.settings.Settings`` (models and perception) so the web layer can change
without touching the core; ``get_web_settings()`` is cached like ``get_settings()``.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EMOTION_AGENT_", env_file=None, extra="ignore")

    max_sessions: int = Field(default=4, ge=1, description="Concurrent sessions (WebRTC, websocket and REST chat); "
                                                   "one more gets HTTP 503.")
    ice_servers: list[str] = Field(
        default_factory=list,
        description="STUN/TURN URLs for the server's peers (JSON list in the env var).  Empty: host "
                    "candidates only, which is what a machine without network can use.",
    )
    max_upload_mb: float = Field(default=50.0, gt=0, description="Largest clip /api/analyze accepts (MB); larger: 413.")
    max_concurrent_analyze: int = Field(default=1, ge=1, description="Clip analyses run at once; others wait.")
    chat_session_ttl_s: float = Field(default=300.0, gt=0, description="A REST chat session idle this long is closed (by a timer).")
    chat_reply_timeout_s: float = Field(default=120.0, gt=0, description="/api/chat waits this long for the reply.")
    media_timeout_s: float = Field(
        default=15.0, gt=0,
        description="A peer whose media stops arriving for this long (after it started) is closed: the "
                    "client vanished.  ICE consent would notice too, but only after ~30 s.",
    )
    connect_timeout_s: float = Field(
        default=20.0, gt=0, description="A peer not connected this long after its offer is closed.")
    event_backlog: int = Field(default=500, ge=1, description="Events kept for a subscriber that has not attached yet.")

    # -- security (issue 15; see docs/DEPLOYING.md and web/security.py) ------------------------
    secret: str = Field(
        default="", repr=False,
        description="Server secret (32+ characters) that signs the host tokens (HS256 JWT).  Empty: anonymous "
                    "access, allowed only when bound to localhost.",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port]) allowed to open websockets and send POST/DELETE requests, "
                    "besides the page's own origin.  JSON list in the env var.",
    )
    frame_ancestors: list[str] = Field(
        default_factory=lambda: ["'self'"],
        description="CSP frame-ancestors: who may embed the page in a frame (e.g. the host's origin).",
    )
    max_token_ttl_s: float = Field(default=3600.0, gt=0, description="Host tokens living longer than this "
                                                                    "(exp - iat) are refused.")
    docs: bool = Field(default=True, description="Serve /docs and /openapi.json (behind admin auth when a "
                                                 "secret is set).")
    worker_id: str = Field(
        default="", pattern=r"^[a-z0-9]{0,16}$",
        description="Short name of this worker; prefixes session tokens so a proxy can route them (sticky).",
    )
    max_text_sessions: int = Field(
        default=32, ge=1,
        description="REST chat and websocket text sessions; they do not take live (WebRTC) slots.  When full, the "
                    "least recently used idle REST chat is evicted.",
    )
    rate_offer_per_min: float = Field(default=20.0, ge=0, description="New sessions (/offer, /ws) per client "
                                                                      "per minute (0: no limit).")
    rate_chat_per_min: float = Field(default=60.0, ge=0, description="/api/chat calls per client per minute.")
    rate_analyze_per_min: float = Field(default=10.0, ge=0, description="/api/analyze uploads per client per minute.")
    rate_burst: int = Field(default=10, ge=1, description="Requests a client may make at once before the per-minute "
                                                          "rate applies (capped at the rate).")
    max_json_body_kb: float = Field(default=512.0, gt=0, description="Largest request body except uploads (KB); "
                                                                     "enforced while reading.")
    subscriber_queue: int = Field(
        default=1000, ge=10,
        description="Events queued for one websocket (or waiting chat) before it counts as not reading and is "
                    "disconnected (close code 1008).",
    )
    channel_buffer_kb: float = Field(default=1024.0, gt=0, description="Unsent data-channel bytes before the "
                                                                       "peer counts as not reading and is closed.")
    ws_max_message_bytes: int = Field(default=16_384, ge=256, description="Largest websocket message in (1009 "
                                                                          "above it).")
    max_bad_messages: int = Field(default=20, ge=1, description="Malformed messages a connection may send "
                                                                "before it is closed (1008).")
    turn_urls: list[str] = Field(
        default_factory=list,
        description="TURN URLs (e.g. turn:turn.example.org:3478) handed out with short-lived credentials "
                    "derived from turn_secret (coturn's use-auth-secret / TURN REST API).",
    )
    turn_secret: str = Field(default="", repr=False, description="coturn's static-auth-secret.")
    turn_ttl_s: float = Field(default=3600.0, gt=0, description="Lifetime of the TURN credentials handed out.")


@lru_cache(maxsize=1)
def get_web_settings() -> WebSettings:
    return WebSettings()
