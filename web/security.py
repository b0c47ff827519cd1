"""The web layer's guards: where anonymous access is allowed, host tokens, Origin checks, security
headers, and error bodies that never crash or leak.

- ``check_bind(host, web)``: serving on anything but loopback without a secret is refused at start-up
  (``InsecureBindError``, one clear line).  As a second line of defence, without a secret every request
  from a non-loopback client address (also one forwarded by a proxy) is refused with 403.
- ``SecurityMiddleware`` (pure ASGI, so it sees websockets too): that check, the Origin allowlist on
  websockets and on every POST/PUT/PATCH/DELETE, admin auth for /docs and /openapi.json when a secret
  is set, and the response headers (CSP with configurable ``frame-ancestors``, ``nosniff``,
  ``Referrer-Policy``, ``Permissions-Policy``, ``Cache-Control: no-store`` on the API).
- ``install_error_handlers(app)``: 422 bodies carry where and what, never the (possibly huge, possibly
  unencodable) input; every ``detail`` is cut to a short, valid-UTF-8 line.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emotion_agent.web.config import WebSettings
from emotion_agent.web.tokens import ANONYMOUS, MIN_SECRET_CHARS, HostClaims, TokenError, verify_host_token

log = logging.getLogger(__name__)

MAX_DETAIL_CHARS = 300
MAX_ECHO_CHARS = 40
"""The most of a client's input a 4xx body may repeat."""
SESSION_TOKEN_HEADER = "x-session-token"
WS_SUBPROTOCOL = "emotion-agent"
DOC_PATHS = ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect")
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class InsecureBindError(ValueError):
    """Serving beyond localhost without a secret."""


# -- where anonymous access is allowed -----------------------------------------------------------


