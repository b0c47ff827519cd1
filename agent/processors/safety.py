"""The risk screen on the user's words, before any reply, and the conversation's risk level.

Per turn: the screen's verdict (in the executor), then ``ConversationRisk`` (signals across turns).
A turn that is flagged, or that the conversation's signals raise to high or imminent, goes no
further: an ``EscalationFrame`` for the host (and its hook and webhook) and the fixed message for
that severity and kind (``ReplyFrame``) replace the ``UserWords``, so no model reply is generated.
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
from emotion_agent.safety.conversation import ACCUMULATE_FRACTION, MISREAD_REASON
from emotion_agent.safety.normalise import normalise

log = logging.getLogger(__name__)


class Safety(FrameProcessor):
    name = "safety"

    def __init__(self, models: ModelSource, executor: BoundedExecutor, conversation: Conversation, *,
                 session_id: str = "", on_escalation: EscalationHook | None = None,
                 webhook_url: str | None = None) -> None:
        super().__init__()
        self.models = models
        self.executor = executor
        self.conversation = conversation
        self.session_id = session_id
        self.on_escalation = on_escalation
        self.webhook_url = webhook_url
        self._webhooks: set[asyncio.Task[bool]] = set()

    async def process(self, frame: Frame) -> None:
        if not isinstance(frame, UserWords) or not frame.text.strip():
            await self.push(frame)
            return
        conv = self.conversation
        conv.check_in = conv.risk_signal = conv.misread = False
        # In the executor: the first call loads the classifier, and each check runs the encoder.
        verdict, norm = await self.executor.run(self._check, frame.text, conv.profile.safety_level)
        update = conv.risk.update(verdict.flagged, verdict.severity, verdict.score, norm, verdict.threshold)
        if update.changed:
            await self.push(RiskLevelFrame(update.level, update.previous, update.reason, frame.turn))
        if not verdict.flagged and not update.escalated_by_context:
            conv.misread = update.changed and update.reason == MISREAD_REASON
            conv.check_in = not conv.misread and (
                verdict.severity == "concern" or (update.changed and update.level == "concern"))
            conv.risk_signal = conv.check_in or (
                verdict.score is not None and verdict.threshold is not None
                and verdict.score >= ACCUMULATE_FRACTION * verdict.threshold)
            await self.push(frame)
            return
        if verdict.flagged:
            kind, severity, message = verdict.kind, verdict.severity, verdict.message
            rule, score = verdict.matched, verdict.score
        else:  # raised by the conversation's signals, not by this turn alone
            kind, severity = "conversation", update.level
            message = self.models.get_safety().message_for("explicit_ideation", update.level)
            rule, score = f"conversation: {update.reason}", verdict.score
        if update.level == "imminent" and severity != "imminent" and kind not in ("crisis", "abuse", "third_party"):
            severity = "imminent"
            message = self.models.get_safety().message_for(kind, severity)
        conv.escalations += 1
        label = conv.turn_estimate.label if conv.turn_estimate is not None else None
        conv.history.append(Turn("user", frame.text, label))
        event = EscalationFrame(kind, severity, "user", message, rule=rule, score=score, turn=frame.turn)
        await self.push(event)
        self._alert(event)
        conv.history.append(Turn("assistant", message))
        conv.resources_turn = conv.escalation_turn = frame.turn
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
