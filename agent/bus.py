"""Fan-out of a session's wire events to its subscribers, with a bounded backlog for the first.

Each subscriber has its own bounded queue; one that falls ``max_queue`` events behind is dropped
(its iterator ends) rather than growing memory without limit.  Events published before anyone
subscribed are kept (the newest ``backlog``) and given to the first subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

Event = dict[str, Any]


class EventBus:
    def __init__(self, backlog: int = 256, max_queue: int = 1000) -> None:
        self._subscribers: list[asyncio.Queue[Event | None]] = []
        self._backlog: deque[Event] = deque(maxlen=backlog)
        self._max_queue = max_queue
        self._closed = False
        self.dropped_subscribers = 0

    def publish(self, event: Event) -> None:
        if not self._subscribers:
            self._backlog.append(event)
        for q in list(self._subscribers):
            if q.qsize() >= self._max_queue:
                self._subscribers.remove(q)
                self.dropped_subscribers += 1
                q.put_nowait(None)  # ends that subscriber's iterator; the others go on
            else:
                q.put_nowait(event)

    def close(self) -> None:
        self._closed = True
        for q in self._subscribers:
            q.put_nowait(None)

    async def subscribe(self) -> AsyncIterator[Event]:
        q: asyncio.Queue[Event | None] = asyncio.Queue()
        if not self._subscribers:
            while self._backlog:
                q.put_nowait(self._backlog.popleft())
        self._subscribers.append(q)
        if self._closed:
            q.put_nowait(None)
        try:
            while True:
                item = await q.get()
                if item is None:
                    return
                yield item
        finally:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(q)
