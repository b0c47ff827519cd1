"""The server's live sessions: one ``SessionEntry`` per user session (WebRTC peer, websocket or REST chat).

An entry owns its session, its peer connection and media consumers (if any), and one pump task that
reads ``session.events()`` and fans each event out to the "events" data channel and to queue
subscribers (websockets, a waiting ``/api/chat``).  Events sent before anyone listens are kept (up to
``backlog``) and handed to the first listener.  ``close()`` is idempotent and tears down in order:
media consumers, session (which emits its summary), pump, peer connection.

Bounded everywhere: a subscriber's queue holds at most ``queue_limit`` events; one that falls that far
behind is cut off (``Subscription.overflowed``; its websocket is closed with 1008) and its queue freed.
A data channel whose unsent bytes pass ``channel_buffer_bytes`` closes its session the same way.  Each
entry has a secret ``token`` (``web.tokens``), and the registry keeps two pools: live WebRTC sessions
(``max_sessions``) and text sessions (REST chat and websocket, ``max_text_sessions``), so REST chats never
take a live slot; an idle REST chat is closed by its own timer after ``chat_ttl_s``.
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

from emotion_agent.perception.live import LiveMedia
from emotion_agent.web.contract import SessionLike
from emotion_agent.web.privacy import Consent, forget_faces
from emotion_agent.web.schemas import DataChannelChat
from emotion_agent.web.tokens import new_session_token
from emotion_agent.web.voice import handle_voice_message

log = logging.getLogger(__name__)

Kind = Literal["webrtc", "ws", "chat"]
PUMP_DRAIN_S = 5.0
"""How long close() waits for the session's last events (the summary) to be forwarded."""


MAX_PENDING_CHATS = 4
"""Typed messages from one client waiting for the session at once; more get an error event."""


class SessionLimitReached(RuntimeError):
    """All session slots are taken."""


def pool_of(kind: str) -> str:
    return "live" if kind == "webrtc" else "text"


