"""FastAPI app factory: WebRTC signalling, event websocket, chat and clip REST, health, metrics, the page.

Routes (thin; the work is in ``web.signalling`` / ``web.sessions``):

- ``POST /offer``  {sdp, type: "offer", profile?} → {sdp, type: "answer", session_id}.  400 malformed SDP,
  503 when ``max_sessions`` are live.  Events go out on the data channel the browser opens ("events").
- ``GET /ws/{session_id}`` (websocket) events of an existing session, chat in; ``GET /ws`` a new
  text-only session.  Messages in: ``{"type": "chat", "text": ...}``.
- ``POST /api/chat``  {text, session_id?, profile?} → {session_id, emotion, reply, ...}.
- ``POST /api/analyze``  multipart ``file`` → the analyze JSON.  413 too large, 415 not media,
  422 media that does not decode.
- ``GET /api/config`` (ICE servers and upload limit for the page), ``GET /healthz``, ``GET /metrics`` (sessions, per-stage latency percentiles, lag), ``GET /`` the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import UploadFile

from emotion_agent.settings import Settings, get_settings
from web.config import WebSettings, get_web_settings
from web.contract import AgentLike
from web.schemas import AnswerOut, ChatIn, ChatOut, ClientConfig, ErrorOut, HealthOut, OfferIn
from web.sessions import SessionEntry, SessionLimitReached, SessionRegistry
from web.signalling import BadOffer, Signalling
from web.uploads import UnsupportedUpload, UploadTooLarge, safe_suffix, save_limited

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
AgentFactory = Callable[[Settings], AgentLike]
_ERRORS: dict[int | str, dict[str, Any]] = {c: {"model": ErrorOut} for c in (400, 404, 413, 415, 422, 503, 504)}


def default_agent_factory(settings: Settings) -> AgentLike:
    from agent import EmotionAwareAgent

    web = get_web_settings()
    # The web layer enforces its own limit; the agent's is only a backstop above it.
    agent: AgentLike = EmotionAwareAgent(settings, max_sessions=web.max_sessions + 1)
    return agent


class AppState:
    """Everything the routes share; ``app.state.web``."""

    def __init__(self, agent: AgentLike, settings: Settings, web: WebSettings) -> None:
        self.agent = agent
        self.settings = settings
        self.web = web
        self.registry = SessionRegistry(web.max_sessions)
        self.signalling = Signalling(agent, self.registry, settings, web)
        self.analyze_slots = asyncio.Semaphore(web.max_concurrent_analyze)
        self.started = time.monotonic()
        self.offer_ms: list[float] = []

    async def new_entry(self, kind: str, profile: str = "default") -> SessionEntry:
        """A started text session (REST chat or websocket), registered.  Raises on the session limit."""
        self.registry.reserve()
        try:
            session = self.agent.new_session(profile)
            await session.start()
        except BaseException:
            self.registry.release()
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
               web_settings: WebSettings | None = None) -> FastAPI:
    """The web app.  ``agent_factory(settings)`` is called once at start-up (tests pass a fake)."""
    settings = settings or get_settings()
    web = web_settings or get_web_settings()
    factory = agent_factory or default_agent_factory

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = AppState(factory(settings), settings, web)
        app.state.web = state
        try:
            yield
        finally:
            await state.aclose()

    app = FastAPI(title="emotion-agent", lifespan=lifespan)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    def state_of(request: Request | WebSocket) -> AppState:
        state: AppState = request.app.state.web
        return state

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.post("/offer", response_model=AnswerOut, responses=_ERRORS)
    async def offer(body: OfferIn, request: Request) -> AnswerOut:
        state = state_of(request)
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
        await state.registry.sweep(state.web.chat_session_ttl_s)
        if body.session_id:
            entry = state.registry.get(body.session_id)
            if entry is None:
                raise HTTPException(404, f"unknown or expired session {body.session_id!r}; omit session_id "
                                         "to start a new one")
        else:
            try:
                entry = await state.new_entry("chat", body.profile)
            except (SessionLimitReached, RuntimeError) as exc:
                raise HTTPException(503, str(exc)) from None
        return await _chat_turn(entry, body.text, state.web.chat_reply_timeout_s)

    @app.post("/api/analyze", responses=_ERRORS, openapi_extra=_UPLOAD_SCHEMA)
    async def analyze(request: Request) -> dict[str, Any]:
        state = state_of(request)
        limit = int(state.web.max_upload_mb * 1e6)
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit + 64 * 1024:  # refuse before reading the body
            raise HTTPException(413, f"upload of {int(length) / 1e6:.1f} MB is over the "
                                     f"{state.web.max_upload_mb:.0f} MB limit")
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise HTTPException(415, "send the clip as multipart/form-data in a field named 'file'")
        form = await request.form(max_files=1, max_fields=4)
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise HTTPException(422, "no file: send the clip in a multipart field named 'file'")
            try:
                path, _kind = await asyncio.to_thread(save_limited, upload.file, limit,
                                                      safe_suffix(upload.filename))
            except UploadTooLarge as exc:
                raise HTTPException(413, str(exc)) from None
            except UnsupportedUpload as exc:
                raise HTTPException(415, str(exc)) from None
        finally:
            await form.close()
        try:
            async with state.analyze_slots:
                result = await state.agent.analyze_file(path)
        except ValueError as exc:  # MediaDecodeError and friends: media we cannot use
            message = str(exc).replace(str(path), upload.filename or "upload")
            raise HTTPException(422, message) from None
        finally:
            path.unlink(missing_ok=True)
        result["source"] = upload.filename or "upload"
        return result

    @app.get("/api/config", response_model=ClientConfig)
    async def client_config(request: Request) -> ClientConfig:
        web_ = state_of(request).web
        return ClientConfig(ice_servers=web_.ice_servers, max_upload_mb=web_.max_upload_mb)

    @app.get("/healthz", response_model=HealthOut)
    async def healthz(request: Request) -> HealthOut:
        state = state_of(request)
        return HealthOut(sessions=len(state.registry.entries), peers=len(state.registry.peers))

    @app.get("/metrics")
    async def metrics(request: Request) -> dict[str, Any]:
        return _metrics(state_of(request))

    @app.websocket("/ws")
    async def ws_new(ws: WebSocket, profile: str = "default") -> None:
        state = state_of(ws)
        await ws.accept()
        try:
            entry = await state.new_entry("ws", profile)
        except (SessionLimitReached, RuntimeError, ValueError, KeyError) as exc:
            await _ws_refuse(ws, str(exc), 1013)
            return
        await _serve_ws(ws, entry, owns=True)

    @app.websocket("/ws/{session_id}")
    async def ws_attach(ws: WebSocket, session_id: str) -> None:
        state = state_of(ws)
        await ws.accept()
        entry = state.registry.get(session_id)
        if entry is None:
            await _ws_refuse(ws, f"unknown or closed session {session_id!r}", 4404)
            return
        await _serve_ws(ws, entry, owns=False)

    return app


_UPLOAD_SCHEMA: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary"}}}}}},
}


async def _chat_turn(entry: SessionEntry, text: str, timeout_s: float) -> ChatOut:
    """Send one typed turn and collect its events until the reply (or an input error)."""
    async with entry.chat_lock:
        entry.last_used = time.monotonic()
        q = entry.subscribe()
        events: list[dict[str, Any]] = []
        try:
            try:
                await entry.session.send_text(text)
            except RuntimeError as exc:  # closed meanwhile
                raise HTTPException(404, str(exc)) from None
            async with asyncio.timeout(timeout_s):
                while (event := await q.get()) is not None:
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
    emotion = next((e for e in reversed(events) if e.get("type") == "emotion"), None)
    reply = next((e for e in reversed(events) if e.get("type") == "reply"), None)
    escalation = next((e for e in events if e.get("type") == "escalation"), None)
    return ChatOut(session_id=entry.id, emotion=emotion, reply=reply.get("text") if reply else None,
                   responder=reply.get("responder") if reply else None, escalation=escalation, events=events)


async def _ws_refuse(ws: WebSocket, message: str, code: int) -> None:
    with contextlib.suppress(Exception):
        await ws.send_text(json.dumps({"type": "error", "message": message, "where": "web"}))
        await ws.close(code=code, reason=message[:120])


async def _serve_ws(ws: WebSocket, entry: SessionEntry, owns: bool) -> None:
    """Forward events to ``ws`` and its chat messages to the session until either side ends."""
    q = entry.subscribe()

    async def send() -> None:
        while (event := await q.get()) is not None:
            await ws.send_text(json.dumps(event))

    async def receive() -> None:
        while True:
            entry.handle_message(await ws.receive_text())

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
        with contextlib.suppress(Exception):
            await ws.close()


def _metrics(state: AppState) -> dict[str, Any]:
    entries = list(state.registry.entries.values())
    sessions = [e.info() for e in entries]
    lags = [s["media"]["lag_s"] for s in sessions if s["media"]]
    audio_lags = [float(s["session_metrics"]["audio_lag_s"]) for s in sessions
                  if s["session_metrics"] and "audio_lag_s" in s["session_metrics"]]
    stage_ms = _agent_stage_ms(state.agent)
    if stage_ms is None:  # fall back to the newest per-session figures
        latest = [s["session_metrics"] for s in sessions if s["session_metrics"]]
        stage_ms = latest[-1].get("stage_ms", {}) if latest else {}
    offer = sorted(state.offer_ms)
    return {
        "uptime_s": round(time.monotonic() - state.started, 1),
        "sessions": len(entries),
        "max_sessions": state.registry.max_sessions,
        "peers": len(state.registry.peers),
        "by_kind": {k: sum(e.kind == k for e in entries) for k in ("webrtc", "ws", "chat")},
        "stage_ms": stage_ms,
        "track_lag_s": {"max": round(max(lags, default=0.0), 3)},
        "audio_lag_s": {"max": round(max(audio_lags, default=0.0), 3)},
        "offer_ms": {"n": len(offer), "p50": _pct(offer, 50), "p95": _pct(offer, 95)},
        "session_list": sessions,
    }


def _agent_stage_ms(agent: Any) -> dict[str, Any] | None:
    # The real agent shares one StageTimes across sessions: all-session percentiles per stage.
    times = getattr(agent, "stage_times", None)
    summary = getattr(times, "summary", None)
    return summary() if callable(summary) else None


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    idx = min(len(values) - 1, round(q / 100 * (len(values) - 1)))
    return round(values[idx], 2)
