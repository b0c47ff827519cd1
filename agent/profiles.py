"""Host profiles: the tone, safety strictness and turn rules for the two hosts in the brief."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    instructions: str
    """Extra system-prompt text for the responder."""
    safety_level: str = "standard"
    """``standard`` or ``strict`` (see safety.screen)."""
    handoff_after_angry_turns: int | None = None
    """Suggest a human hand-off once this many turns in a row are angry."""
    handoff_message: str = ""
    checkin_questions: tuple[str, ...] = ()
    """Asked in rotation after each template reply without a question (mental-health check-in)."""
    trend_report_every: int | None = None
    """Send a mood trend report every N turns."""


DEFAULT = Profile(
    name="default",
    instructions="You are a warm, attentive conversational partner. Keep replies short.",
)

CUSTOMER_SERVICE = Profile(
    name="customer_service",
    instructions=(
        "You are a customer-service agent. Acknowledge the customer's feelings first, stay calm and "
        "polite, never argue, apologise for inconvenience, and offer a concrete next step. "
        "When the customer is angry, de-escalate: slow down, validate, and focus on resolution."
    ),
    handoff_after_angry_turns=2,
    handoff_message=(
        "I can hear this has been really frustrating. Would you like me to connect you with a "
        "member of our team who can take this further right now?"
    ),
)

MENTAL_HEALTH = Profile(
    name="mental_health",
    instructions=(
        "You are a supportive check-in companion, not a therapist. Listen, reflect feelings back "
        "gently, never diagnose, never give medical or medication advice, and encourage reaching out "
        "to trusted people or professionals when things feel heavy. Keep replies to two sentences."
    ),
    safety_level="strict",
    checkin_questions=(
        "How have you been sleeping lately?",
        "What's one thing that felt okay today, even if small?",
        "Is there someone you've been able to talk to this week?",
        "How is your energy compared with yesterday?",
    ),
    trend_report_every=3,
)

CASUAL = Profile(
    name="casual",
    instructions=(
        "You are a friendly, casual chat partner. Match the user's energy, react to what they tell you "
        "and keep it light and short, one or two sentences."
    ),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (DEFAULT, CUSTOMER_SERVICE, MENTAL_HEALTH, CASUAL)}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}") from None
