"""What the Respond processor adds after the model's reply on risky turns: the check-in question (the
reply's one question, not repeated turn after turn) and the crisis reminder (not in every reply)."""

from __future__ import annotations

from typing import Any

from emotion_agent.agent.components import Components
from emotion_agent.agent.executors import BoundedExecutor
from emotion_agent.agent.pipeline import Pipeline
from emotion_agent.agent.processors.conversation import Conversation
from emotion_agent.agent.processors.respond import Respond, shortened, without_questions
from emotion_agent.agent.profiles import MENTAL_HEALTH
from emotion_agent.core.frames import ReplyDeltaFrame, ReplyFrame, UserWords
from emotion_agent.core.settings import Settings
from emotion_agent.responders.template import TemplateResponder
from emotion_agent.safety.responses import CONCERN_QUESTION, REMINDER
from tests.agent_fakes import FakeSafety, FrameLog
from tests.test_guard import Scripted


def test_without_questions_keeps_the_first_statement() -> None:
    assert without_questions("That sounds heavy. What happened? I'm here.") == "That sounds heavy."
    assert without_questions("So you'll look tonight; good plan. Let me know how it goes.") == \
        "So you'll look tonight; good plan."
    assert without_questions("What's the worry?") == ""
    assert without_questions("A long week, and no break in it") == "A long week, and no break in it"
    assert without_questions("Nervous is normal! Is it tomorrow?") == "Nervous is normal!"


async def run_turns(conv: Conversation, responder: Any, turns: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """One reply per (text, conversation fields the safety processor would set for that turn)."""
    comps = Components(settings=Settings(), responder=responder, safety=FakeSafety())  # type: ignore[arg-type]
    executor = BoundedExecutor()
    log = FrameLog()
    chain = Pipeline([Respond(comps, executor, conv), log])
    try:
        for n, (text, fields) in enumerate(turns, 1):
            for key, value in {"check_in": False, "risk_signal": False, **fields}.items():
                setattr(conv, key, value)
            await chain.push(UserWords(n, text, "text", 0.0))
    finally:
        executor.shutdown()
    replies = [r.text for r in log.of(ReplyFrame)]
    streamed = "".join(d.text for d in log.of(ReplyDeltaFrame))
    assert streamed.replace(" ", "") == "".join(replies).replace(" ", "")  # what was sent is the reply
    return replies


async def test_a_check_in_turn_asks_only_the_check_in_question() -> None:
    responder = Scripted("That sounds like a lot to carry. What happened at work?")
    conv = Conversation(MENTAL_HEALTH)
    replies = await run_turns(conv, responder, [
        ("i feel pretty flat this week", {"check_in": True}),
        ("still flat honestly", {"check_in": True}),
        ("work was long", {}),
        ("and i'm tired of feeling like this", {"check_in": True}),
        ("anyway", {"check_in": True}),
    ])
    assert replies[0] == f"That sounds like a lot to carry. {CONCERN_QUESTION}"
    assert replies[0].count("?") == 1
    # the next two replies do not ask it again; the model's own question stays when it is not asked
    assert CONCERN_QUESTION not in replies[1] and CONCERN_QUESTION not in replies[2]
    assert replies[1].endswith("What happened at work?")
    assert replies[3].endswith(CONCERN_QUESTION) and replies[3].count("?") == 1
    assert CONCERN_QUESTION not in replies[4]


async def test_the_template_on_a_check_in_turn_asks_one_question() -> None:
    conv = Conversation(MENTAL_HEALTH)
    (reply,) = await run_turns(conv, TemplateResponder(), [("i feel pretty flat this week", {"check_in": True})])
    assert reply.endswith(CONCERN_QUESTION) and reply.count("?") == 1


async def test_the_reminder_follows_the_escalation_then_signals_and_every_third_turn() -> None:
    responder = Scripted("I'm here with you.")
    conv = Conversation(MENTAL_HEALTH)
    conv.risk.level = "high"
    conv.resources_turn = conv.escalation_turn = 0  # the escalation message answered the turn before these
    replies = await run_turns(conv, responder, [
        ("ok", {}),                                  # 1: the reply right after the escalation
        ("the weather is nice", {}),                 # 2: nothing new
        ("i still feel like a burden", {"risk_signal": True}),  # 3: a signal below the threshold
        ("we had pasta", {}),                        # 4
        ("watched a film", {}),                      # 5
        ("going to bed soon", {}),                   # 6: three turns since the last reminder
    ])
    assert [REMINDER in r for r in replies] == [True, False, True, False, False, True]
    conv.risk.level = "none"
    (after,) = await run_turns(conv, responder, [("all good now", {"risk_signal": True})])
    assert REMINDER not in after


def test_shortened_keeps_one_statement_and_one_question_in_order() -> None:
    assert shortened("That sounds like a good plan. Let me know how it goes.") == "That sounds like a good plan."
    assert shortened("So you're tired. What helps? I'm here. Anything else?") == "So you're tired. What helps?"
    assert shortened("What helps? I'm here.") == "What helps? I'm here."


async def test_a_reply_the_reminder_follows_keeps_two_sentences_of_its_own() -> None:
    responder = Scripted("That sounds like a good plan. I hope it goes well; let me know how you get on.")
    conv = Conversation(MENTAL_HEALTH)
    conv.risk.level = "high"
    conv.resources_turn = conv.escalation_turn = 0
    (reply,) = await run_turns(conv, responder, [("i'll ring my sister tonight", {})])
    assert reply == f"That sounds like a good plan. {REMINDER}"
