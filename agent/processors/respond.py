"""``UserWords`` → a streamed reply (``ReplyDeltaFrame``s, then one ``ReplyFrame``).

The responder's ``stream()`` runs in the executor; deltas cross to the loop through a queue.  A
first-text deadline and a total deadline switch to the deterministic template responder; every
delta is screened by the risk screen before it is sent (an unsafe reply is cut and replaced); an
``Interrupt`` stops generation and marks the reply as interrupted in the history.

The reply guard (``responders.guard``, on unless ``guard=False``) reads every generated reply: text
is sent clause by clause once everything received so far passes (``StreamRelease``), so the first
text waits only for the first clause; on a red flag the reply is generated once more (a different
sampling seed, ``context["attempt"] = 1``, held back until complete and checked), and if that is
flagged too the template answers.  The counts are on ``conversation.guard`` (session metrics).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from emotion_agent.agent.executors import BoundedExecutor
from emotion_agent.agent.pipeline import FrameProcessor
from emotion_agent.agent.processors.conversation import Conversation
from emotion_agent.core.events import EmotionEstimate
from emotion_agent.core.frames import (
    EscalationFrame,
    Frame,
    Interrupt,
    ReplyDeltaFrame,
    ReplyFrame,
    UserWords,
)
from emotion_agent.core.protocols import ModelSource, ProfileResponders, Responder, Turn
from emotion_agent.responders.guard import GuardFlag, ReplyGuard, StreamRelease
from emotion_agent.responders.template import TemplateResponder
from emotion_agent.safety.conversation import without_answer
from emotion_agent.safety.responses import ANSWERED_NO, CONCERN_QUESTION, DOOR_OPEN, MISREAD, REMINDER

FIRST_TEXT_TIMEOUT_S = 6.0
TOTAL_TIMEOUT_S = 20.0
_DONE = object()

REMIND_EVERY = 3
"""While the risk level stays high or imminent, the reminder comes back at least every this many turns."""
_SENTENCE = re.compile(r"[^.!?…]*(?:[.!?…]+[\"')\]]*|$)\s*")


def without_questions(text: str) -> str:
    """``text``'s first statement without its questions: the check-in question takes their place, and a
    reply stays within two sentences (the rubric's limit) once it is added."""
    kept = [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0).strip() and "?" not in m.group(0)]
    return kept[0].strip() if kept else ""


def shortened(text: str) -> str:
    """``text``'s first statement and first question, in their order: a reply the helpline reminder
    follows stays within the rubric's two sentences of its own."""
    sentences = [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0).strip()]
    statement = next((x for x in sentences if "?" not in x), None)
    question = next((x for x in sentences if "?" in x), None)
    return "".join(x for x in sentences if x is statement or x is question).strip()


