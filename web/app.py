"""FastAPI app factory: WebRTC signalling, event websocket, chat and clip REST, health, metrics, the page.

Routes (thin; the work is in ``web.signalling`` / ``web.sessions``; the guards in ``web.security``):

- ``POST /offer``  {sdp, type: "offer", profile?, consent?} → {sdp, type: "answer", session_id,
  session_token, consent}.  400 malformed SDP, 503 when ``max_sessions`` live sessions run.  Events go
  out on the data channel the browser opens ("events").
- ``GET /ws/{session_id}`` (websocket; the session token as ``X-Session-Token`` or the subprotocol
  ``token.<value>``) events of an existing session, chat in; ``GET /ws`` a new text-only session.
  Messages in: ``{"type": "chat", "text": ...}``.
- ``POST /api/chat``  {text, session_id?, profile?} → {session_id, session_token (new sessions), emotion,
  reply, ...}; continuing a session needs its token (``X-Session-Token``).
- ``DELETE /api/sessions/{id}`` ends a session and drops its state; ``POST /api/sessions/{id}/consent``
  {face?, voice?} switches camera / microphone analysis (both with the session token).
- ``POST /api/analyze``  multipart ``file`` → the analyze JSON.  413 too large (checked while
  streaming), 415 not media, 422 media that does not decode.
- ``GET /api/config`` (ICE/TURN servers and upload limit for the page), ``GET /healthz``, ``GET /metrics``
  (Prometheus text, aggregates only), ``GET /`` the page.

Creating a session (``/offer``, ``/ws``, ``/api/chat`` without a session, ``/api/analyze``) needs a host
token when a secret is set (anonymous on localhost otherwise); those routes and ``/api/chat`` are rate
limited per client (429).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from emotion_agent.core.settings import Settings, get_settings
from emotion_agent.web import metrics as prom
from emotion_agent.web.config import WebSettings, get_web_settings
from emotion_agent.web.contract import AgentLike
from emotion_agent.web.ratelimit import RateLimiter
from emotion_agent.web.schemas import (
    AnswerOut,
    ChatIn,
    ChatOut,
    ClientConfig,
    ConsentIn,
    ConsentOut,
    ErrorOut,
    HealthOut,
    IceServerOut,
    OfferIn,
)
from emotion_agent.web.security import (
    AuthError,
    BodyLimitMiddleware,
    SecurityMiddleware,
    authenticate_host,
    check_bind,
    client_key,
    install_error_handlers,
    media_error_message,
    require_host,
    session_token_from,
    ws_accept_subprotocol,
)
from emotion_agent.web.sessions import SessionEntry, SessionLimitReached, SessionRegistry, Subscription
from emotion_agent.web.signalling import BadOffer, Signalling
from emotion_agent.web.tokens import HostClaims, same_token, turn_credentials
from emotion_agent.web.uploads import BadUpload, StreamedUpload, UnsupportedUpload, UploadTooLarge
from emotion_agent.web.voice import router as voice_router

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
AgentFactory = Callable[[Settings], AgentLike]
_ERRORS: dict[int | str, dict[str, Any]] = {c: {"model": ErrorOut}
                                             for c in (400, 401, 403, 404, 413, 415, 422, 429, 503, 504)}
UPLOAD_OVERHEAD = 64 * 1024
"""Multipart framing allowed on top of the upload limit."""
PROFILES = ("default", "customer_service", "mental_health", "casual")


def default_agent_factory(settings: Settings) -> AgentLike:
    from emotion_agent.agent import EmotionAwareAgent

    web = get_web_settings()
    # The web layer enforces its own limits (live and text pools); the agent's is only a backstop above them.
    agent: AgentLike = EmotionAwareAgent(settings, max_sessions=web.max_sessions + web.max_text_sessions + 1)
    return agent


class AppState:
    """Everything the routes share; ``app.state.web``."""

    def __init__(self, agent: AgentLike, settings: Settings, web: WebSettings,
                 refused: dict[str, int] | None = None) -> None:
        self.agent = agent
        self.settings = settings
        self.web = web
        self.registry = SessionRegistry(
            web.max_sessions, web.max_text_sessions, web.chat_session_ttl_s, web.worker_id,
            queue_limit=web.subscriber_queue, channel_buffer_bytes=int(web.channel_buffer_kb * 1024),
            max_bad_messages=web.max_bad_messages)
        self.registry.on_forget = self._drop_agent_state
        self.signalling = Signalling(agent, self.registry, settings, web)
        self.analyze_slots = asyncio.Semaphore(web.max_concurrent_analyze)
        self.started = time.monotonic()
        self.offer_ms: list[float] = []
        self.limits = {"offer": RateLimiter(web.rate_offer_per_min, web.rate_burst),
                       "chat": RateLimiter(web.rate_chat_per_min, web.rate_burst),
                       "analyze": RateLimiter(web.rate_analyze_per_min, web.rate_burst)}
        self.refused: dict[str, int] = refused if refused is not None else {}
        self.prometheus = prom.prometheus_registry(self)

    def rate_limit(self, name: str, client: str) -> None:
        """Raise 429 when ``client`` is over the ``name`` rate."""
        wait = self.limits[name].hit(client)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise HTTPException(429, f"too many requests: try again in {retry} s",
                                headers={"Retry-After": str(retry)})

    def _drop_agent_state(self, entry: SessionEntry) -> None:
        drop = getattr(self.agent, "drop_session", None)
        if callable(drop):
            drop(entry.session.id)

    async def new_entry(self, kind: str, profile: str = "default") -> SessionEntry:
        """A started text session (REST chat or websocket), registered.  Raises on the session limit."""
        await self.registry.admit(kind)
        try:
            session = self.agent.new_session(profile)
            await session.start()
        except BaseException:
            self.registry.release(kind)
            raise
        entry = SessionEntry(session, kind, self.web.event_backlog)  # type: ignore[arg-type]
        self.registry.add(entry)
        entry.start_pump()
        return entry

    async def aclose(self) -> None:
        await self.registry.close_all()
        await self.signalling.aclose()
        await self.agent.aclose()


def create_app(agent_factory: AgentFactory | None = None, settings: Settings | None = None,
               web_settings: WebSettings | None = None, bind_host: str | None = None) -> FastAPI:
    """The web app.  ``agent_factory(settings)`` is called once at start-up (tests pass a fake).

    ``bind_host``: the address the server will listen on; anything but loopback without a secret raises
    ``security.InsecureBindError`` (a ``ValueError`` with a one-line message) before anything starts.
    """
    settings = settings or get_settings()
    web = web_settings or get_web_settings()
    if bind_host is not None or web.secret:
        check_bind(bind_host or "127.0.0.1", web)
    factory = agent_factory or default_agent_factory
    refused: dict[str, int] = {}
    upload_limit = int(web.max_upload_mb * 1e6)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = AppState(factory(settings), settings, web, refused)
        app.state.web = state
        try:
            yield
        finally:
            await state.aclose()

    app = FastAPI(title="emotion-agent", lifespan=lifespan, docs_url="/docs" if web.docs else None,
                  redoc_url=None, openapi_url="/openapi.json" if web.docs else None)
    app.add_middleware(BodyLimitMiddleware, limit=int(web.max_json_body_kb * 1024),
                       per_path={"/api/analyze": (upload_limit + UPLOAD_OVERHEAD,
                                                  f"upload over the {web.max_upload_mb:g} MB limit")},
                       counters=refused)
    app.add_middleware(SecurityMiddleware, web=web, counters=refused)  # outermost: runs first
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(voice_router)  # GET /api/voice (web.voice: TTS mode and prosody table)

    def state_of(request: Request | WebSocket) -> AppState:
        state: AppState = request.app.state.web
        return state

    def host_claims(request: Request) -> HostClaims:
        try:
            return require_host(request, web)
        except HTTPException:
            refused["auth"] = refused.get("auth", 0) + 1
            raise

    def own_entry(request: Request, session_id: str) -> SessionEntry:
        """The session ``session_id`` if the request carries its token (401 without one; 404 for an
        unknown session and for a wrong token alike, so ids cannot be probed)."""
        token = session_token_from(request)
        if not token:
            refused["session_token"] = refused.get("session_token", 0) + 1
            raise HTTPException(401, "this session needs its session token (X-Session-Token header)")
        entry = state_of(request).registry.get(session_id)
        if entry is None or not same_token(entry.token, token):
            refused["session_token"] = refused.get("session_token", 0) + 1
            raise HTTPException(404, "unknown or expired session (or not yours); omit session_id to start "
                                     "a new one")
        return entry

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.post("/offer", response_model=AnswerOut, responses=_ERRORS)
    async def offer(body: OfferIn, request: Request) -> AnswerOut:
        state = state_of(request)
        state.rate_limit("offer", client_key(request))
        claims = host_claims(request)
        if claims.profile in PROFILES:
            body = body.model_copy(update={"profile": claims.profile})
        started = time.perf_counter()
        try:
            answer = await state.signalling.answer(body)
        except BadOffer as exc:
            raise HTTPException(400, str(exc)) from None
        except (SessionLimitReached, RuntimeError) as exc:
            raise HTTPException(503, str(exc)) from None
        state.offer_ms = [*state.offer_ms[-199:], (time.perf_counter() - started) * 1000]
        return answer

    @app.post("/api/chat", response_model=ChatOut, responses=_ERRORS)
    async def chat(body: ChatIn, request: Request) -> ChatOut:
        state = state_of(request)
        state.rate_limit("chat", client_key(request))
        token: str | None = None
        if body.session_id:
            entry = own_entry(request, body.session_id)
        else:
            claims = host_claims(request)
            profile = claims.profile if claims.profile in PROFILES else body.profile
            try:
                entry = await state.new_entry("chat", profile)
            except (SessionLimitReached, RuntimeError) as exc:
                raise HTTPException(503, str(exc)) from None
            token = entry.token
        out = await _chat_turn(entry, body.text, state.web.chat_reply_timeout_s)
        out.session_token = token
        return out

    @app.delete("/api/sessions/{session_id}", status_code=204, responses=_ERRORS)
    async def delete_session(session_id: str, request: Request) -> Response:
        entry = own_entry(request, session_id)
        await entry.close("deleted by the user")
        return Response(status_code=204)

    @app.post("/api/sessions/{session_id}/consent", response_model=ConsentOut, responses=_ERRORS)
    async def set_consent(session_id: str, body: ConsentIn, request: Request) -> ConsentOut:
        entry = own_entry(request, session_id)
        entry.set_consent(face=body.face, voice=body.voice)
        return ConsentOut(**entry.consent.as_dict())

    @app.post("/api/analyze", responses=_ERRORS, openapi_extra=_UPLOAD_SCHEMA)
    async def analyze(request: Request) -> dict[str, Any]:
        state = state_of(request)
        state.rate_limit("analyze", client_key(request))
        host_claims(request)
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > upload_limit + UPLOAD_OVERHEAD:  # refuse before reading the body
            raise HTTPException(413, f"upload of {int(length) / 1e6:.1f} MB is over the "
                                     f"{state.web.max_upload_mb:.0f} MB limit")
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise HTTPException(415, "send the clip as multipart/form-data in a field named 'file'")
        path, filename = await _receive_upload(request, upload_limit)
        try:
            async with state.analyze_slots:
                result = await state.agent.analyze_file(path)
        except ValueError as exc:  # MediaDecodeError and friends: media we cannot use
            raise HTTPException(422, media_error_message(exc, filename)) from None
        finally:
            path.unlink(missing_ok=True)
        result["source"] = filename
        return result

    @app.get("/api/config", response_model=ClientConfig)
    async def client_config(request: Request) -> ClientConfig:
        web_ = state_of(request).web
        turn: list[IceServerOut] = []
        if web_.turn_urls and web_.turn_secret:
            with contextlib.suppress(AuthError):  # TURN credentials only for those allowed to open sessions
                authenticate_host(request, web_)
                user, password = turn_credentials(web_.turn_secret, web_.turn_ttl_s)
                turn = [IceServerOut(urls=web_.turn_urls, username=user, credential=password)]
        return ClientConfig(ice_servers=web_.ice_servers, max_upload_mb=web_.max_upload_mb, turn_servers=turn,
                            auth="host-token" if web_.secret else "anonymous")

    @app.get("/healthz", response_model=HealthOut)
    async def healthz(request: Request) -> HealthOut:
        state = state_of(request)
        return HealthOut(sessions=len(state.registry.entries), peers=len(state.registry.peers))

    @app.get("/metrics", responses=_ERRORS)
    async def metrics(request: Request, format: str = "prometheus") -> Response:
        state = state_of(request)
        if web.secret:
            try:
                require_host(request, web, admin=True)
            except HTTPException:
                refused["auth"] = refused.get("auth", 0) + 1
                raise
        if format == "json":
            return JSONResponse(prom.aggregates(state))
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(prom.render(state.prometheus), media_type=CONTENT_TYPE_LATEST)

    @app.websocket("/ws")
    async def ws_new(ws: WebSocket, profile: str = "default") -> None:
        state = state_of(ws)
        await ws.accept(subprotocol=ws_accept_subprotocol(ws))
        if state.limits["offer"].hit(client_key(ws)) > 0:
            await _ws_refuse(ws, "too many new sessions: try again in a minute", 1013)
            return
        try:
            claims = authenticate_host(ws, web)
        except AuthError as exc:
            refused["auth"] = refused.get("auth", 0) + 1
            await _ws_refuse(ws, exc.message, 4000 + exc.status)
            return
        if claims.profile in PROFILES:
            profile = claims.profile
        try:
            entry = await state.new_entry("ws", profile)
        except (SessionLimitReached, RuntimeError, ValueError, KeyError) as exc:
            await _ws_refuse(ws, str(exc), 1013)
            return
        await _serve_ws(ws, entry, owns=True, web=web)

    @app.websocket("/ws/{session_id}")
    async def ws_attach(ws: WebSocket, session_id: str) -> None:
        state = state_of(ws)
        await ws.accept(subprotocol=ws_accept_subprotocol(ws))
        token = session_token_from(ws)
        if not token:
            refused["session_token"] = refused.get("session_token", 0) + 1
            await _ws_refuse(ws, "this session needs its session token (X-Session-Token header or the "
                                 "subprotocol token.<value>)", 4401)
            return
        entry = state.registry.get(session_id)
        if entry is None or not same_token(entry.token, token):
            refused["session_token"] = refused.get("session_token", 0) + 1
            await _ws_refuse(ws, "unknown or closed session (or not yours)", 4404)
            return
        await _serve_ws(ws, entry, owns=False, web=web)

    return app


async def _receive_upload(request: Request, limit: int) -> tuple[Path, str]:
    """Stream the multipart body into a temporary file, at most ``limit`` bytes of it (413 beyond).

    Returns (path, the client's file name).  Malformed bodies are 422, non-media 415.
    """
    upload = StreamedUpload(request.headers.get("content-type", ""), limit)
    try:
        async for chunk in request.stream():
            await asyncio.to_thread(upload.feed, chunk) if len(chunk) > 256 * 1024 else upload.feed(chunk)
        path, _kind, filename = upload.finish()
    except UploadTooLarge as exc:
        upload.discard()
        raise HTTPException(413, str(exc)) from None
    except UnsupportedUpload as exc:
        upload.discard()
        raise HTTPException(415, str(exc)) from None
    except BadUpload as exc:
        upload.discard()
        raise HTTPException(422, str(exc)) from None
    except BaseException:
        upload.discard()
        raise
    return path, filename


_UPLOAD_SCHEMA: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary"}}}}}},
}


async def _chat_turn(entry: SessionEntry, text: str, timeout_s: float) -> ChatOut:
    """Send one typed turn and collect its events until the reply (or an input error)."""
    async with entry.chat_lock:
        entry.touch()
        q = entry.subscribe()
        events: list[dict[str, Any]] = []
        try:
            try:
                await entry.session.send_text(text)
            except RuntimeError as exc:  # closed meanwhile
                raise HTTPException(404, str(exc)) from None
            async with asyncio.timeout(timeout_s):
                while (event := await q.get()) is not None or q.overflowed:
                    if event is None:
                        raise HTTPException(503, "too many events for one reply")
                    events.append(event)
                    if event.get("type") == "reply":
                        break
                    if event.get("type") == "error" and event.get("where") == "send_text" \
                            and "truncated" not in str(event.get("message")):
                        raise HTTPException(422, str(event.get("message")))
        except TimeoutError:
            raise HTTPException(504, f"no reply within {timeout_s:.0f} s") from None
        finally:
            entry.unsubscribe(q)
            entry.touch()
    emotion = next((e for e in reversed(events) if e.get("type") == "emotion"), None)
    reply = next((e for e in reversed(events) if e.get("type") == "reply"), None)
    escalation = next((e for e in events if e.get("type") == "escalation"), None)
    return ChatOut(session_id=entry.id, emotion=emotion, reply=reply.get("text") if reply else None,
                   responder=reply.get("responder") if reply else None, escalation=escalation, events=events)


async def _ws_refuse(ws: WebSocket, message: str, code: int) -> None:
    with contextlib.suppress(Exception):
        await ws.send_text(json.dumps({"type": "error", "message": message, "where": "web"}))
        await ws.close(code=code, reason=message[:120])


async def _serve_ws(ws: WebSocket, entry: SessionEntry, owns: bool, web: WebSettings) -> None:
    """Forward events to ``ws`` and its chat messages to the session until either side ends.

    Bounded: the events wait in a queue of ``subscriber_queue``; a client that lets it fill (it does not
    read) is disconnected with 1008, as is one that sends ``max_bad_messages`` malformed messages; a
    message over ``ws_max_message_bytes`` closes with 1009.
    """
    q: Subscription = entry.subscribe()
    close: list[tuple[int, str]] = []

    async def send() -> None:
        while (event := await q.get()) is not None:
            await ws.send_text(json.dumps(event))
        if q.overflowed:
            close.append((1008, "too slow: events were not being read"))

    async def receive() -> None:
        bad = 0
        while True:
            raw = await ws.receive_text()
            if len(raw) > web.ws_max_message_bytes:
                close.append((1009, "message too big"))
                return
            if not entry.handle_message(raw, from_channel=False):
                bad += 1
                if bad >= web.max_bad_messages:
                    close.append((1008, "too many malformed messages"))
                    return

    tasks = [asyncio.create_task(send(), name=f"web-ws-send-{entry.id}"),
             asyncio.create_task(receive(), name=f"web-ws-recv-{entry.id}")]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, Exception):
                await task
        entry.unsubscribe(q)
        if owns:
            await entry.close("websocket closed")
        code, reason = close[0] if close else (1000, "")
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):  # a client that does not read may never take the close frame
                await ws.close(code=code, reason=reason)
