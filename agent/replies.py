"""Streaming a reply out of a synchronous responder without blocking the event loop.

The responder's ``stream()`` runs in the executor; deltas cross to the loop through a queue.  A
first-text deadline and a total deadline switch to the deterministic template responder, and every
delta is screened by the safety policy before it is sent (an unsafe reply is cut and replaced).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from agent.components import Components
from agent.executors import BoundedExecutor
from agent.metrics import StageTimes
from agent.mood import MoodTracker
from agent.profiles import Profile
from agent.wire import EscalationMsg, ReplyDeltaMsg, ReplyMsg, Wire
from emotion_agent.events import EmotionEstimate
from emotion_agent.protocols import Responder, Turn

FIRST_TEXT_TIMEOUT_S = 6.0
TOTAL_TIMEOUT_S = 20.0
_DONE = object()


class ReplyStreamer:
    def __init__(self, components: Components, executor: BoundedExecutor, stage_times: StageTimes,
                 emit: Callable[[Wire], None], first_text_timeout_s: float = FIRST_TEXT_TIMEOUT_S,
                 total_timeout_s: float = TOTAL_TIMEOUT_S) -> None:
        self.components = components
        self.executor = executor
        self.stage_times = stage_times
        self.first_text_timeout_s = first_text_timeout_s
        self.total_timeout_s = total_timeout_s
        self._emit = emit

    def escalation(self, verdict: Any, source: str) -> EscalationMsg:
        return EscalationMsg(kind=str(verdict.kind), source=source, message=verdict.message)

    def fixed_reply(self, text: str, turn_no: int, responder: str) -> str:
        self._emit(ReplyMsg(text=text, responder=responder, turn=turn_no))
        return text

    async def stream(
        self,
        history: Sequence[Turn],
        estimate: EmotionEstimate | None,
        mood: MoodTracker,
        profile: Profile,
        turn_no: int,
        t0: float,
        prefix: str,
        on_escalation: Callable[[], None] | None = None,
    ) -> str:
        emit = self._emit
        safety = self.components.get_safety()
        context = {"mood_trend": mood.trend(), "instructions": profile.instructions}
        fallback_reason: str | None = None
        try:
            responder = self.components.get_responder()
        except Exception as exc:
            responder, fallback_reason = _template(), f"responder unavailable: {exc}"
        text, reason, first_at = await self._run(responder, history, estimate, context, turn_no, emit, safety,
                                                 profile, t0, prefix)
        fallback_reason = fallback_reason or reason
        name = getattr(responder, "name", type(responder).__name__)
        if reason is not None and reason.startswith("unsafe"):
            self._emit(EscalationMsg(kind="unsafe_reply", source="reply", message=reason))
            if on_escalation is not None:
                on_escalation()
        if reason is not None and not text:
            fallback = _template()
            text = "".join(fallback.stream(history, estimate))
            name = fallback.name
            if first_at is None:
                self.stage_times.add(f"{prefix}_to_first_reply", (time.perf_counter() - t0) * 1000)
            emit(ReplyDeltaMsg(text=text, turn=turn_no))
        if profile.checkin_questions and reason is None:
            question = profile.checkin_questions[(turn_no - 1) % len(profile.checkin_questions)]
            if question not in text:
                addition = (" " if text else "") + question
                text += addition
                emit(ReplyDeltaMsg(text=addition, turn=turn_no))
        emit(ReplyMsg(text=text, responder=name, turn=turn_no, fallback_reason=fallback_reason))
        self.stage_times.add(f"{prefix}_to_reply", (time.perf_counter() - t0) * 1000)
        return text

    async def _run(self, responder: Responder, history: Sequence[Turn], estimate: EmotionEstimate | None,
                   context: dict[str, Any], turn_no: int, emit: Callable[[Wire], None], safety: Any,
                   profile: Profile, t0: float, prefix: str) -> tuple[str, str | None, float | None]:
        """Returns (text sent, fallback reason or None, time of first text)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()
        kwargs = {"context": context} if _accepts_context(responder) else {}

        def work() -> None:
            try:
                for delta in responder.stream(history, estimate, **kwargs):
                    if stop.is_set():
                        break
                    loop.call_soon_threadsafe(queue.put_nowait, delta)
            except Exception as exc:
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)

        started = time.perf_counter()
        task = asyncio.ensure_future(self.executor.run(work))
        text, reason, first_at = "", None, None
        deadline = started + self.total_timeout_s
        try:
            while True:
                limit = (started + self.first_text_timeout_s) if first_at is None else deadline
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=max(0.0, limit - time.perf_counter()))
                except TimeoutError:
                    reason = "responder timed out" + (" before its first text" if first_at is None else "")
                    break
                if item is _DONE:
                    break
                if isinstance(item, Exception):
                    reason = f"responder failed: {type(item).__name__}: {item}"
                    break
                candidate = text + str(item)
                verdict = safety.check_reply(candidate)
                if verdict.flagged:
                    reason = f"unsafe reply screened ({verdict.kind})"
                    text = ""
                    break
                if first_at is None:
                    first_at = time.perf_counter()
                    self.stage_times.add("responder_first", (first_at - started) * 1000)
                    self.stage_times.add(f"{prefix}_to_first_reply", (first_at - t0) * 1000)
                text = candidate
                emit(ReplyDeltaMsg(text=str(item), turn=turn_no))
        finally:
            stop.set()
            if task.done():
                task.exception() if not task.cancelled() else None
            else:
                task.add_done_callback(lambda t: t.cancelled() or t.exception())
        if reason is None:
            self.stage_times.add("responder_full", (time.perf_counter() - started) * 1000)
        return text.strip() if reason is None else text, reason, first_at


def _template() -> Responder:
    from responders.template import TemplateResponder

    return TemplateResponder()


def _accepts_context(responder: Responder) -> bool:
    try:
        return "context" in inspect.signature(responder.stream).parameters
    except (TypeError, ValueError):
        return False
