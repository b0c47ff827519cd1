"""The server's live sessions: one ``SessionEntry`` per user session (WebRTC peer, websocket or REST chat).

An entry owns its session, its peer connection and media consumers (if any), and one pump task that
reads ``session.events()`` and fans each event out to the "events" data channel and to queue
subscribers (websockets, a waiting ``/api/chat``).  Events sent before anyone listens are kept (up to
``backlog``) and handed to the first listener.  ``close()`` is idempotent and tears down in order:
media consumers, session (which emits its summary), pump, peer connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from pydantic import ValidationError

from perception.live import LiveMedia
from web.contract import SessionLike
from web.schemas import DataChannelChat

log = logging.getLogger(__name__)

Kind = Literal["webrtc", "ws", "chat"]
PUMP_DRAIN_S = 5.0
"""How long close() waits for the session's last events (the summary) to be forwarded."""


class SessionLimitReached(RuntimeError):
    """All session slots are taken."""


class SessionEntry:
    def __init__(self, session: SessionLike, kind: Kind, backlog: int = 500, pc: Any = None,
                 media: LiveMedia | None = None) -> None:
        self.session = session
        self.id: str = session.id
        self.kind = kind
        profile = getattr(session, "profile", "default")
        self.profile: str = str(getattr(profile, "name", profile))  # agent.Session holds a Profile
        self.pc = pc
        self.media = media
        self.created = time.monotonic()
        self.last_used = self.created
        self.last_metrics: dict[str, Any] | None = None
        self.event_counts: dict[str, int] = {}
        self.close_reason: str | None = None
        self.chat_lock = asyncio.Lock()
        self._channel: Any = None
        self._subscribers: list[asyncio.Queue[dict[str, Any] | None]] = []
        self._backlog: deque[dict[str, Any]] = deque(maxlen=backlog)
        self._pump: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing: asyncio.Future[None] | None = None
        self.on_closed: Callable[[SessionEntry], None] | None = None

    # -- events out ------------------------------------------------------------------------

    def start_pump(self) -> None:
        if self._pump is None:
            self._pump = asyncio.create_task(self._run_pump(), name=f"web-pump-{self.id}")

    async def _run_pump(self) -> None:
        try:
            async for event in self.session.events():
                self._dispatch(event)
        except Exception as exc:  # a broken event stream ends the session, visibly
            log.exception("event stream of session %s failed", self.id)
            self._dispatch({"type": "error", "message": f"event stream failed: {exc}", "where": "web"})
        finally:
            for q in self._subscribers:
                q.put_nowait(None)

    def _dispatch(self, event: dict[str, Any]) -> None:
        kind = str(event.get("type", "?"))
        self.event_counts[kind] = self.event_counts.get(kind, 0) + 1
        if kind == "metrics":
            self.last_metrics = event
        delivered = self._send_channel(event)
        for q in self._subscribers:
            q.put_nowait(event)
            delivered = True
        if not delivered:
            self._backlog.append(event)

    def _send_channel(self, event: dict[str, Any]) -> bool:
        ch = self._channel
        if ch is None or ch.readyState != "open":
            return False
        try:
            ch.send(json.dumps(event))
        except Exception as exc:  # closed between the check and the send
            log.debug("data channel send failed: %s", exc)
            return False
        return True

    def _flush_backlog(self) -> None:
        while self._backlog and self._send_channel(self._backlog[0]):
            self._backlog.popleft()

    def attach_channel(self, channel: Any) -> None:
        """Use ``channel`` (an aiortc RTCDataChannel labelled "events") for events and incoming chat."""
        self._channel = channel
        channel.on("message", self.handle_message)
        channel.on("open", self._flush_backlog)
        if channel.readyState == "open":
            self._flush_backlog()

    def subscribe(self) -> asyncio.Queue[dict[str, Any] | None]:
        """A queue of every event from now on (plus the backlog, if nobody took it yet); None = ended."""
        q: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        while self._backlog:
            q.put_nowait(self._backlog.popleft())
        if self._pump is not None and self._pump.done():
            q.put_nowait(None)
        self._subscribers.append(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[dict[str, Any] | None]) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(q)

    # -- messages in -----------------------------------------------------------------------

    def handle_message(self, raw: str | bytes) -> None:
        """A message from the browser: ``{"type": "chat", "text": ...}``; anything else gets an error event."""
        self.last_used = time.monotonic()
        try:
            msg = DataChannelChat.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "message"
            self._dispatch({"type": "error", "where": "web",
                            "message": f"bad message ({where}: {first.get('msg')}); "
                                       'expected {"type": "chat", "text": "..."}'})
            return
        if self.session.closed:
            return
        task = asyncio.create_task(self.session.send_text(msg.text), name=f"web-chat-{self.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def closing(self) -> bool:
        return self._closing is not None

    async def close(self, reason: str = "closed") -> None:
        """Tear everything down (idempotent; concurrent callers wait for the first)."""
        if self._closing is not None:
            await asyncio.shield(self._closing)
            return
        self._closing = asyncio.get_running_loop().create_future()
        self.close_reason = reason
        try:
            if self.media is not None:
                await self.media.close()
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(Exception):
                await self.session.close()
            if self._pump is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(self._pump), PUMP_DRAIN_S)
                except (TimeoutError, Exception):
                    self._pump.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await self._pump
            if self.pc is not None:
                with contextlib.suppress(Exception):
                    await self.pc.close()
        finally:
            if self.on_closed is not None:
                self.on_closed(self)
            self._closing.set_result(None)
            log.info("session %s (%s) closed: %s", self.id, self.kind, reason)

    def info(self) -> dict[str, Any]:
        """JSON-ready description for /metrics."""
        return {
            "id": self.id,
            "kind": self.kind,
            "profile": self.profile,
            "age_s": round(time.monotonic() - self.created, 1),
            "connection": getattr(self.pc, "connectionState", None),
            "media": self.media.summary() if self.media is not None else None,
            "events": dict(self.event_counts),
            "session_metrics": self.last_metrics,
        }