def is_loopback_host(host: str | None) -> bool:
    if host is None:
        return False
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, web: WebSettings) -> None:
    """Refuse to serve on ``host`` when it is reachable from other machines and no secret is set."""
    if web.secret and len(web.secret) < MIN_SECRET_CHARS:
        raise InsecureBindError(f"EMOTION_AGENT_SECRET is too short: use at least {MIN_SECRET_CHARS} random "
                                "characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    if is_loopback_host(host) or web.secret:
        return
    raise InsecureBindError(
        f"refusing to serve on {host!r} without a secret: anyone who can reach it could open sessions. "
        "Set EMOTION_AGENT_SECRET (32+ random characters; the host's backend signs session tokens with it) "
        "and EMOTION_AGENT_ALLOWED_ORIGINS, or bind to 127.0.0.1. See docs/DEPLOYING.md.")


def _client_is_remote(scope: Scope) -> bool:
    """True when the request came from a non-loopback network address.  Non-network transports
    (Unix sockets, in-process test clients) have no IP address and count as local."""
    client = scope.get("client")
    if not client:
        return False
    try:
        return not ipaddress.ip_address(str(client[0]).strip("[]")).is_loopback
    except ValueError:
        return False


def client_key(conn: Request | WebSocket) -> str:
    client = conn.scope.get("client")
    return str(client[0]) if client else "local"


# -- host tokens -------------------------------------------------------------------------------------


def bearer_from(conn: Request | WebSocket) -> str | None:
    """A host token from ``Authorization: Bearer`` or (websockets, which browsers cannot give headers)
    the subprotocol ``bearer.<jwt>``."""
    auth = conn.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return _subprotocol_value(conn, "bearer.")


def session_token_from(conn: Request | WebSocket) -> str | None:
    """A session token from ``X-Session-Token`` or the websocket subprotocol ``token.<value>``."""
    token = conn.headers.get(SESSION_TOKEN_HEADER)
    if token:
        return token.strip()
    return _subprotocol_value(conn, "token.")


def _subprotocol_value(conn: Request | WebSocket, prefix: str) -> str | None:
    if conn.scope.get("type") != "websocket":
        return None
    for proto in conn.scope.get("subprotocols") or ():
        if proto.startswith(prefix):
            return str(proto[len(prefix):]) or None
    return None


def ws_accept_subprotocol(ws: WebSocket) -> str | None:
    """The subprotocol to echo when accepting (browsers require one of those they offered)."""
    offered = ws.scope.get("subprotocols") or []
    return WS_SUBPROTOCOL if WS_SUBPROTOCOL in offered else None


class AuthError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def authenticate_host(conn: Request | WebSocket, web: WebSettings, admin: bool = False) -> HostClaims:
    """The host's permission to open a session (or, ``admin``, to read /metrics and /docs).

    Without a secret: anonymous (localhost only; the middleware refused remote clients already).
    With one: a valid host token whose ``origin`` claim (if any) matches the request's ``Origin``.
    Raises ``AuthError`` (401/403).
    """
    if not web.secret:
        return ANONYMOUS
    token = bearer_from(conn)
    if not token:
        raise AuthError(401, "this server needs a host token: the host page gets one from its backend "
                             "(Authorization: Bearer <token>)")
    try:
        claims = verify_host_token(token, web.secret, web.max_token_ttl_s)
    except TokenError as exc:
        raise AuthError(401, str(exc)) from None
    if admin and not claims.admin:
        raise AuthError(403, "this needs an admin token")
    origin = conn.headers.get("origin")
    if origin and claims.origins and origin.rstrip("/") not in claims.origins:
        raise AuthError(403, "this host token is not valid for this page's origin")
    return claims


def require_host(request: Request, web: WebSettings, admin: bool = False) -> HostClaims:
    try:
        return authenticate_host(request, web, admin)
    except AuthError as exc:
        raise HTTPException(exc.status, exc.message,
                            headers={"WWW-Authenticate": "Bearer"} if exc.status == 401 else None) from None


# -- Origin --------------------------------------------------------------------------------------------


def origin_allowed(origin: str | None, host: str | None, allowed: Iterable[str]) -> bool:
    """No Origin (not a browser): allowed (host tokens and session tokens still apply).  Otherwise the
    page's own origin (Origin's host:port equals the Host header) or one in the allowlist."""
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if origin in {a.rstrip("/") for a in allowed}:
        return True
    if origin == "null" or not host:
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    return parts.netloc.lower() == host.lower() or _default_port_equal(parts.scheme, parts.netloc, host)


def _default_port_equal(scheme: str, netloc: str, host: str) -> bool:
    port = ":443" if scheme == "https" else ":80"
    return netloc.lower() + port == host.lower() or netloc.lower() == host.lower() + port


# -- the middleware ---------------------------------------------------------------------------------


def content_security_policy(web: WebSettings, docs: bool = False) -> str:
    ancestors = " ".join(web.frame_ancestors) or "'none'"
    if docs:  # FastAPI's Swagger UI: inline script and its CDN assets
        return ("default-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; img-src 'self' data: "
                f"https://fastapi.tiangolo.com; frame-ancestors {ancestors}")
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            "media-src 'self' blob:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; "
            f"form-action 'self'; frame-ancestors {ancestors}")


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, web: WebSettings, counters: dict[str, int] | None = None) -> None:
        self.app = app
        self.web = web
        self.counters = counters if counters is not None else {}
        self.csp = content_security_policy(web).encode()
        self.csp_docs = content_security_policy(web, docs=True).encode()

    def _count(self, what: str) -> None:
        self.counters[what] = self.counters.get(what, 0) + 1

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if not self.web.secret and _client_is_remote(scope) and path != "/healthz":
            self._count("remote_anonymous")
            await self._refuse(scope, send, 403, "anonymous access is for localhost only: this server has no "
                                                  "secret configured (see docs/DEPLOYING.md)")
            return
        unsafe = kind == "websocket" or scope.get("method", "GET") in UNSAFE_METHODS
        if unsafe and not origin_allowed(headers.get("origin"), headers.get("host"), self.web.allowed_origins):
            self._count("origin")
            await self._refuse(scope, send, 403, "origin not allowed")
            return
        if kind == "http" and path in DOC_PATHS and self.web.secret:
            try:
                authenticate_host(Request(scope), self.web, admin=True)
            except AuthError as exc:
                self._count("auth")
                await self._refuse(scope, send, exc.status, exc.message)
                return
        if kind == "websocket":
            await self.app(scope, receive, send)
            return
        csp = self.csp_docs if path in DOC_PATHS else self.csp
        api = not (path == "/" or path.startswith("/static/"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"content-security-policy", csp), (b"x-content-type-options", b"nosniff"),
                         (b"referrer-policy", b"no-referrer"),
                         (b"permissions-policy", b"camera=(self), microphone=(self), geolocation=()"),
                         (b"cross-origin-opener-policy", b"same-origin")]
                if api:
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, scope: Scope, send: Send, status: int, message: str) -> None:
        if scope["type"] == "websocket":  # before accept: the server answers the handshake with 403
            await send({"type": "websocket.close", "code": 4000 + status, "reason": message[:120]})
            return
        body = json.dumps({"detail": message}).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": body})


