"""The risk screen on the user's words, before any reply, and the conversation's risk level.

Per turn: the screen's verdict (in the executor), then ``ConversationRisk`` (signals across turns).
A turn that is flagged, or that the conversation's signals raise to high or imminent, goes no
further: an ``EscalationFrame`` for the host (and its hook and webhook) and the fixed message for
that severity and kind (``ReplyFrame``) replace the ``UserWords``, so no model reply is generated.
A turn flagged by the classifier alone (``high``, not about someone else) in a conversation not yet at
high gets the direct question (``ask`` in ``safety.responses``) instead of the escalation message, and
the next turn is read as its answer (``ConversationRisk.asked``): a yes escalates with the ``admit`` message, a
brush-off gets the short ``deflect`` message with the resources, a plain no lowers the level one step and
the reply opens with ``ANSWERED_NO`` (and ends with ``DOOR_OPEN``).  For ``FOLLOW_UP_TURNS`` turns after a
crisis message, while the level stays high: an admission ("I'm not ok", "yes I am thinking about it") is an
escalation again with the ``admit`` message; a refusal of the numbers gets ``no_numbers``, a request to stay
``stay``; and a second ``high`` flag within two turns gets ``follow_up`` rather than the same block again.
With ``strict_after_escalation`` (opt-in, ``EMOTION_AGENT_SAFETY_STRICT_AFTER_ESCALATION``), once a
conversation has had an escalation the rest of it is screened at ``strict`` whatever the profile, even after a
plain no or a misread lowered the level (a cover story is how people at risk often answer).
A change of level is reported (``RiskLevelFrame``) with its reason.  A ``concern`` turn goes on to
the reply with ``conversation.check_in`` set (and ``risk_signal``, which the reply's reminder reads).
No message text is logged or kept here.
"""

from __future__ import annotations

import asyncio
import logging

from emotion_agent.agent.alerts import EscalationHook, alert_payload, post_webhook
from emotion_agent.agent.executors import BoundedExecutor
from emotion_agent.agent.pipeline import FrameProcessor, error_text
from emotion_agent.agent.processors.conversation import Conversation
from emotion_agent.core.frames import EscalationFrame, Frame, ReplyFrame, RiskLevelFrame, UserWords
from emotion_agent.core.protocols import ModelSource, RiskVerdict, Turn
from emotion_agent.safety.conversation import (
    ACCUMULATE_FRACTION,
    ADMITTED_REASON,
    ANSWERED_DEFLECT_REASON,
    ANSWERED_NO_REASON,
    ANSWERED_YES_REASON,
    MISREAD_REASON,
    SYMPTOMS_REASON,
    read_follow_up,
)
from emotion_agent.safety.normalise import normalise

log = logging.getLogger(__name__)

FOLLOW_UP_TURNS = 3
"""For this many turns after a crisis message (while the level stays high), an admission, a refusal of the
numbers or a request to stay is answered by the safety layer (``safety.conversation.read_follow_up``)."""