class Respond(FrameProcessor):
    name = "respond"

    def __init__(self, models: ModelSource, executor: BoundedExecutor,
                 conversation: Conversation, *, enabled: bool = True,
                 first_text_timeout_s: float = FIRST_TEXT_TIMEOUT_S,
                 total_timeout_s: float = TOTAL_TIMEOUT_S, guard: bool | ReplyGuard = True) -> None:
        super().__init__()
        self.guard: ReplyGuard | None = (ReplyGuard() if guard is True else guard) or None
        self._flags: list[GuardFlag] = []
        self.models = models
        self.executor = executor
        self.conversation = conversation
        self.enabled = enabled
        self.first_text_timeout_s = first_text_timeout_s
        self.total_timeout_s = total_timeout_s
        self._stop: threading.Event | None = None
        self._interrupted = False

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, Interrupt) and self._stop is not None:
            self._interrupted = True
            self._stop.set()
        await self.push(frame)
        if not isinstance(frame, UserWords) or not frame.text.strip():
            return
        conv = self.conversation
        estimate = conv.turn_estimate
        conv.history.append(Turn("user", frame.text, estimate.label if estimate else None))
        if not self.enabled:
            return
        text, interrupted = await self._reply(list(conv.history), estimate, frame.turn)
        if text or interrupted:
            conv.history.append(Turn("assistant", text, interrupted=interrupted))

    async def _reply(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
                     turn: int) -> tuple[str, bool]:
        conv = self.conversation
        previous = next((t for t in reversed(history) if t.role == "assistant"), None)
        context = {"mood_trend": conv.mood.trend(), "instructions": conv.profile.instructions,
                   "risk": conv.risk.level, "interrupted": bool(previous and previous.interrupted),
                   "profile": conv.profile.name}
        fallback_reason: str | None = None
        try:
            responder = self.models.get_responder()
        except Exception as exc:
            responder, fallback_reason = TemplateResponder(), f"responder unavailable: {exc}"
        if isinstance(responder, ProfileResponders):
            responder = responder.for_profile(conv.profile.name)
        self._interrupted = False
        # The check-in question is the reply's one question: on a check-in turn the generated reply is
        # held until complete and its own questions are taken out before it is sent (not repeated if
        # one of the last two replies asked it).
        ask = conv.check_in and turn - conv.check_in_turn > 2
        opener = MISREAD if conv.misread else ANSWERED_NO if conv.answered_no else None
        # not after "Okay, no more numbers from me" (the person refused them) until a new escalation
        refused = conv.numbers_refused_turn > 0 and conv.numbers_refused_turn >= conv.escalation_turn
        remind = conv.risk.level in ("high", "imminent") and opener is None and not refused and (
            conv.risk_signal or turn - conv.escalation_turn == 1 or turn - conv.resources_turn >= REMIND_EVERY)
        edit = without_questions if ask else shortened if remind else None
        if conv.answered_no and history and history[-1].role == "user":  # reply to the rest, not to the "no"
            history = [*history[:-1], replace(history[-1], text=without_answer(history[-1].text))]
        if opener is not None:  # "not like that, I meant I'm knackered" / "no lol": own it first, then reply
            await self.push(ReplyDeltaFrame(opener + " ", turn))
        text, reason = await self._run(responder, history, estimate, context, turn, hold_all=ask or remind,
                                       edit=edit)
        if opener is not None:
            text = f"{opener} {text}"
        interrupted, self._interrupted = self._interrupted, False
        if interrupted:
            await self.push(ReplyFrame(text.strip(), responder.name, turn, None, interrupted=True))
            return text.strip(), True
        if self.guard is not None and responder.name != "template" and fallback_reason is None:
            text, reason = await self._guarded(responder, history, estimate, context, turn, text, reason, edit)
        fallback_reason = fallback_reason or reason
        name = responder.name
        if reason is not None and reason.startswith("unsafe"):
            conv.escalations += 1
            await self.push(EscalationFrame("unsafe_reply", "high", "reply", reason, turn=turn))
        if reason is not None and not text:
            fallback = TemplateResponder()
            text = "".join(fallback.stream(history, estimate, context))
            text = edit(text) if edit is not None else text
            name = fallback.name
            await self.push(ReplyDeltaFrame(text, turn))
        extras = []
        if opener is not None:  # the level went down: one short line keeps the door open
            extras.append(DOOR_OPEN)
        if remind:
            # After an escalation: in the next reply, then in any turn that carries a risk signal, and at
            # least every REMIND_EVERY turns; not in every reply (the level itself stays, for the host).
            extras.append(REMINDER)
            conv.resources_turn = turn
        questions = conv.profile.checkin_questions
        if ask:
            extras.append(CONCERN_QUESTION)
            conv.check_in_turn = turn
        elif questions and name == "template" and "?" not in text:  # at most one question per reply
            # Only the template gets the profile's rotating questions: a generative responder asks its
            # own question where it fits (the tuned model learnt when from corpora/dialogue); a
            # canned one after every reply was off-topic in the blind rating.
            extras.append(questions[(turn - 1) % len(questions)])
        for extra in extras:
            if extra not in text:
                addition = (" " if text else "") + extra
                text += addition
                await self.push(ReplyDeltaFrame(addition, turn))
        await self.push(ReplyFrame(text, name, turn, fallback_reason))
        return text, False

    async def _guarded(self, responder: Responder, history: Sequence[Turn], estimate: EmotionEstimate | None,
                       context: dict[str, Any], turn: int, text: str, reason: str | None,
                       edit: Callable[[str], str] | None = None) -> tuple[str, str | None]:
        """After the first try: count it; on a guard hit regenerate once (held back until checked, then
        ``edit``-ed like the first try), then give up to the template (``reason`` set, ``text`` empty)."""
        counts = self.conversation.guard
        if reason is not None and not reason.startswith("reply guard"):
            return text, reason  # failed or timed out: the usual fallback, not the guard's business
        counts.count(self._flags, turn, 0)
        if not self._flags:
            return text, reason
        first = self._flags
        counts.regenerated += 1
        text, reason = await self._run(responder, history, estimate, {**context, "attempt": 1}, turn,
                                       hold_all=True, edit=edit)
        if reason is None or reason.startswith("reply guard"):
            counts.count(self._flags, turn, 1)
        if reason is None:
            return text, None
        if reason.startswith("reply guard"):
            counts.fallbacks += 1
            kinds = sorted({f.kind for f in first} | {f.kind for f in self._flags})
            reason = f"reply guard: {', '.join(kinds)} (regenerated once)"
        return "", reason

    async def _run(self, responder: Responder, history: Sequence[Turn], estimate: EmotionEstimate | None,
                   context: dict[str, Any], turn: int, hold_all: bool = False,
                   edit: Callable[[str], str] | None = None) -> tuple[str, str | None]:
        """Returns (text sent, fallback reason or None); a guard hit is reason ``"reply guard"``
        with its flags in ``self._flags``.  ``hold_all``: send nothing until the reply is complete and
        checked, then send it through ``edit`` (when given)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = self._stop = threading.Event()
        screen = self.models.get_safety()

        def work() -> None:
            try:
                for delta in responder.stream(history, estimate, context):
                    if stop.is_set():
                        break
                    loop.call_soon_threadsafe(queue.put_nowait, delta)
            except Exception as exc:
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)

        release = (StreamRelease(self.guard, history)
                   if self.guard is not None and responder.name != "template" else None)
        self._flags = []
        sent = ""

        async def send(piece: str) -> None:
            nonlocal sent
            if piece:
                sent += piece
                await self.push(ReplyDeltaFrame(piece, turn))

        started = time.perf_counter()
        task = asyncio.ensure_future(self.executor.run(work))
        text, reason, first = "", None, True
        deadline = started + self.total_timeout_s
        try:
            while True:
                limit = (started + self.first_text_timeout_s) if first else deadline
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=max(0.0, limit - time.perf_counter()))
                except TimeoutError:
                    reason = "responder timed out" + (" before its first text" if first else "")
                    break
                if item is _DONE:
                    if release is None and hold_all and not self._interrupted:
                        await send(edit(text) if edit is not None else text)
                    elif release is not None and not self._interrupted:
                        rest = release.finish()
                        if release.flags:
                            reason = "reply guard"
                        elif hold_all:
                            await send(edit(release.text) if edit is not None else release.text)
                        else:
                            await send(rest)
                    break
                if isinstance(item, Exception):
                    reason = f"responder failed: {type(item).__name__}: {item}"
                    break
                if self._interrupted:  # barge-in: deltas already queued are not sent
                    break
                candidate = text + str(item)
                verdict = screen.check_reply(candidate)
                if verdict.flagged:
                    reason = f"unsafe reply screened ({verdict.kind})"
                    text = ""
                    break
                first = False
                text = candidate
                if release is None:
                    if not hold_all:
                        await send(str(item))
                    continue
                out = release.feed(str(item))
                if release.flags:
                    reason = "reply guard"
                    break
                if not hold_all:
                    await send(out)
            if (release is not None and reason is not None and not release.flags and not hold_all
                    and not reason.startswith("unsafe")):
                await send(text[len(sent):])  # failed or cut late: keep what was received and passed
        finally:
            if release is not None:
                self._flags = list(release.flags)
            stop.set()
            self._stop = None
            if task.done():
                task.exception() if not task.cancelled() else None
            else:
                task.add_done_callback(lambda t: t.cancelled() or t.exception())
        if (release is not None or hold_all) and (reason is None or not reason.startswith(("reply guard", "unsafe"))):
            text = sent
        return (text.strip() if reason is None else text), reason
