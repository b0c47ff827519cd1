"""The reply guard: red-flag checks on a generated reply before (and while) it is sent.

A small reply model can say things no host may say.  ``ReplyGuard.check(reply, history)`` returns
the flags found, each of one kind:

* ``personal_life``: the assistant tells of a life it does not have ("I went to the beach",
  "my weekend", "we had a lovely day together");
* ``role_break``: it steps out of its role ("as an AI", "I can't help you", "I don't have the
  capability");
* ``invented_fact``: a fact the conversation does not contain: an amount, number, duration, date,
  weekday or month, a policy term (refund policy, warranty, compensation...), or a person (your
  friend, your wife) that no user turn mentioned;
* ``condolence``: condolences ("sorry for your loss") when no user turn speaks of a loss or a death;
* ``prompt_leak``: the prompt's own markup or talk about the user's "mood"/"emotion" label instead of
  the content ("User emotion:", "your positive mood", "<emotion=");
* ``over_length``: more than ``max_words`` words or ``max_sentences`` sentences;
* ``sensitive_data``: it asks the user to tell, send or share a card security code, PIN, password,
  full card number or one-time code in the chat (no support bot may; the fine-tuned model did:
  "Could you tell me the CVV number on your account?").

The checks are plain patterns, calibrated on the authored replies of ``corpora/dialogue`` (none of
them is flagged) and on the red flags the untuned model produced on the dev scripts.  What the
agent does on a flag (regenerate once, then the template) is in ``agent.processors.respond``;
``StreamRelease`` lets it send text clause by clause while the guard reads ahead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from emotion_agent.core.protocols import Turn
from emotion_agent.responders import spelling

KINDS = ("personal_life", "role_break", "invented_fact", "condolence", "prompt_leak", "over_length",
         "sensitive_data")


@dataclass(frozen=True)
class GuardFlag:
    kind: str
    match: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.match!r}"


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


_PERSONAL = _rx(
    r"\b(?:I|we)(?:'ve| have)? (?:just )?(?:went|go to|been (?:to|on|there|away)|arrived|spent|visited|walked|travel(?:l)?ed|"
    r"had (?:a|an|the|our|my|such|lunch|dinner|breakfast|fun)|got back|came back|stayed|played|watched|cooked|"
    r"baked|ate|drank|bought|moved|grew up|used to)\b",
    r"\b(?:I|we)'m (?:going|heading|off) (?:to|on)\b",
    r"\b(?:I|we) (?:love|like|enjoy) (?:going|walking|travel|cooking|swimming|hiking|my|our)\b",
    r"\bmy (?:own )?(?:weekend|holiday|vacation|family|wife|husband|partner|boyfriend|girlfriend|kids?|children|son|"
    r"daughter|mum|mom|mother|dad|father|sister|brother|friends?|dog|cat|pet|house|home|flat|apartment|garden|"
    r"birthday|trip|day|evening|morning|job|boss|exams?|school|car|hobby|life)\b",
    r"\bour (?:walk|trip|day|holiday|weekend|time together|dinner|lunch|evening)\b",
    r"\b(?:together today|lovely day together|when I was (?:a |young|little|your age))\b",
    r"\b(?:me too|same here),? I\b",
)
"""First person telling of its own life.  "my colleague" (a hand-off) and "my end" are fine."""

_ROLE = _rx(
    r"\bas an? (?:AI|artificial|language model|assistant|chatbot|bot|virtual)\b",
    r"\b(?:a|an) (?:AI|language model|computer program|chatbot)\b",
    r"\bI(?:'m| am) (?:just |only )?(?:a (?:bot|robot|machine|program|computer|chatbot)|not (?:a human|human|real))\b",
    r"\bI (?:can(?:'|no)?t|cannot|am (?:not )?(?:un)?able to|'m (?:not )?(?:un)?able to|won't be able to) "
    r"(?:help|assist|do that|do this|track|provide|answer|discuss|talk about|understand|be (?:here|there) for you)\b",
    r"\bI (?:don't|do not) have (?:the )?(?:capabilit|abilit|access|feelings|emotions|a body|personal)",
    r"\b(?:OpenAI|ChatGPT|SmolLM|Hugging ?Face)\b",
    r"\bnot (?:able|allowed|permitted) to (?:help|assist)\b",
)

_CONDOLENCE = _rx(
    r"\bsorry (?:for|about) (?:your|the) loss\b",
    r"\b(?:my |deepest |sincere )?condolences\b",
    r"\brest in peace\b",
    r"\bpassed away\b", r"\b(?:his|her|their|your \w+'s) passing\b",
    r"\bsorry (?:to hear )?(?:that )?(?:they|he|she) (?:died|passed)\b",
)
_LOSS_WORDS = _rx(
    r"\b(?:died|dead|death|dying|die|passed|passing|funeral|loss|lost (?:my|our|her|his)|bereave\w*|grie\w+|"
    r"mourn\w*|rip|put (?:her|him|it) down|put to sleep|miscarr\w+|cancer|terminal|memorial|widow\w*)\b",
)

_LEAK = _rx(
    r"\buser emotion\b", r"\bmood:\s", r"<emotion", r"\bconfidence (?:of )?\d", r"<\|im_", r"\bsystem:",
    r"\byour (?:positive|negative|good|bad|happy|sad|current|overall|low|high) (?:mood|emotions?)\b",
    r"\b(?:your|the user's) (?:mood|emotion) (?:is|seems|has been|trend)\b",
    r"\b(?:positive|negative|neutral) (?:mood|emotions?|feelings?|state)\b",
)

_SECRET = r"(?:cvv2?|cvc2?|cv2|security (?:code|number|digits)|pin(?: number| code)?|passcode|password|" \
          r"(?:full|long) card number|card number|one[- ]time (?:code|passcode|password)|otp|verification code)"
_SENSITIVE = _rx(
    rf"\b(?:tell|send|give|share|post|read(?: out)?|provide|paste|text|confirm|let me know|type it here)\b"
    rf"(?: me| us)?[^.?!]{{0,40}}?\b{_SECRET}\b",
    rf"\b(?:your|the) {_SECRET}\b[^.?!]{{0,30}}\b(?:here|to me|to us|in (?:the|this) chat)\b",
)
"""Asking for card security codes, PINs, passwords or one-time codes in the chat."""

_AMOUNT = re.compile(
    r"(?:[$£€]\s?\d[\d,.]*|\d[\d,.]*\s?(?:%|percent|dollars?|pounds?|euros?|quid|bucks|p\b|cents?|"
    r"usd|gbp|eur)\b)", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w#])\d+(?:[.,:]\d+)*(?:st|nd|rd|th|am|pm)?(?!\w)", re.IGNORECASE)
_NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
                 "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13",
                 "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18",
                 "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60",
                 "ninety": "90", "hundred": "100", "half": "0.5"}
_NUM_WORDS = r"(?:\d+(?:[.,]\d+)?|" + "|".join(_NUMBER_WORDS) + ")"
_DURATION = re.compile(
    rf"(?<![-\w]){_NUM_WORDS}(?:[- ]to[- ]{_NUM_WORDS}|[- ]or[- ]{_NUM_WORDS}|\s?[-–]\s?{_NUM_WORDS})?[- ](?:working |business |calendar )?"
    r"(?:seconds?|minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|months?|years?|weekdays?)\b", re.IGNORECASE)
_DATE = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|june|july|"
    r"august|september|october|november|december|tomorrow|next week|next month|by the end of the (?:day|week)|"
    r"within (?:the |an |a )?(?:hour|day|week|month)|within (?:a few|several|a couple of) \w+)\b", re.IGNORECASE)
_POLICY = _rx(
    r"\b(?:refund|return|returns|cancellation|privacy|company|our|store) polic(?:y|ies)\b",
    r"\bwarrant(?:y|ies)\b", r"\bguarantee[sd]?\b", r"\bcompensation\b", r"\bvouchers?\b", r"\bdiscounts?\b",
    r"\bstore credit\b", r"\bfree (?:of charge|delivery|shipping|replacement)\b", r"\bfull refund\b",
    r"\bterms and conditions\b", r"\bcooling[- ]off\b", r"\bcoupon\b", r"\bgoodwill (?:gesture|payment)\b",
    r"\b(?:has been|have been|is|was|will be) (?:refunded|dispatched|shipped|delivered|cancell?ed|approved|processed)\b",
)
"""Policy terms and promised outcomes ("has been refunded") a reply must not assert unless the user said them."""

_PEOPLE: dict[str, tuple[str, ...]] = {
    "friend": ("friend", "mate", "pal", "bestie", "buddy", "bff"),
    "partner": ("partner", "boyfriend", "girlfriend", "husband", "wife", "fiance", "fiancé", "fiancee", "bf", "gf",
                "spouse", "hubby", "other half"),
    "parent": ("mum", "mom", "mother", "dad", "father", "parents", "mam", "mummy", "daddy"),
    "child": ("son", "daughter", "kid", "kids", "child", "children", "baby", "little one"),
    "sibling": ("sister", "brother", "sibling", "siblings"),
    "boss": ("boss", "manager", "supervisor", "line manager"),
    "teacher": ("teacher", "tutor", "lecturer", "professor", "supervisor"),
}
_YOUR_PERSON = re.compile(r"\byour (" + "|".join(sorted({w for ws in _PEOPLE.values() for w in ws}, key=len,
                                                        reverse=True)) + r")\b", re.IGNORECASE)

_WORD = re.compile(r"[\w']+")
_SENTENCE = re.compile(r"[.!?…]+(?=\s|$)")


def _said(needle: str, said: str) -> bool:
    return needle.lower() in said


def _number_core(text: str) -> str:
    return re.sub(r"(?:st|nd|rd|th|am|pm)$", "", text.lower()).replace(",", "")


_NUMBER_OR_WORD = re.compile(r"(?<![\w#])\d+(?:[.,:]\d+)*(?:st|nd|rd|th|am|pm)?(?!\w)|\b(?:"
                             + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)


def _numbers(text: str) -> set[str]:
    """Numbers in ``text`` as digit strings ("Three" → "3", "2:04" → "2:04", "1,000" → "1000")."""
    out = set()
    for m in _NUMBER_OR_WORD.finditer(text):
        word = m.group().lower()
        out.add(_NUMBER_WORDS.get(word, _number_core(word)))
    return out


def _respelt(text: str) -> list[str]:
    """The conversation's misspelt words as the structured replies correct them (``spelling.correct``)."""
    out = []
    for word in set(re.findall(r"[a-z]+", text)):
        fixed = spelling.correct(word)
        if fixed and fixed != word:
            out.append(fixed)
    return out


