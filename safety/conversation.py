"""Conversation-level risk: signals across turns add up, and the level never drops silently.

``ConversationRisk.update(verdict, text)`` is called once per user turn with the screen's verdict and
returns a ``RiskUpdate``.  Rules:

* A flagged turn raises the level to its severity (never lowers it).
* Earlier risk plus a timeline or means now: once the conversation has reached ``high`` (ideation,
  preparatory acts, self-harm), a later turn that names means or a picked date ("picked the 14th",
  "got the pills today") raises it to ``imminent`` even if that turn alone would not be flagged; a time
  with intent ("it's happening tonight") does when the classifier leans towards risk on it too.
* Sub-threshold signals add up: two turns in a row whose classifier risk is at least
  ``ACCUMULATE_FRACTION`` of the threshold flag the second one (``high``).
* Two or more ``concern`` turns within the last four keep the level at least ``concern``.
* The level only goes down when a later, unflagged turn clearly says so ("I'm safe now", "I won't act
  on it", "I called the helpline", or that the flagged turn was misread: "lol not like that, I meant
  I'm knackered") and then by one step; every change is reported with its reason.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from emotion_agent.safety.taxonomy import SEVERITIES, Severity, rank

ACCUMULATE_FRACTION = 0.6
_MEANS = r"(?:pills?|tablets|meds|rope|noose|gun|blades?|razor|bridge|ledge|roof|tracks|overdose|car exhaust)"
_DATE_PICKED = (r"(?:picked|chose|chosen|set|decided on|settled on) (?:a|the|my) (?:date|day|time|place|spot|night)|"
                r"(?:picked|chose|decided on) (?:the )?\d{1,2}(?:st|nd|rd|th)?|the \d{1,2}(?:st|nd|rd|th)\b")
_TIME = (r"(?:tonight|today|tomorrow|this (?:weekend|week|morning|evening|afternoon)|right now|soon|"
         r"(?:on|by|before|after) (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|christmas|"
         r"new year|my birthday|the weekend)|next (?:week|month))")
_INTENT = r"(?:do it|doing it|going to|gonna|will|i'll|plan|planning|happen|happening|it's time|the day|ready|last)"
_MEANS_OR_DATE = re.compile(rf"\b{_MEANS}\b|\b(?:{_DATE_PICKED})")
_TIME_AND_INTENT = re.compile(rf"\b{_INTENT}\b.*\b{_TIME}\b|\b{_TIME}\b.*\b{_INTENT}\b")
"""After earlier risk: means, a picked date, or a time together with intent ("it's happening tonight").
A time with intent is also how every plan is said ("I'm going to have a bath tonight", "I'll talk to my
mum tonight"): unflagged, it counts only when the classifier also leans towards risk on that turn (at
least ``ACCUMULATE_FRACTION`` of its threshold); in the blind-rated dev conversations two such plans after
a false alarm were answered with the emergency message."""
_SAFE_NOW = re.compile(
    r"\b(?:i'?m|i am|i feel|feeling) (?:safe|safer|okay now|ok now|alright now|better now)\b|"
    r"\b(?:i'?m not|i am not|i won'?t|i will not|i'?m never) (?:going to )?(?:do|act on|try|hurt|harm|kill)\b|"
    r"\b(?:i (?:have|'?ve got|made) a safety plan)\b|"
    r"\b(?:i )?(?:called|texted|rang|talked to|spoke to|spoke with) (?:the )?(?:helpline|crisis line|988|"
    r"samaritans|lifeline|my (?:therapist|doctor|gp|counsellor|counselor|mum|mom|dad|partner|friend))\b|"
    r"\b(?:the|those) thoughts? (?:have|has) (?:passed|gone|eased)\b")


_MISREAD = re.compile(
    r"\b(?:not|never) (?:like that|in that way|that way|literally|for real|what i meant)\b|"
    r"\b(?:i )?(?:didn'?t|did not|don'?t|do not) mean (?:it )?(?:like that|that way|literally|that)\b|"
    r"\bfigure of speech\b|\b(?:just|only) (?:an? )?(?:expression|saying|joke|joking|kidding)\b|"
    r"\bi (?:was|am|'?m) (?:just |only )?(?:joking|kidding)\b|"
    r"\bi meant (?:i'?m |i was |that i'?m )?(?:tired|exhausted|knackered|shattered|busy|bored|laughing|stressed|"
    r"hungover|full|hungry|embarrassed|mortified)\b|"
    r"\b(?:i'?m|i am) not (?:suicidal|in danger|at risk|thinking of (?:killing|hurting) myself)\b")
"""The user says a flagged turn was misread ("lol not like that, I meant I'm knackered", "it's just an
expression", "I'm not suicidal"): after a false alarm, what a person says next.  It lowers the level by one
step, like ``_SAFE_NOW`` (high → concern: gentle check-ins stay; imminent → high), and the host sees why."""


MISREAD_REASON = "the user said the flagged turn was misread"


@dataclass(frozen=True)
class RiskUpdate:
    level: Severity
    previous: Severity
    reason: str = ""
    escalated_by_context: bool = False
    """The turn was not flagged on its own, but the conversation's signals raised it to high/imminent."""

    @property
    def changed(self) -> bool:
        return self.level != self.previous


@dataclass
class ConversationRisk:
    threshold: float = 0.5
    level: Severity = "none"
    _recent_scores: deque[float] = field(default_factory=lambda: deque(maxlen=2))
    _recent_concern: deque[bool] = field(default_factory=lambda: deque(maxlen=4))

    def update(self, flagged: bool, severity: str, score: float | None, normalised_text: str,
               threshold: float | None = None) -> RiskUpdate:
        """One user turn: the screen's verdict (``flagged``, ``severity``, classifier ``score``), the
        normalised text, and the classifier ``threshold`` the score was judged against (default
        ``self.threshold``): sub-threshold signals are measured as a fraction of it."""
        previous = self.level
        self._recent_scores.append(score if score is not None else 0.0)
        self._recent_concern.append(severity == "concern")
        if flagged:
            new: Severity = severity if severity in SEVERITIES else "high"
            if rank(new) > rank(self.level):
                self.level = new
                return RiskUpdate(self.level, previous, f"this turn: {severity}")
            if rank(self.level) >= rank("high") and self.level != "imminent" \
                    and (_MEANS_OR_DATE.search(normalised_text) or _TIME_AND_INTENT.search(normalised_text)):
                self.level = "imminent"
                return RiskUpdate(self.level, previous, "a time or means after earlier risk")
            return RiskUpdate(self.level, previous)
        cutoff = ACCUMULATE_FRACTION * (threshold if threshold is not None else self.threshold)
        leaning = score is not None and score >= cutoff
        if rank(self.level) >= rank("high") and self.level != "imminent" and not _SAFE_NOW.search(normalised_text) \
                and (_MEANS_OR_DATE.search(normalised_text) or (leaning and _TIME_AND_INTENT.search(normalised_text))):
            self.level = "imminent"
            return RiskUpdate(self.level, previous, "a time or means after earlier risk", escalated_by_context=True)
        if len(self._recent_scores) == 2 and min(self._recent_scores) >= cutoff and rank(self.level) < rank("high"):
            self.level = "high"
            return RiskUpdate(self.level, previous, "risk signals in consecutive turns", escalated_by_context=True)
        lowered_by = "the user said they are safer" if _SAFE_NOW.search(normalised_text) else \
            MISREAD_REASON if _MISREAD.search(normalised_text) else None
        if lowered_by is not None and rank(self.level) > 0:
            self.level = SEVERITIES[rank(self.level) - 1]
            return RiskUpdate(self.level, previous, lowered_by)
        if sum(self._recent_concern) >= 2 and rank(self.level) < rank("concern"):
            self.level = "concern"
            return RiskUpdate(self.level, previous, "low mood in several recent turns")
        return RiskUpdate(self.level, previous)
