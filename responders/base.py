"""Helpers shared by every responder: the ``respond`` convenience and context passing.

Every responder has ``stream(history, estimate, context=None)`` (the ``Responder`` protocol);
``context`` is the mapping the agent passes per turn (``mood_trend``, the profile's
``instructions``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from emotion_agent.core.events import EmotionEstimate
from emotion_agent.core.protocols import Responder, Turn


class ResponderError(RuntimeError):
    """A responder could not produce a reply (bad input or a model failure)."""


def respond(responder: Responder, history: Sequence[Turn], estimate: EmotionEstimate | None,
            context: Mapping[str, Any] | None = None) -> str:
    """The whole reply as one string (the streamed deltas joined, outer whitespace stripped)."""
    return "".join(responder.stream(history, estimate, context)).strip()


def last_user_text(history: Sequence[Turn]) -> str:
    """Text of the latest user turn; ``ResponderError`` when there is none."""
    for turn in reversed(history):
        if turn.role == "user":
            return turn.text
    raise ResponderError("history has no user turn to reply to")


_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*(?=\s)|\n\s*\n")


def limit_sentences(deltas: Iterable[str], max_sentences: int) -> Iterator[str]:
    """Pass deltas through until ``max_sentences`` sentences are complete, then stop.

    A sentence counts as complete at ``.``/``!``/``?`` followed by whitespace (so "3.5" is not an
    end), or at a blank line.  Leading whitespace of the reply is dropped.  The source iterator is
    closed when the limit is hit, which stops the model from generating tokens nobody reads.
    """
    if max_sentences < 1:
        raise ValueError(f"max_sentences must be >= 1, got {max_sentences}")
    text, sent = "", 0
    iterator = iter(deltas)
    try:
        for delta in iterator:
            if not delta:
                continue
            text += delta
            if not text.strip():
                continue
            ends = list(_SENTENCE_END.finditer(text))
            if len(ends) >= max_sentences:
                cut = ends[max_sentences - 1].end()
                head = text[:cut].lstrip()
                if len(head) > sent:
                    yield head[sent:]
                return
            body = text.lstrip()
            if len(body) > sent:
                yield body[sent:]
                sent = len(body)
    finally:
        close = getattr(iterator, "close", None)
        if callable(close):
            close()
