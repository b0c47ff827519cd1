"""How the fused emotion reaches a reply model: one place for every responder.

Two forms of conditioning, chosen per model family:

* **System prompt** (``system_prompt`` / ``chat_messages``) for instruction-tuned chat models
  (SmolLM2-Instruct through llama.cpp, any LangChain chat model).  These follow natural-language
  instructions, so the emotion, its confidence, the mood trend and the host's own text go into the
  system message, together with the reply rules (short, warm, no medical advice).  For the offline
  model the per-turn emotion note is a second system message just before the latest user turn
  (``note_last``), after two example exchanges, over a ``sticky_window`` of the dialogue: the prompt
  before the note then stays in llama.cpp's cache from turn to turn.
* **Control prefix** (``control_prefix``) for DialoGPT and T5.  DialoGPT cannot follow instructions;
  the way to condition it (as in the emotion-conditioned seed) is a tag on the user turn, e.g.
  ``"<emotion=sad confidence=0.81> I lost my job"``, which a model fine-tuned on tagged dialogue learns
  to use and an untuned one at least sees as context.  Flan-T5 *is* instruction-tuned, so
  ``t5_input`` gives it a short instruction **and** the tagged dialogue: the instruction helps the
  stock model, the tag keeps the input identical to what an emotion-fine-tuned T5 would be trained on.

An unknown emotion (``estimate is None``: text-only host before scoring, or scoring failed) asks for
a warm, attentive reply and names no emotion.  An *uncertain* estimate (``estimate.uncertain``) is
offered as a possibility to acknowledge gently, never asserted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from emotion_agent.core.events import EmotionEstimate
from emotion_agent.core.protocols import Turn

MAX_HISTORY_TURNS = 6
"""Turns of dialogue kept in a prompt: enough for context, short enough for a 135M model."""

RULES = "Reply in one or two short, warm sentences, like a caring friend. Do not give medical advice."
"""Kept short and mostly positive: a 135M model parrots long lists of "never ..." back to the user
(measured on seven labelled prompts; the safety screen, not the prompt, is what blocks diagnoses)."""

STYLE: dict[str, str] = {
    "neutral": "Be friendly and attentive.",
    "happy": "Share their good mood and be glad with them.",
    "sad": "Comfort them gently and show you understand.",
    "angry": "Stay calm, acknowledge the frustration and do not argue.",
    "fearful": "Reassure them calmly and help them feel safe.",
    "disgusted": "Acknowledge what bothered them without judging.",
    "surprised": "Respond with curiosity to what surprised them.",
}

TRENDS: dict[str, str] = {
    "improving": "Their mood has been improving over the last few turns.",
    "worsening": "Their mood has been getting lower over the last few turns.",
    "steady": "",
}


SMALL_MODEL_EXAMPLES: tuple[dict[str, str], ...] = (
    {"role": "user", "content": "I failed my driving test again."},
    {"role": "assistant", "content": "Oh no, I'm sorry, that's really disappointing. Do you want to talk about "
                                     "what happened?"},
    {"role": "user", "content": "We're going to the beach this weekend!"},
    {"role": "assistant", "content": "That sounds lovely! I hope the weather is great for you."},
)
"""Two example exchanges (one low, one high mood) put between the system prompt and the dialogue for
the 135M offline model.  On nine labelled test prompts they turned rambling, off-topic replies ("as a
dog trainer and emergency respond team member, I can assure you...") into short, on-topic ones; large
chat models (LangChain) do not need them."""


@dataclass(frozen=True)
class ReplyContext:
    """Per-turn extras beside the estimate."""

    mood_trend: str | None = None
    """``improving``, ``worsening`` or ``steady`` (``agent.mood.MoodTracker.trend``)."""
    instructions: str | None = None
    """The host profile's own system text (tone, role)."""

    @classmethod
    def from_mapping(cls, context: Mapping[str, Any] | ReplyContext | None) -> ReplyContext:
        """Accepts the agent's ``{"mood_trend": ..., "instructions": ...}`` dict (extra keys ignored)."""
        if context is None:
            return cls()
        if isinstance(context, ReplyContext):
            return context
        trend, instructions = context.get("mood_trend"), context.get("instructions")
        return cls(str(trend) if trend else None, str(instructions) if instructions else None)


def emotion_sentence(estimate: EmotionEstimate | None) -> str:
    """What the model is told about the user's emotion, in one or two sentences."""
    if estimate is None:
        return "You do not know how the user feels; be warm and attentive."
    label, conf = estimate.label, float(estimate.confidence)
    if estimate.uncertain:
        return (f"The user might be feeling {label}, but this is uncertain (confidence {conf:.2f}): "
                "acknowledge their feelings gently and do not tell them how they feel.")
    if label == "neutral":
        return f"The user seems calm (confidence {conf:.2f}). {STYLE['neutral']}"
    return f"The user seems {label} (confidence {conf:.2f}). {STYLE.get(label, STYLE['neutral'])}"


DEFAULT_PERSONA = "You are a kind, supportive friend."


def fixed_prompt(context: Mapping[str, Any] | ReplyContext | None = None, persona: str = DEFAULT_PERSONA) -> str:
    """The part of the system prompt that stays the same for a host: its text (or ``persona``) and the rules."""
    ctx = ReplyContext.from_mapping(context)
    return " ".join(p.strip() for p in (ctx.instructions or persona, RULES) if p.strip())


def emotion_note(estimate: EmotionEstimate | None, context: Mapping[str, Any] | ReplyContext | None = None) -> str:
    """The per-turn part: the emotion sentence and the mood trend."""
    trend = TRENDS.get(ReplyContext.from_mapping(context).mood_trend or "steady", "")
    return " ".join(p for p in (emotion_sentence(estimate), trend) if p)


def system_prompt(estimate: EmotionEstimate | None, context: Mapping[str, Any] | ReplyContext | None = None,
                  persona: str = DEFAULT_PERSONA) -> str:
    """One system message for chat models: fixed part (host text or persona, rules), then the emotion note."""
    return f"{fixed_prompt(context, persona)} {emotion_note(estimate, context)}"


def recent_turns(history: Sequence[Turn], max_turns: int = MAX_HISTORY_TURNS) -> list[Turn]:
    """The last ``max_turns`` non-empty turns, starting on a user turn when possible."""
    turns = [t for t in history if t.text.strip()][-max_turns:]
    while len(turns) > 1 and turns[0].role != "user":
        turns = turns[1:]
    if not turns or turns[-1].role != "user":
        raise ValueError("history must end with a non-empty user turn")
    return turns


def sticky_window(history: Sequence[Turn], anchor: tuple[str, float] | None, min_turns: int = 3,
                  max_turns: int = 9) -> tuple[list[Turn], tuple[str, float]]:
    """The dialogue window for a model with a prefix cache, and the anchor to pass next time.

    A sliding window changes its first turn every turn, so the whole dialogue is re-read each time.
    This one keeps starting at ``anchor`` (the first turn of the previous window, as (text, t)) while
    the window has at most ``max_turns`` turns, then restarts with the last ``min_turns`` (from a user
    turn): the cached prefix survives two turns out of three.
    """
    turns = [t for t in history if t.text.strip()]
    if not turns or turns[-1].role != "user":
        raise ValueError("history must end with a non-empty user turn")
    start = next((i for i, t in enumerate(turns) if (t.text, t.t) == anchor), None)
    if start is None or len(turns) - start > max_turns:
        start = max(0, len(turns) - min_turns)
        while turns[start].role != "user":
            start += 1
    return turns[start:], (turns[start].text, turns[start].t)


def chat_messages(history: Sequence[Turn], estimate: EmotionEstimate | None,
                  context: Mapping[str, Any] | ReplyContext | None = None,
                  max_turns: int = MAX_HISTORY_TURNS,
                  examples: Sequence[Mapping[str, str]] = (),
                  note_last: bool = False) -> list[dict[str, str]]:
    """OpenAI-style ``[{"role", "content"}]``: system prompt, ``examples``, then the recent dialogue.

    ``note_last=False``: the emotion note ends the one system message (for hosted chat models).
    ``note_last=True``: the system message holds only the fixed part and the note is a second system
    message just before the latest user turn.  Everything before it then stays the same from turn to
    turn, so llama.cpp re-reads only the new turn instead of the whole prompt when the emotion changes
    (measured with SmolLM2-135M on 2 busy cores: prompt tokens cost ≈ 6 ms each; reply quality on nine
    labelled prompts was the same either way, while a note *after* the user turn was much worse).
    """
    turns = recent_turns(history, max_turns)
    if not note_last:
        messages = [{"role": "system", "content": system_prompt(estimate, context)}]
    else:
        messages = [{"role": "system", "content": fixed_prompt(context)}]
    messages += [{"role": m["role"], "content": m["content"]} for m in examples]
    messages += [{"role": t.role, "content": t.text.strip()} for t in turns[:-1]]
    if note_last:
        messages.append({"role": "system", "content": emotion_note(estimate, context)})
    messages.append({"role": "user", "content": turns[-1].text.strip()})
    return messages


def control_prefix(estimate: EmotionEstimate | None) -> str:
    """``"<emotion=sad confidence=0.81> "``; ``"<emotion=unknown> "`` without an estimate;
    an uncertain estimate is marked ``"<emotion=sad? confidence=0.32> "`` so it is not asserted."""
    if estimate is None:
        return "<emotion=unknown> "
    mark = "?" if estimate.uncertain else ""
    return f"<emotion={estimate.label}{mark} confidence={float(estimate.confidence):.2f}> "


def tagged_turns(history: Sequence[Turn], estimate: EmotionEstimate | None,
                 max_turns: int = MAX_HISTORY_TURNS) -> list[str]:
    """Turn texts with the control prefix on the last user turn (DialoGPT input before EOS joining)."""
    turns = recent_turns(history, max_turns)
    texts = [t.text.strip() for t in turns]
    texts[-1] = control_prefix(estimate) + texts[-1]
    return texts


def t5_input(history: Sequence[Turn], estimate: EmotionEstimate | None,
             context: Mapping[str, Any] | ReplyContext | None = None,
             max_turns: int = MAX_HISTORY_TURNS) -> str:
    """One encoder string for (flan-)T5: a short instruction, then the tagged dialogue."""
    turns = recent_turns(history, max_turns)
    lines = [f"{'User' if t.role == 'user' else 'Assistant'}: {t.text.strip()}" for t in turns]
    lines[-1] = f"User: {control_prefix(estimate)}{turns[-1].text.strip()}"
    instruction = ("Write the assistant's next reply: one or two warm sentences. "
                   + emotion_sentence(estimate))
    trend = TRENDS.get(ReplyContext.from_mapping(context).mood_trend or "steady", "")
    return " ".join(filter(None, [instruction, trend])) + "\n" + "\n".join(lines) + "\nAssistant:"


# --- The fine-tuned offline model (SmolLM2-135M-Instruct + the LoRA in responders/weights/) ----------

PROFILE_ROLES: dict[str, str] = {
    "default": "You are a warm companion chatting with the user.",
    "customer_service": "You are a customer-service assistant.",
    "mental_health": "You are a supportive check-in companion.",
    "casual": "You are a friendly, casual chat partner.",
}
"""The fixed system line per profile for the fine-tuned model: it learned each profile's manner from
the corpus (``corpora/dialogue``), so one short role line names it; no rules, no example exchanges."""

TREND_WORDS: dict[str, str] = {"improving": "improving", "worsening": "getting worse", "steady": "steady"}


def profile_of(context: Mapping[str, Any] | ReplyContext | None) -> str:
    """The host profile's name from the agent's context (``"profile"``), else ``default``."""
    if isinstance(context, Mapping):
        name = context.get("profile")
        if isinstance(name, str) and name in PROFILE_ROLES:
            return name
    return "default"


def tuned_label(estimate: EmotionEstimate | None) -> str:
    """The label the fine-tuned model reads: the fused label, or ``uncertain`` (unknown or unsure)."""
    if estimate is None or estimate.uncertain:
        return "uncertain"
    return str(estimate.label)


def tuned_note(label: str, trend: str | None) -> str:
    """The per-turn system line of the fine-tuned model, e.g. ``"User emotion: angry. Mood: getting worse."``."""
    return f"User emotion: {label}. Mood: {TREND_WORDS.get(trend or 'steady', 'steady')}."


def tuned_messages_from(profile: str, turns: Sequence[tuple[str, str]], label: str,
                        trend: str | None) -> list[dict[str, str]]:
    """The fine-tuned model's messages from plain parts (shared by the trainer and the responder):
    the profile's role line, the earlier turns ``(role, text)``, the emotion note, the last user turn."""
    if not turns or turns[-1][0] != "user":
        raise ValueError("turns must end with a user turn")
    messages = [{"role": "system", "content": PROFILE_ROLES.get(profile, PROFILE_ROLES["default"])}]
    messages += [{"role": role, "content": text.strip()} for role, text in turns[:-1]]
    messages.append({"role": "system", "content": tuned_note(label, trend)})
    messages.append({"role": "user", "content": turns[-1][1].strip()})
    return messages


def tuned_messages(history: Sequence[Turn], estimate: EmotionEstimate | None,
                   context: Mapping[str, Any] | ReplyContext | None = None) -> list[dict[str, str]]:
    """Messages for the fine-tuned model from the agent's history window (see ``tuned_messages_from``)."""
    turns = [t for t in history if t.text.strip()]
    if not turns or turns[-1].role != "user":
        raise ValueError("history must end with a non-empty user turn")
    trend = ReplyContext.from_mapping(context).mood_trend
    return tuned_messages_from(profile_of(context), [(t.role, t.text) for t in turns],
                               tuned_label(estimate), trend)