@dataclass
class ReplyGuard:
    """Red-flag checks on one reply against the conversation it answers."""

    max_words: int = 50
    max_sentences: int = 3
    enabled: frozenset[str] = field(default_factory=lambda: frozenset(KINDS))

    def check(self, reply: str, history: Sequence[Turn] = (), *, final: bool = True) -> list[GuardFlag]:
        """Flags in ``reply`` given the dialogue ``history`` (the user turns are what is "said").
        ``final=False`` for a reply still streaming: the length checks wait for the end."""
        text = " ".join(reply.split())
        if not text:
            return []
        said = " ".join(t.text for t in history).lower().replace("#", " ")
        said_nums = _numbers(said) | {"1"}  # "one"/"a" is too generic to be a fact
        flags: list[GuardFlag] = []

        def add(kind: str, match: str) -> None:
            if kind in self.enabled:
                flags.append(GuardFlag(kind, match))

        respelt: list[str] = []

        def heard() -> str:
            """The conversation, plus its misspelt words spelt right ("tomorow" → "tomorrow": a reply may
            say them back so); respelt only when a check needs it, not on every streamed clause."""
            if not respelt:
                respelt.append(said + " " + " ".join(_respelt(said)))
            return respelt[0]

        for m in _PERSONAL.finditer(text):
            add("personal_life", m.group())
        for m in _ROLE.finditer(text):
            add("role_break", m.group())
        for m in _CONDOLENCE.finditer(text):
            if not _LOSS_WORDS.search(heard()):
                add("condolence", m.group())
        for m in _LEAK.finditer(text):
            add("prompt_leak", m.group())
        for m in _SENSITIVE.finditer(text):
            add("sensitive_data", m.group())
        for pattern in (_AMOUNT, _DURATION, _DATE, _POLICY):
            for m in pattern.finditer(text):
                if not _said(m.group(), heard()) and \
                        not (pattern is _POLICY and _said(m.group().split()[-1][:6], heard())):
                    nums = _numbers(m.group())
                    if not nums or not nums <= said_nums:
                        add("invented_fact", m.group())
        for m in _NUMBER.finditer(text):
            core = _number_core(m.group())
            if core not in said_nums and not any(f.match.lower().find(core) >= 0 for f in flags):
                add("invented_fact", m.group())
        for m in _YOUR_PERSON.finditer(text):
            word = m.group(1).lower()
            group = next(ws for ws in _PEOPLE.values() if word in ws)
            if not any(re.search(rf"\b{re.escape(w)}s?\b", heard()) for w in group):
                add("invented_fact", m.group())
        if final:
            words = len(_WORD.findall(text))
            sentences = len(_SENTENCE.findall(text.rstrip() + " "))
            if words > self.max_words:
                add("over_length", f"{words} words")
            elif sentences > self.max_sentences:
                add("over_length", f"{sentences} sentences")
        return flags


