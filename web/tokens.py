"""Credentials: per-session tokens, host tokens (signed JWT) and TURN credentials.

- **Session token**: an opaque random string (192 bits) issued when a session is created (with the
  offer's answer or the first chat reply).  Every per-session request must present it
  (``X-Session-Token`` header, or the websocket subprotocol ``token.<value>``).  When the worker has a
  ``worker_id`` the token starts with ``<worker_id>.``, so a reverse proxy can route it to the worker
  that holds the session (sticky routing); the rest is secret.
- **Host token**: a short-lived HS256 JWT the host's backend mints with the server secret, so only
  pages the host serves can open sessions.  Claims: ``aud`` = ``emotion-agent``, ``iat``, ``exp``
  (``exp - iat`` at most ``max_token_ttl_s``), ``origin`` (the page origin allowed to use it, a string
  or a list), optional ``scope`` (``session``, the default, or ``admin`` for /metrics and /docs),
  optional ``profile`` (forces the session profile) and ``sub`` (the host's opaque user reference; not
  stored).  Any JWT library can mint one; ``python -m emotion_agent.web.tokens`` does it here.
- **TURN credentials**: the TURN REST API scheme coturn implements with ``use-auth-secret``:
  username ``<expiry unix time>:<name>``, password ``base64(HMAC-SHA1(secret, username))``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt

AUDIENCE = "emotion-agent"
ALGORITHM = "HS256"
MIN_SECRET_CHARS = 32
SESSION_TOKEN_BYTES = 24
"""192 bits of randomness (the issue asks for at least 128)."""
SCOPES = ("session", "admin")


class TokenError(ValueError):
    """A host token that cannot be used; the message is safe to show to the client."""


def new_session_token(worker_id: str = "") -> str:
    secret = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
    return f"{worker_id}.{secret}" if worker_id else secret


def same_token(expected: str, presented: str | None) -> bool:
    """Constant-time comparison (False for a missing token)."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(expected.encode("utf-8", "replace"), presented.encode("utf-8", "replace"))


@dataclass(frozen=True)
class HostClaims:
    """What a verified host token allows.  ``anonymous`` for localhost without a secret."""

    scope: str = "session"
    origins: tuple[str, ...] = ()
    profile: str | None = None
    subject: str | None = None
    expires: float | None = None
    anonymous: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def admin(self) -> bool:
        return self.anonymous or self.scope == "admin"


ANONYMOUS = HostClaims(scope="admin", anonymous=True)


def mint_host_token(secret: str, origin: str | list[str] | None = None, ttl_s: float = 300.0,
                    scope: str = "session", profile: str | None = None, subject: str | None = None,
                    now: float | None = None) -> str:
    """A host token (what the host's backend does, in Python)."""
    if len(secret) < MIN_SECRET_CHARS:
        raise ValueError(f"the secret must have at least {MIN_SECRET_CHARS} characters")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}")
    iat = int(now if now is not None else time.time())
    claims: dict[str, Any] = {"aud": AUDIENCE, "iat": iat, "exp": iat + int(ttl_s), "scope": scope}
    if origin:
        claims["origin"] = origin
    if profile:
        claims["profile"] = profile
    if subject:
        claims["sub"] = subject
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_host_token(token: str, secret: str, max_ttl_s: float, leeway_s: float = 5.0) -> HostClaims:
    """Check signature, audience, expiry and lifetime; raise ``TokenError`` with a short reason."""
    if len(token) > 4096:
        raise TokenError("invalid host token (too long)")
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=AUDIENCE, leeway=leeway_s,
                            options={"require": ["exp", "iat", "aud"]})
    except jwt.ExpiredSignatureError:
        raise TokenError("host token expired: ask the host page for a new one") from None
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"invalid host token ({_short(exc)})") from None
    try:
        lifetime = float(claims["exp"]) - float(claims["iat"])
    except (TypeError, ValueError):
        raise TokenError("invalid host token (bad exp/iat)") from None
    if lifetime > max_ttl_s:
        raise TokenError(f"host token lives {lifetime:.0f} s, over the {max_ttl_s:.0f} s limit: mint short-lived "
                         "tokens")
    scope = claims.get("scope", "session")
    if scope not in SCOPES:
        raise TokenError("invalid host token (unknown scope)")
    origin = claims.get("origin")
    if isinstance(origin, str):
        origins: tuple[str, ...] = (origin,)
    elif isinstance(origin, list) and all(isinstance(o, str) for o in origin):
        origins = tuple(origin)
    elif origin is None:
        origins = ()
    else:
        raise TokenError("invalid host token (bad origin claim)")
    profile = claims.get("profile")
    return HostClaims(scope=str(scope), origins=tuple(o.rstrip("/") for o in origins),
                      profile=str(profile) if profile else None, subject=claims.get("sub"),
                      expires=float(claims["exp"]), raw=claims)


def turn_credentials(secret: str, ttl_s: float, name: str = "emotion-agent",
                     now: float | None = None) -> tuple[str, str]:
    """(username, password) for coturn's ``use-auth-secret`` (TURN REST API) valid for ``ttl_s``."""
    expiry = int((now if now is not None else time.time()) + ttl_s)
    username = f"{expiry}:{name}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:80]


def main(argv: list[str] | None = None) -> None:
    """``python -m emotion_agent.web.tokens --origin https://shop.example`` prints a host token
    (the secret comes from ``EMOTION_AGENT_SECRET``)."""
    import os

    parser = argparse.ArgumentParser(prog="python -m emotion_agent.web.tokens", description=main.__doc__)
    parser.add_argument("--origin", action="append", default=None,
                        help="page origin allowed to use the token (repeatable)")
    parser.add_argument("--ttl", type=float, default=300.0, help="seconds (default: %(default)s)")
    parser.add_argument("--scope", choices=SCOPES, default="session")
    parser.add_argument("--profile", default=None)
    args = parser.parse_args(argv)
    secret = os.environ.get("EMOTION_AGENT_SECRET", "")
    if not secret:
        parser.error("set EMOTION_AGENT_SECRET")
    origin: str | list[str] | None = args.origin[0] if args.origin and len(args.origin) == 1 else args.origin
    print(mint_host_token(secret, origin, args.ttl, args.scope, args.profile))


if __name__ == "__main__":
    main()
