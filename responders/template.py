"""Deterministic replies: the fallback when a model is missing, fails or is too slow.

A reply is chosen from a few per label by a stable hash (BLAKE2b, not Python's salted ``hash``) of
the user's latest text, so the same input always gets the same reply, across processes too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from emotion_agent.core.events import EmotionEstimate
from emotion_agent.core.labels import LABELS
from emotion_agent.core.protocols import Turn
from emotion_agent.responders.base import last_user_text

REPLIES: dict[str, tuple[str, ...]] = {
    "neutral": (
        "Thanks for telling me. What's on your mind?",
        "I'm listening. Tell me a bit more?",
        "Got it. How are you feeling about that?",
    ),
    "happy": (
        "That's wonderful to hear! What made it so good?",
        "I love that. You sound really pleased.",
        "That's great news. Enjoy it!",
    ),
    "sad": (
        "I'm sorry, that sounds really hard. I'm here if you want to talk about it.",
        "That sounds heavy. Take your time; I'm listening.",
        "I'm sorry you're going through this. What would help right now?",
    ),
    "angry": (
        "I can hear how frustrating this is. Let's see what we can do about it.",
        "That sounds really annoying, and it makes sense to be upset.",
        "I understand why that would make you angry. What would help most?",
    ),
    "fearful": (
        "That sounds worrying. You're not alone with it; let's take it one step at a time.",
        "It makes sense to feel anxious about that. What worries you most?",
        "I'm here with you. Would it help to talk it through?",
    ),
    "disgusted": (
        "That sounds really unpleasant. I'm sorry you had to deal with it.",
        "Ugh, I can see why that bothered you.",
        "That would put me off too. What happened next?",
    ),
    "surprised": (
        "Wow, I didn't see that coming either! How do you feel about it?",
        "That's quite a surprise. Tell me more?",
        "Really? That's unexpected. What happened?",
    ),
}

UNSURE: tuple[str, ...] = (
    "Thanks for sharing that. How are you feeling about it?",
    "I'm here and listening. Tell me more about how it's been for you?",
    "That sounds like a lot. How are you doing with it?",
)
"""Used without an estimate or with an uncertain one: acknowledge, don't assert an emotion."""


def stable_index(text: str, n: int) -> int:
    """A process-independent choice in ``range(n)`` from ``text`` (case and spacing ignored)."""
    key = " ".join(text.lower().split()).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") % n


class TemplateResponder:
    """Replies from fixed text per label; never fails on a valid history, takes microseconds."""

    name = "template"

    def __init__(self, replies: Mapping[str, Sequence[str]] | None = None,
                 unsure: Sequence[str] = UNSURE) -> None:
        table = {k: tuple(v) for k, v in (replies or REPLIES).items()}
        missing = [label for label in LABELS if not table.get(label)]
        if missing or not unsure:
            raise ValueError(f"template replies missing for: {missing or ['unsure']}")
        self.replies = table
        self.unsure = tuple(unsure)

    def reply(self, history: Sequence[Turn], estimate: EmotionEstimate | None) -> str:
        text = last_user_text(history)
        if estimate is None or estimate.uncertain:
            options = self.unsure
        else:
            options = self.replies.get(estimate.label, self.unsure)
        return options[stable_index(text, len(options))]

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None = None) -> Iterator[str]:
        """Yields the reply word by word (each delta keeps its leading space)."""
        words = self.reply(history, estimate).split(" ")
        yield words[0]
        for word in words[1:]:
            yield " " + word
