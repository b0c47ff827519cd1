"""What the structured responders (support, listener, casual) share: the turn they answer and how
their finished reply is streamed."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from emotion_agent.core.protocols import Turn


def user_text(history: Sequence[Turn]) -> str:
    """The latest user turn's text, spacing folded; a clear error when there is none or it is empty."""
    users = [t for t in history if t.role == "user"]
    if not users:
        raise ValueError("no user turn to reply to")
    text = " ".join(users[-1].text.split())
    if not text:
        raise ValueError("the user turn is empty")
    return text


def question_parts(text: str, tag: re.Pattern[str], start: re.Pattern[str]) -> tuple[str, str, bool]:
    """``text`` without a trailing tag (``tag``: "you know", "lol"), its last sentence, and whether that
    sentence asks something (ends with "?" or opens like a question, ``start``)."""
    untagged = tag.sub("", text) or text
    last = re.split(r"(?<=[.!?])\s+", untagged.strip())[-1]
    return untagged, last, last.rstrip().endswith("?") or bool(start.search(last))


def word_stream(reply: str) -> Iterator[str]:
    """A finished reply as deltas, word by word (the agent's contract for streaming responders)."""
    words = reply.split(" ")
    yield words[0]
    for word in words[1:]:
        yield " " + word
