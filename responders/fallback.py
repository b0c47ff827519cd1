"""``GuardedResponder``: deadlines and failure → the deterministic template, for direct callers.

The agent's ``ReplyStreamer`` does the same job with events (``fallback_reason`` on the reply); this
wrapper is for code that uses a responder on its own (the LangChain responder in a host, the bench,
scripts).  The inner responder runs in a daemon thread so a hung model cannot block the caller:
no text before ``first_text_timeout_s``, or an exception before any text, gives the template reply;
a failure or ``total_timeout_s`` after some text ends the reply where it is.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from emotion_agent.events import EmotionEstimate
from emotion_agent.protocols import Responder, Turn
from responders.base import open_stream
from responders.template import TemplateResponder

_DONE = object()


class GuardedResponder:
    """Wraps ``inner``; ``last_fallback_reason`` says why the latest reply (if any) fell back or was cut."""

    def __init__(self, inner: Responder, fallback: Responder | None = None, first_text_timeout_s: float = 6.0,
                 total_timeout_s: float = 20.0) -> None:
        if first_text_timeout_s <= 0 or total_timeout_s <= 0:
            raise ValueError("timeouts must be positive")
        self.inner = inner
        self.fallback = fallback or TemplateResponder()
        self.first_text_timeout_s = first_text_timeout_s
        self.total_timeout_s = total_timeout_s
        self.name = getattr(inner, "name", type(inner).__name__)
        self.last_fallback_reason: str | None = None

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None = None) -> Iterator[str]:
        q: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()

        def work() -> None:
            try:
                for delta in open_stream(self.inner, history, estimate, context):
                    if stop.is_set():
                        break
                    q.put(delta)
            except Exception as exc:
                q.put(exc)
            finally:
                q.put(_DONE)

        threading.Thread(target=work, name=f"guarded-{self.name}", daemon=True).start()
        started = time.perf_counter()
        sent = False
        reason: str | None = None
        try:
            while True:
                limit = self.total_timeout_s if sent else self.first_text_timeout_s
                try:
                    item = q.get(timeout=max(0.0, started + limit - time.perf_counter()))
                except queue.Empty:
                    reason = f"{self.name} timed out" + ("" if sent else " before its first text")
                    break
                if item is _DONE:
                    break
                if isinstance(item, Exception):
                    reason = f"{self.name} failed: {type(item).__name__}: {item}"
                    break
                if item:
                    sent = True
                    yield str(item)
        finally:
            stop.set()
        self.last_fallback_reason = reason
        if reason is not None and not sent:
            yield from open_stream(self.fallback, history, estimate, context)