_CLAUSE_END = re.compile(r"[,.;:!?…—)](?=\s)")


class StreamRelease:
    """Sends a streaming reply clause by clause: text is released up to the last clause boundary
    (``, . ; : ! ?`` followed by a space) once the guard passes everything received so far, so a
    flagged phrase is usually caught before any of its clause has been sent."""

    def __init__(self, guard: ReplyGuard, history: Sequence[Turn]) -> None:
        self.guard = guard
        self.history = history
        self.text = ""
        self.sent = 0
        self.flags: list[GuardFlag] = []

    def feed(self, delta: str) -> str:
        """Add a delta; returns the text to send now ('' to hold), or '' with ``flags`` set on a hit."""
        self.text += delta
        if self.flags:
            return ""
        self.flags = self.guard.check(self.text, self.history, final=False)
        if self.flags:
            return ""
        ends = list(_CLAUSE_END.finditer(self.text))
        cut = ends[-1].end() if ends else 0
        if cut > self.sent:
            out, self.sent = self.text[self.sent:cut], cut
            return out
        return ""

    def finish(self) -> str:
        """End of the reply: the final check (with length); returns the held-back rest if it passes."""
        if not self.flags:
            self.flags = self.guard.check(self.text, self.history, final=True)
        if self.flags:
            return ""
        out, self.sent = self.text[self.sent:], len(self.text)
        return out


@dataclass
class GuardCounts:
    """Per-conversation totals for the session metrics."""

    checked: int = 0
    flagged: int = 0
    """Candidate replies with at least one flag (first tries and regenerations)."""
    regenerated: int = 0
    fallbacks: int = 0
    """Replies replaced by the template after the regeneration was flagged too."""
    by_kind: dict[str, int] = field(default_factory=dict)
    log: list[tuple[int, int, tuple[str, ...]]] = field(default_factory=list)
    """(turn, attempt, flags as text) for every checked candidate: what ``eval replies`` reports."""

    def count(self, flags: Sequence[GuardFlag], turn: int = 0, attempt: int = 0) -> None:
        self.log.append((turn, attempt, tuple(str(f) for f in flags)))
        del self.log[:-200]
        self.checked += 1
        if flags:
            self.flagged += 1
        for kind in sorted({f.kind for f in flags}):
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1

    def as_dict(self) -> dict[str, int]:
        return {"checked": self.checked, "flagged": self.flagged, "regenerated": self.regenerated,
                "fallbacks": self.fallbacks, **{f"flag_{k}": v for k, v in sorted(self.by_kind.items())}}