class SessionRegistry:
    """The app's entries and peer connections, with the concurrent-session limit."""

    def __init__(self, max_sessions: int) -> None:
        self.max_sessions = max_sessions
        self.entries: dict[str, SessionEntry] = {}
        self.peers: set[Any] = set()
        self._reserved = 0

    def reserve(self) -> None:
        """Claim a slot before the (awaiting) set-up, so concurrent requests cannot overshoot."""
        if len(self.entries) + self._reserved >= self.max_sessions:
            raise SessionLimitReached(
                f"server busy: {self.max_sessions} concurrent sessions is the limit; try again later")
        self._reserved += 1

    def release(self) -> None:
        self._reserved = max(0, self._reserved - 1)

    def add(self, entry: SessionEntry) -> None:
        """Register ``entry`` in a slot taken with ``reserve()``."""
        self.release()
        self.entries[entry.id] = entry
        if entry.pc is not None:
            self.peers.add(entry.pc)
        entry.on_closed = self._forget

    def _forget(self, entry: SessionEntry) -> None:
        if self.entries.get(entry.id) is entry:
            del self.entries[entry.id]
        if entry.pc is not None:
            self.peers.discard(entry.pc)

    def get(self, session_id: str) -> SessionEntry | None:
        entry = self.entries.get(session_id)
        return None if entry is None or entry.closing else entry

    async def sweep(self, chat_ttl_s: float) -> None:
        """Close REST chat sessions idle longer than ``chat_ttl_s``."""
        now = time.monotonic()
        stale = [e for e in self.entries.values() if e.kind == "chat" and now - e.last_used > chat_ttl_s]
        for entry in stale:
            await entry.close("idle")

    async def close_all(self, reason: str = "server shutdown") -> None:
        await asyncio.gather(*(e.close(reason) for e in list(self.entries.values())), return_exceptions=True)
        for pc in list(self.peers):  # peers whose set-up failed half-way
            with contextlib.suppress(Exception):
                await pc.close()
        self.peers.clear()
