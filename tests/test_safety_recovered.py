"""A crisis told as over (distance in time + recovery + nothing current) is answered as concern."""

from __future__ import annotations

import pytest

from emotion_agent.safety.normalise import normalise
from emotion_agent.safety.recovered import recovered_past
from emotion_agent.safety.screen import SafetyPolicy

# (told as over, the same story with something current): the patterns fire on both
PAIRS = (
    ("i tried to kill myself when i was 19. these days i'm doing well and i volunteer at a helpline",
     "i tried to kill myself when i was 19 and lately i want to kill myself again"),
    ("Two years ago I wanted to kill myself every day. Therapy brought me back and I'm grateful",
     "Two years ago I wanted to kill myself every day. Therapy helped but tonight I want to kill myself"),
    ("used to want to kill myself at school, got help and it's not like that anymore",
     "used to want to kill myself at school, it's not like that anymore, oh wait it's back"),
)


@pytest.mark.parametrize(("over", "current"), PAIRS)
def test_a_crisis_told_as_over_is_concern_not_an_escalation(over: str, current: str) -> None:
    policy = SafetyPolicy()
    for level in ("standard", "strict"):
        assert recovered_past(normalise(over))
        verdict = policy.check_user(over, level)
        assert not verdict.flagged
        assert (verdict.kind, verdict.severity, verdict.matched) == ("concern", "concern", "recovered_past")
        assert not recovered_past(normalise(current))
        assert policy.check_user(current, level).flagged, (level, current)


@pytest.mark.parametrize("text", (
    "I used to cut and therapy helped but it's started again this week",
    "three years ago I survived an attempt. tonight I'm going to finish it",
    "used to think about suicide, still do, doing well at hiding it",
    "in 2019 I took an overdose. I'm okay now but I've been planning the next one",
))
def test_anything_current_keeps_the_normal_path(text: str) -> None:
    assert not recovered_past(normalise(text))