class Subscription(asyncio.Queue[dict[str, Any] | None]):
    """A subscriber's bounded queue; ``overflowed`` when it fell ``maxsize`` events behind and was cut off."""

    overflowed = False


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
        self.token = ""
        """The session's secret; set by ``SessionRegistry.add``."""
        self.consent = Consent()
        self.queue_limit = 1000
        self.channel_buffer_bytes = 1 << 20
        self.max_bad_messages = 20
        self.bad_messages = 0
        self.slow_readers = 0
        self.on_slow: Callable[[SessionEntry, str], None] | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._channel: Any = None
        self._subscribers: list[Subscription] = []
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
            for q in list(self._subscribers):
                try:
                    q.put_nowait(None)
                except asyncio.QueueFull:
                    self._cut_off(q)

    def _dispatch(self, event: dict[str, Any]) -> None:
        kind = str(event.get("type", "?"))
        self.event_counts[kind] = self.event_counts.get(kind, 0) + 1
        if kind == "metrics":
            self.last_metrics = event
        delivered = self._send_channel(event)
        for q in list(self._subscribers):
            delivered = True
            try:
                q.put_nowait(event)
            except asyncio.QueueFull:
                self._cut_off(q)
        if not delivered:
            self._backlog.append(event)

    def _cut_off(self, q: Subscription) -> None:
        """``q`` fell ``queue_limit`` events behind: free its queue and end it (its reader closes)."""
        self.unsubscribe(q)
        self.slow_readers += 1
        q.overflowed = True
        while not q.empty():
            q.get_nowait()
        q.put_nowait(None)
        log.warning("session %s: a subscriber fell %d events behind and was disconnected", self.id, self.queue_limit)

    def _send_channel(self, event: dict[str, Any]) -> bool:
        ch = self._channel
        if ch is None or ch.readyState != "open":
            return False
        if getattr(ch, "bufferedAmount", 0) > self.channel_buffer_bytes:
            self.slow_readers += 1
            self._channel = None
            if self.on_slow is not None:
                self.on_slow(self, "client not reading its events (data channel buffer full)")
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

    def subscribe(self) -> Subscription:
        """A bounded queue of every event from now on (plus the backlog, if nobody took it yet); None =
        ended (check ``overflowed`` to tell a reader that fell behind)."""
        q = Subscription(maxsize=self.queue_limit + 1)  # +1: room for the end marker
        while self._backlog and q.qsize() < self.queue_limit:
            q.put_nowait(self._backlog.popleft())
        self._backlog.clear()
        if self._pump is not None and self._pump.done():
            q.put_nowait(None)
        self._subscribers.append(q)
        return q

    def unsubscribe(self, q: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(q)

    # -- messages in -----------------------------------------------------------------------

    def handle_message(self, raw: str | bytes, from_channel: bool = True) -> bool:
        """A message from the browser: ``{"type": "chat", "text": ...}``; anything else gets an error event.

        Returns False for a bad message.  On the data channel, ``max_bad_messages`` of them end the
        session (a websocket counts its own and closes itself).
        """
        self.touch()
        voice = handle_voice_message(self.session, raw, self._tasks)  # speech_out / voice (web.voice)
        if voice is not None:
            if not voice:
                self._bad_message("bad speech_out / voice message", from_channel)
            return voice
        try:
            msg = DataChannelChat.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "message"
            self._bad_message(f"bad message ({where}: {str(first.get('msg'))[:120]}); "
                              'expected {"type": "chat", "text": "..."}', from_channel)
            return False
        if self.session.closed:
            return True
        pending = sum(t.get_name().startswith("web-chat-") for t in self._tasks)
        if pending >= MAX_PENDING_CHATS:
            self._bad_message("too many messages at once: wait for the reply", from_channel)
            return False
        task = asyncio.create_task(self.session.send_text(msg.text), name=f"web-chat-{self.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    def _bad_message(self, message: str, from_channel: bool) -> None:
        self.bad_messages += 1
        if from_channel and self.bad_messages > self.max_bad_messages:
            if self.bad_messages == self.max_bad_messages + 1 and self.on_slow is not None:
                self.on_slow(self, "too many malformed messages")
            return
        self._dispatch({"type": "error", "where": "web", "message": message})

    def set_consent(self, face: bool | None = None, voice: bool | None = None) -> None:
        """Switch face / voice analysis for this session (the media gate reads it for every frame)."""
        self.consent.update(face=face, voice=voice)
        if not self.consent.face:
            forget_faces(self.session)

    # -- idle timer (REST chat) ------------------------------------------------------------------

    def touch(self) -> None:
        self.last_used = time.monotonic()

    def arm_idle_timer(self, ttl_s: float, on_idle: Callable[[SessionEntry], None]) -> None:
        """Call ``on_idle(self)`` once the entry has been unused for ``ttl_s`` (checked by a loop timer,
        re-armed for the remaining time whenever it was used meanwhile)."""
        loop = asyncio.get_running_loop()

        def check() -> None:
            self._idle_timer = None
            if self.closing:
                return
            idle = time.monotonic() - self.last_used
            if idle >= ttl_s and not self.chat_lock.locked():
                on_idle(self)
            else:
                self._idle_timer = loop.call_later(max(0.01, ttl_s - idle), check)

        self._idle_timer = loop.call_later(ttl_s, check)

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
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
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
        """JSON-ready description (for the server's own use; /metrics shows aggregates only)."""
        return {
            "kind": self.kind,
            "profile": self.profile,
            "age_s": round(time.monotonic() - self.created, 1),
            "connection": getattr(self.pc, "connectionState", None),
            "media": self.media.summary() if self.media is not None else None,
            "events": dict(self.event_counts),
            "session_metrics": self.last_metrics,
        }


class SessionRegistry:
    """The app's entries and peer connections, in two pools with their own limits.

    ``live``: WebRTC sessions (media, CPU), at most ``max_sessions``.  ``text``: REST chat and websocket
    text sessions, at most ``max_text_sessions``; when that pool is full, the least recently used idle
    REST chat is closed to make room.  REST chats are closed by a timer after ``chat_ttl_s`` unused.
    """

    def __init__(self, max_sessions: int, max_text_sessions: int | None = None, chat_ttl_s: float = 300.0,
                 worker_id: str = "", queue_limit: int = 1000, channel_buffer_bytes: int = 1 << 20,
                 max_bad_messages: int = 20) -> None:
        self.max_sessions = max_sessions
        self.max_text_sessions = max_text_sessions if max_text_sessions is not None else max_sessions
        self.chat_ttl_s = chat_ttl_s
        self.worker_id = worker_id
        self.queue_limit = queue_limit
        self.channel_buffer_bytes = channel_buffer_bytes
        self.max_bad_messages = max_bad_messages
        self.entries: dict[str, SessionEntry] = {}
        self.peers: set[Any] = set()
        self._reserved = {"live": 0, "text": 0}
        self._background: set[asyncio.Task[Any]] = set()
        self.closed_reasons: dict[str, int] = {}
        self.created: dict[str, int] = {}
        self.evicted = 0
        self.slow_readers = 0
        self.on_forget: Callable[[SessionEntry], None] | None = None

    def count(self, pool: str) -> int:
        return sum(pool_of(e.kind) == pool for e in self.entries.values())

    def limit(self, pool: str) -> int:
        return self.max_sessions if pool == "live" else self.max_text_sessions

    def reserve(self, kind: str = "webrtc") -> None:
        """Claim a slot before the (awaiting) set-up, so concurrent requests cannot overshoot."""
        pool = pool_of(kind)
        if self.count(pool) + self._reserved[pool] >= self.limit(pool):
            what = "live (camera/microphone)" if pool == "live" else "text chat"
            raise SessionLimitReached(
                f"server busy: {self.limit(pool)} concurrent {what} sessions is the limit; try again later")
        self._reserved[pool] += 1

    async def admit(self, kind: str) -> None:
        """``reserve`` for a text session, first evicting the least recently used idle REST chat if full."""
        pool = pool_of(kind)
        if pool == "text" and self.count(pool) + self._reserved[pool] >= self.limit(pool):
            idle = [e for e in self.entries.values()
                    if e.kind == "chat" and not e.closing and not e.chat_lock.locked()]
            if idle:
                oldest = min(idle, key=lambda e: e.last_used)
                self.evicted += 1
                await oldest.close("evicted: text session pool full")
        self.reserve(kind)

    def release(self, kind: str = "webrtc") -> None:
        pool = pool_of(kind)
        self._reserved[pool] = max(0, self._reserved[pool] - 1)

    def add(self, entry: SessionEntry) -> None:
        """Register ``entry`` in a slot taken with ``reserve()``; give it its token and limits."""
        self.release(entry.kind)
        entry.token = new_session_token(self.worker_id)
        entry.queue_limit = self.queue_limit
        entry.channel_buffer_bytes = self.channel_buffer_bytes
        entry.max_bad_messages = self.max_bad_messages
        entry.on_slow = self.spawn_close
        self.entries[entry.id] = entry
        self.created[entry.kind] = self.created.get(entry.kind, 0) + 1
        if entry.pc is not None:
            self.peers.add(entry.pc)
        entry.on_closed = self._forget
        if entry.kind == "chat":
            entry.arm_idle_timer(self.chat_ttl_s, lambda e: self.spawn_close(e, "idle"))

    def spawn_close(self, entry: SessionEntry, reason: str) -> None:
        """Close ``entry`` from a callback (not from inside one of its own tasks)."""
        if entry.closing:
            return
        task = asyncio.create_task(entry.close(reason), name=f"web-close-{entry.id}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _forget(self, entry: SessionEntry) -> None:
        if self.entries.get(entry.id) is entry:
            del self.entries[entry.id]
        if entry.pc is not None:
            self.peers.discard(entry.pc)
        reason = _reason_kind(entry.close_reason or "closed")
        self.closed_reasons[reason] = self.closed_reasons.get(reason, 0) + 1
        self.slow_readers += entry.slow_readers
        if self.on_forget is not None:
            self.on_forget(entry)

    def get(self, session_id: str) -> SessionEntry | None:
        entry = self.entries.get(session_id)
        return None if entry is None or entry.closing else entry

    async def sweep(self, chat_ttl_s: float) -> None:
        """Close REST chat sessions idle longer than ``chat_ttl_s`` (the timers do this on their own)."""
        now = time.monotonic()
        stale = [e for e in self.entries.values() if e.kind == "chat" and now - e.last_used > chat_ttl_s]
        for entry in stale:
            await entry.close("idle")

    async def close_all(self, reason: str = "server shutdown") -> None:
        await asyncio.gather(*(e.close(reason) for e in list(self.entries.values())), return_exceptions=True)
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for pc in list(self.peers):  # peers whose set-up failed half-way
            with contextlib.suppress(Exception):
                await pc.close()
        self.peers.clear()


_REASONS = ("idle", "evicted", "deleted", "websocket", "connection", "no media", "not connected", "not reading",
            "malformed", "shutdown", "bad offer")


def _reason_kind(reason: str) -> str:
    """A close reason as one of a few fixed words (metrics labels must stay few)."""
    return next((r.replace(" ", "_") for r in _REASONS if r in reason), "other")