# -- request body limits ------------------------------------------------------------------------------


class BodyTooLarge(Exception):
    """Raised from ``receive`` once a request body passes its limit."""


class BodyLimitMiddleware:
    """Request bodies over ``limit`` bytes (``per_path`` overrides) get 413, checked while the body streams
    in, so a chunked body without Content-Length is stopped too: the app never reads past the limit."""

    def __init__(self, app: ASGIApp, limit: int, per_path: dict[str, tuple[int, str]] | None = None,
                 counters: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.per_path = per_path or {}
        self.counters = counters if counters is not None else {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit, message = self.per_path.get(scope.get("path", ""),
                                           (self.limit, f"request body over the {self.limit / 1e3:.0f} KB limit"))
        length = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
        if length is not None and length.isdigit() and int(length) > limit:
            await self._too_large(send, message)
            return
        seen = 0
        over = False
        started = False

        async def limited_receive() -> Message:
            nonlocal seen, over
            if over:
                raise BodyTooLarge
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    over = True
                    raise BodyTooLarge
            return msg

        async def guarded_send(msg: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the app's answer to the cut-off body is replaced by the 413 below
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not over or started:
                raise
        if over and not started:
            await self._too_large(send, message)

    async def _too_large(self, send: Send, message: str) -> None:
        self.counters["body_too_large"] = self.counters.get("body_too_large", 0) + 1
        body = json.dumps({"detail": message}).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


# -- errors ---------------------------------------------------------------------------------------


def clean_text(text: Any, limit: int = MAX_DETAIL_CHARS) -> str:
    """``text`` as one short line of valid UTF-8 (lone surrogates and control characters replaced)."""
    s = str(text)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    s = s.encode("utf-8", "replace").decode("utf-8")
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "?", s)


def _echo(value: Any) -> str | None:
    if isinstance(value, (str, bytes)):
        text = value if isinstance(value, str) else value.decode("utf-8", "replace")
        return clean_text(text, MAX_ECHO_CHARS)
    if isinstance(value, (int, float, bool)) or value is None:
        return clean_text(repr(value), MAX_ECHO_CHARS)
    return None


def validation_details(errors: Iterable[dict[str, Any]], limit: int = 5) -> list[dict[str, Any]]:
    out = []
    for err in list(errors)[:limit]:
        item: dict[str, Any] = {
            "loc": [clean_text(p, 40) if isinstance(p, str) else p for p in err.get("loc", ())][:6],
            "msg": clean_text(err.get("msg", "invalid"), 200),
            "type": clean_text(err.get("type", "value_error"), 40),
        }
        echo = _echo(err.get("input")) if "input" in err else None
        if echo is not None and err.get("type") != "json_invalid":
            item["input_prefix"] = echo
        out.append(item)
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_details(exc.errors())}, status_code=422)

    @app.exception_handler(HTTPException)
    async def on_http(_request: Request, exc: HTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail, default=str)
        return JSONResponse({"detail": clean_text(detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))


# -- user-facing media errors ------------------------------------------------------------------------

_MEDIA_MESSAGES = (
    ("file is empty", "the file is empty"),
    ("no audio or video stream", "it has no audio or video"),
    ("no audio track", "it has no audio track (analysis needs speech)"),
    ("not a readable media file", "it is not a readable audio or video file"),
    ("corrupt media", "the file is damaged or truncated"),
    ("no decodable samples", "its audio is damaged or truncated"),
    ("nothing could be decoded", "nothing in it could be decoded"),
    ("not utf-8", "the text file is not UTF-8"),
    ("empty text", "there is no text to analyze"),
)


def media_error_message(exc: BaseException, filename: str) -> str:
    """A one-line message for a clip we cannot analyze: what is wrong in the user's terms, never the
    decoder's own text (errno numbers, paths)."""
    text = str(exc).lower()
    name = clean_text(filename or "upload", 80)
    for needle, message in _MEDIA_MESSAGES:
        if needle in text:
            return f"could not analyze {name}: {message}"
    return f"could not analyze {name}: the file could not be decoded as audio or video"
