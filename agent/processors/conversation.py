"""What one conversation remembers between turns, shared by the turn processors."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from emotion_agent.agent.mood import MoodTracker
from emotion_agent.agent.profiles import Profile
from emotion_agent.core.events import EmotionEstimate
from emotion_agent.core.protocols import Turn
from emotion_agent.responders.guard import GuardCounts
from emotion_agent.safety.conversation import ConversationRisk


@dataclass
class Conversation:
    profile: Profile
    history_limit: int = 20
    history: deque[Turn] = field(init=False)
    mood: MoodTracker = field(default_factory=MoodTracker)
    turns: int = 0
    escalations: int = 0
    latest_estimate: EmotionEstimate | None = None
    risk: ConversationRisk = field(default_factory=ConversationRisk)
    """The conversation's risk level across turns (``safety.conversation``)."""
    check_in: bool = False
    """This turn read as low mood (``concern``), or raised the level to ``concern``: the reply makes the
    gentle check-in question its one question (unless one of the last two replies already asked it)."""
    risk_signal: bool = False
    """This turn carries a risk signal below the escalation threshold (concern, or a classifier score
    at least ``ACCUMULATE_FRACTION`` of the threshold)."""
    misread: bool = False
    """This turn says the flagged one was misread ("not like that, I meant I'm knackered"), and the level
    went down for it: the reply owns the misreading, without the reminder or the check-in question."""
    answered_no: bool = False
    """This turn said a plain no to the direct question (``ask``), and the level went down for it: the
    reply opens with ``ANSWERED_NO``, without the reminder or the check-in question."""
    check_in_turn: int = -100
    """The last turn whose reply asked the check-in question."""
    escalation_turn: int = -100
    """The last turn answered by the escalation message."""
    escalation_severity: str = "none"
    """That message's severity: a flag of the same severity within two turns gets the shorter follow-up."""
    resources_turn: int = -100
    """The last turn answered with crisis resources: the escalation message or the reminder."""
    numbers_refused_turn: int = -100
    """The last turn answered with ``no_numbers`` ("Okay, no more numbers from me"): no reminder after it
    until a new escalation."""
    turn_estimate: EmotionEstimate | None = None
    """The current turn's fused estimate (None until fused, or when nothing could be)."""
    guard: GuardCounts = field(default_factory=GuardCounts)
    """Reply-guard counts: replies checked, flagged, regenerated, replaced by the template."""

    def __post_init__(self) -> None:
        self.history = deque(maxlen=self.history_limit)

    def next_turn(self) -> int:
        self.turns += 1
        return self.turns