class Safety(FrameProcessor):
    name = "safety"

    def __init__(self, models: ModelSource, executor: BoundedExecutor, conversation: Conversation, *,
                 session_id: str = "", on_escalation: EscalationHook | None = None,
                 webhook_url: str | None = None, strict_after_escalation: bool = False) -> None:
        super().__init__()
        self.models = models
        self.executor = executor
        self.conversation = conversation
        self.session_id = session_id
        self.on_escalation = on_escalation
        self.webhook_url = webhook_url
        self.strict_after_escalation = strict_after_escalation
        self._webhooks: set[asyncio.Task[bool]] = set()

    async def process(self, frame: Frame) -> None:
        if not isinstance(frame, UserWords) or not frame.text.strip():
            await self.push(frame)
            return
        conv = self.conversation
        conv.check_in = conv.risk_signal = conv.misread = conv.answered_no = False
        # In the executor: the first call loads the classifier, and each check runs the encoder.
        # opt-in: after an escalation the rest of the conversation is screened at ``strict``: a later veiled turn
        # ("already got it sorted out in the garage") is far more likely to be risk than in a fresh conversation
        level = "strict" if self.strict_after_escalation and conv.escalations else conv.profile.safety_level
        verdict, norm = await self.executor.run(self._check, frame.text, level)
        update = conv.risk.update(verdict.flagged, verdict.severity, verdict.score, norm, verdict.threshold)
        if update.changed:
            await self.push(RiskLevelFrame(update.level, update.previous, update.reason, frame.turn))
        safety = self.models.get_safety()
        if not verdict.flagged and not update.escalated_by_context:
            follow = None
            if not update.changed and conv.risk.level in ("high", "imminent") \
                    and frame.turn - conv.escalation_turn <= FOLLOW_UP_TURNS:
                follow = read_follow_up(norm, conv.risk.level)
            if follow == "symptoms":  # "I feel rather drowsy and quite cold" after an attempt: an emergency now
                await self._escalate(frame, "conversation", "imminent", safety.message_for("symptoms", "imminent"),
                                     f"conversation: {SYMPTOMS_REASON}", verdict.score)
                return
            if follow == "admit":  # "I'm not ok", "yes I am thinking about it": an escalation again
                await self._escalate(frame, "conversation", conv.risk.level, safety.message_for("admit", "high"),
                                     f"conversation: {ADMITTED_REASON}", verdict.score)
                return
            if follow is not None:  # refuses the numbers, or asks the assistant to stay: no new risk
                if follow == "no_numbers":
                    conv.numbers_refused_turn = frame.turn
                await self._answer(frame, safety.message_for(follow, conv.risk.level), numbers=follow == "stay")
                return
            conv.misread = update.changed and update.reason == MISREAD_REASON
            conv.answered_no = update.changed and update.reason == ANSWERED_NO_REASON
            conv.check_in = not (conv.misread or conv.answered_no) and (
                verdict.severity == "concern" or (update.changed and update.level == "concern"))
            conv.risk_signal = conv.check_in or (
                verdict.score is not None and verdict.threshold is not None
                and verdict.score >= ACCUMULATE_FRACTION * verdict.threshold)
            await self.push(frame)
            return
        asking = verdict.flagged and _ask_first(verdict, update.previous, update.level)
        if verdict.flagged:
            kind, severity, message = verdict.kind, verdict.severity, verdict.message
            rule, score = verdict.matched, verdict.score
            if asking:
                message = safety.message_for("ask", severity)
                conv.risk.asked()
        else:  # raised by the conversation's signals, not by this turn alone
            kind, severity = "conversation", update.level
            key = {ANSWERED_DEFLECT_REASON: "deflect", ANSWERED_YES_REASON: "admit"}.get(update.reason,
                                                                                       "explicit_ideation")
            message = safety.message_for(key, update.level)
            rule, score = f"conversation: {update.reason}", verdict.score
        if update.level == "imminent" and severity != "imminent" and kind not in ("crisis", "abuse", "third_party"):
            severity = "imminent"
            message = safety.message_for(kind, severity)
        fixed = asking or update.reason in (ANSWERED_YES_REASON, ANSWERED_DEFLECT_REASON)
        if not fixed and kind not in ("crisis", "abuse", "third_party") and frame.turn - conv.escalation_turn <= 2 \
                and severity == conv.escalation_severity:
            # a crisis message a turn or two ago: not the same block again
            key = "imminent_follow_up" if severity == "imminent" else \
                "no_numbers" if read_follow_up(norm) == "no_numbers" else "follow_up"
            message = safety.message_for(key, severity)
            if key == "no_numbers":
                conv.numbers_refused_turn = frame.turn
        await self._escalate(frame, kind, severity, message, rule, score)

    async def _escalate(self, frame: UserWords, kind: str, severity: str, message: str, rule: str,
                        score: float | None) -> None:
        """An ``EscalationFrame`` for the host, then ``message`` in place of a generated reply."""
        conv = self.conversation
        conv.escalations += 1
        event = EscalationFrame(kind, severity, "user", message, rule=rule, score=score, turn=frame.turn)
        await self.push(event)
        self._alert(event)
        await self._answer(frame, message, numbers=True)
        conv.escalation_turn, conv.escalation_severity = frame.turn, severity

    async def _answer(self, frame: UserWords, message: str, *, numbers: bool) -> None:
        """``message`` from the safety layer in place of a generated reply (``numbers``: it gives resources)."""
        conv = self.conversation
        label = conv.turn_estimate.label if conv.turn_estimate is not None else None
        conv.history.append(Turn("user", frame.text, label))
        conv.history.append(Turn("assistant", message))
        if numbers:
            conv.resources_turn = frame.turn
        await self.push(ReplyFrame(message, "safety", frame.turn))

    def _check(self, text: str, level: str) -> tuple[RiskVerdict, str]:
        """The screen's verdict and the normalised text the conversation rules read (one executor hop)."""
        return self.models.get_safety().check_user(text, level), normalise(text)

    def _alert(self, event: EscalationFrame) -> None:
        if self.on_escalation is not None:
            try:
                self.on_escalation(self.session_id, event)
            except Exception as exc:  # a host's hook must not take the turn down
                log.warning("on_escalation hook failed: %s", error_text(exc))
        if self.webhook_url:
            task = asyncio.ensure_future(self.executor.run(post_webhook, self.webhook_url,
                                                           alert_payload(self.session_id, event)))
            self._webhooks.add(task)
            task.add_done_callback(self._webhooks.discard)

    async def close(self) -> None:
        if self._webhooks:
            await asyncio.wait(self._webhooks, timeout=5.0)


def _ask_first(verdict: RiskVerdict, previous: str, level: str) -> bool:
    """Whether a flagged turn is answered with the direct question rather than the escalation message:
    the trained classifier alone flagged it (no pattern matched an explicit statement), at ``high``, not
    about someone else, and the conversation was not already at high or imminent."""
    return (verdict.matched in ("classifier", "second_classifier") and verdict.severity == "high"
            and level == "high" and verdict.kind != "third_party" and previous not in ("high", "imminent"))
