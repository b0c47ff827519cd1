"""Deterministic replies: the fallback when a model is missing, fails or is too slow.

A reply is chosen from a few per label by a stable hash (BLAKE2b, not Python's salted ``hash``) of
the user's latest text, so the same input always gets the same reply, across processes too.
"""

from __future__ import annotations

import hashlib
import re
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

SUPPORT_ACK: dict[str, str] = {
    "neutral": "Thanks for getting in touch.",
    "happy": "That's good to hear, thank you.",
    "sad": "I'm sorry this has been such a let-down.",
    "angry": "I'm sorry, I can see why this is so frustrating.",
    "fearful": "I understand this is worrying.",
    "disgusted": "I'm sorry, that really isn't acceptable.",
    "surprised": "I can see that wasn't what you expected.",
}
"""``customer_service`` acknowledgement per label; ``SUPPORT_STEP`` adds the next step."""
UNSURE_ACK = "Thanks for telling me."
SUPPORT_STEP = ("Could you send me the order or account number so I can look into it?",
                "Would you like me to pass this to a colleague who can check it properly?")
"""Before and after the user has given something that looks like a reference (``_REFERENCE``):
a next step that needs no invented facts (issue 13's profile rule)."""

CHECKIN: dict[str, tuple[str, ...]] = {
    "neutral": ("Thanks for checking in. How has today been for you?",),
    "happy": ("That sounds like a good moment. What made the difference?",),
    "sad": ("That sounds really heavy to carry. How are you holding up right now?",),
    "angry": ("That sounds really frustrating, and it makes sense it got to you. What's weighing on you most?",),
    "fearful": ("That sounds worrying, and it makes sense you feel on edge. What's the part that worries you most?",),
    "disgusted": ("That sounds really unpleasant to deal with. How are you feeling about it now?",),
    "surprised": ("That sounds unexpected. How are you feeling about it?",),
}
"""``mental_health``: reflect and ask one gentle question."""

_REFERENCE = re.compile(r"(?i:\b(?:order|ref(?:erence)?|account|case|ticket)\b[^.?!]{0,20}?\d{4,})"
                        r"|#\s?\d{3,}|\b[A-Z]{2,4}[- ]?\d{4,}\b|\b\d{6,}\b")
"""Something that looks like an order, account or case reference in the user's turns."""


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

    def reply(self, history: Sequence[Turn], estimate: EmotionEstimate | None, profile: str = "default") -> str:
        """The reply for this turn; ``customer_service`` and ``mental_health`` get their profile's shape
        (acknowledge + next step; reflect + one gentle question), other profiles the label's table."""
        text = last_user_text(history)
        label = None if estimate is None or estimate.uncertain else str(estimate.label)
        if profile == "customer_service":
            said = " ".join(t.text for t in history if t.role == "user")
            step = SUPPORT_STEP[1] if _REFERENCE.search(said) else SUPPORT_STEP[0]
            return f"{SUPPORT_ACK.get(label, UNSURE_ACK) if label else UNSURE_ACK} {step}"
        if profile == "mental_health":
            options = CHECKIN.get(label, self.unsure) if label else self.unsure
            return options[stable_index(text, len(options))]
        options = self.replies.get(label, self.unsure) if label else self.unsure
        return options[stable_index(text, len(options))]

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None = None) -> Iterator[str]:
        """Yields the reply word by word (each delta keeps its leading space); ``context["profile"]``
        picks the profile's shape."""
        profile = context.get("profile") if isinstance(context, Mapping) else None
        words = self.reply(history, estimate, profile if isinstance(profile, str) else "default").split(" ")
        yield words[0]
        for word in words[1:]:
            yield " " + word
