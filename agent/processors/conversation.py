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
    """This turn read as low mood (``concern``): the reply adds a gentle check-in question."""
    turn_estimate: EmotionEstimate | None = None
    """The current turn's fused estimate (None until fused, or when nothing could be)."""
    guard: GuardCounts = field(default_factory=GuardCounts)
    """Reply-guard counts: replies checked, flagged, regenerated, replaced by the template."""

    def __post_init__(self) -> None:
        self.history = deque(maxlen=self.history_limit)

    def next_turn(self) -> int:
        self.turns += 1
        return self.turns
