"""Settings of the web front end (signalling, limits, uploads), overridable by ``EMOTION_AGENT_*`` env vars.

Kept apart from ``emotion_agent.settings.Settings`` (models and perception) so the web layer can change
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
    chat_session_ttl_s: float = Field(default=600.0, gt=0, description="A REST chat session idle this long is closed.")
    chat_reply_timeout_s: float = Field(default=120.0, gt=0, description="/api/chat waits this long for the reply.")
    media_timeout_s: float = Field(
        default=15.0, gt=0,
        description="A peer whose media stops arriving for this long (after it started) is closed: the "
                    "client vanished.  ICE consent would notice too, but only after ~30 s.",
    )
    connect_timeout_s: float = Field(
        default=20.0, gt=0, description="A peer not connected this long after its offer is closed.")
    event_backlog: int = Field(default=500, ge=1, description="Events kept for a subscriber that has not attached yet.")


@lru_cache(maxsize=1)
def get_web_settings() -> WebSettings:
    return WebSettings()
