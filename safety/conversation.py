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
* After the direct question (``asked()``: the ``ask`` message of ``safety.responses``), the next turn is
  read as its answer (``read_answer``): "yes", "kind of", "idk" escalate it (by context; the reply thanks
  them and asks whether they are safe right now, with the resources); a brush-off ("no no im fine, forget i said anything") gets a short message that leaves the door
  open, with the resources (by context; the level stays); a plain "no" ("no lol", "nah im fine") with no
  risk signal of its own is the clear statement that lowers the level one step.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from emotion_agent.safety.taxonomy import SEVERITIES, Severity, rank

ACCUMULATE_FRACTION = 0.6
_MEANS = (r"(?:pills?|tablets|meds|rope|noose|gun|rifle|shotgun|pistol|firearm|handgun|revolver|blades?|razor|bridge|ledge|"
          r"roof|tracks|overdose|car exhaust)")
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
    r"\bfigure of speech\b|\b(?:just|only) (?:an? (?:expression|saying|joke)|joking|kidding)\b|"
    r"\bi (?:was|am|'?m) (?:just |only )?(?:joking|kidding)\b|"
    r"\bi meant (?:i'?m |i was |that i'?m )?(?:tired|exhausted|knackered|shattered|busy|bored|laughing|stressed|"
    r"hungover|full|hungry|embarrassed|mortified)\b|"
    r"\b(?:i'?m|i am) not (?:suicidal|in danger|at risk|thinking of (?:killing|hurting) myself)\b")
"""The user says a flagged turn was misread ("lol not like that, I meant I'm knackered", "it's just an
expression", "I'm not suicidal"): after a false alarm, what a person says next.  "just saying" is not
one ("I'm just saying I've thought about it, that's all" had lowered the level; stop 23).  It lowers the level by one
step, like ``_SAFE_NOW`` (high → concern: gentle check-ins stay; imminent → high), and the host sees why."""


MISREAD_REASON = "the user said the flagged turn was misread"
ANSWERED_NO_REASON = "the user said no when asked directly"
ANSWERED_YES_REASON = "the user did not say no when asked directly"
ANSWERED_DEFLECT_REASON = "the user brushed off the direct question"
ADMITTED_REASON = "the user said it is real after a crisis message"
SYMPTOMS_REASON = "signs of harm in the body after an imminent crisis message"

_LAUGH = r"(?:lol|lmao|haha\w*|ha)"
_FILLER = rf"(?:{_LAUGH}|oh|god|omg|um+|uh+|er+m*|hmm+|wait|what|well|honestly|tbh|i mean|sorry)"
_NO = re.compile(
    rf"^\W*(?:(?:{_FILLER}|yeah|ya)[\s,.!?]+)*"
    r"(?:no+|nope|nah+|naw|not at all|of course not|absolutely not|definitely not|god no|hell no|no way|"
    r"nothing like that|not even close|not like that)"
    # followed by the end, punctuation or a few words ("no lol", "no i meant..."), never "no one", "no point"
    r"(?=\s*(?:[,.!?;:)]|$)|\s+(?:lol|lmao|haha\w*|i|im|i'm|it|its|it's|that|that's|thats|not|no|nah|just|thanks|"
    r"thank|mate|man|dude|god|definitely|never|sorry|nothing|we|you|honestly|seriously|omg|worries|of course)\b)")
_YES_WORD = (r"(?:yes|yeah|yea|yep|yup|ya|yh|kind of|kinda|sort of|sorta|sometimes|maybe|a bit|a little|i think so|"
             r"probably|i guess|i don'?t know|idk|dunno|not sure|more or less|i suppose|a lot|all the time|"
             r"every day|lately|how did you know|i do|i am|i have|really|to be honest|i think)")
_YES = re.compile(
    rf"^\W*(?:{_FILLER}[\s,]+)*{_YES_WORD}(?:[\s,]+(?:{_YES_WORD}|{_FILLER}))*\s*(?:[.!?;…]|$)")
"""A yes only when the first sentence is nothing but answer words ("yeah kind of", "i mean yeah", "idk"): "Yes I
wash it good" and "Maybe I'll just do one step" answer something else (blind rating, stop 22)."""
_HEDGE = re.compile(
    r"\b(?:sometimes|kind of|kinda|sort of|not really|i don'?t know|idk|dunno|maybe|a bit|a little|"
    r"not (?:any|right) ?more|not now|not yet|not today|not tonight|but (?:i|it|sometimes|lately|honestly))\b")
"""After a "no": hedges that make it a yes for safety ("no... sometimes maybe", "not anymore")."""
_DEFLECT = re.compile(
    r"\b(?:forget (?:it|that|i said|what i said|about it|i asked)|never ?mind|doesn'?t matter|don'?t worry about (?:it|me)|"
    r"drop it|leave it|i shouldn'?t have said)\b")
"""Deflection ("no no im fine forget i said anything", "never mind"): not a no the level can go down on."""


_ADMIT = re.compile(
    r"\b(?:i'?m|i am|im) not (?:ok|okay|alright|all right|fine|good|safe)\b|"
    r"\b(?:yes|yeah|yea|maybe|probably),? i (?:am|have|do|did|was|might|guess)\b|"
    r"\bi(?: have|'ve| do| did)? (?:thought|been thinking|think) about (?:it|that|doing it)\b|"
    r"\b(?:i am|i'?m) (?:thinking|still thinking) about it\b|\bmaybe i (?:have|am|do)\b|"
    r"\bi (?:am|do|have),? (?:yes|yeah)\b|\b(?:yes|yeah|yea|maybe|probably),? i (?:think|guess|suppose) so\b|"
    # a question back is an answer too ("would it matter if I was?", "who would even care")
    r"\b(?:would|does|will|did) it (?:even |really )?matter\b|\bwhat if i (?:was|were|am|did|do)\b|"
    r"\bwho (?:would|will|'?d) (?:even |really )?(?:care|notice|miss me)\b")
_NO_NUMBERS = re.compile(
    r"\b(?:don'?t|do not|dont) (?:want|need)(?: a| any| the| your| no)? (?:more )?(?:numbers?|hotlines?|helplines?|"
    r"crisis lines?|lifeline|phone numbers?)\b|\bstop (?:sending|giving|throwing)(?: me)? (?:numbers|the number|"
    r"hotlines|helplines|those numbers)\b|\bno (?:more )?(?:numbers|hotlines|helplines)\b|"
    r"\b(?:can'?t|cannot|won'?t|not going to|not gonna) (?:call|ring|phone|text) (?:them|anyone|anybody|a hotline|"
    r"a helpline|that number|those numbers|it)\b")
_STAY = re.compile(
    r"\b(?:just )?(?:stay|talk) (?:with|to) me\b|\bdon'?t (?:leave|go)(?: yet| please| away)?(?:\s*[.!,]|$)|"
    r"\bcan you (?:just )?(?:stay|talk|listen)\b|\bstay here\b|\bkeep talking\b|\bjust (?:talk|listen)\b")


_SYMPTOMS = re.compile(
    r"\b(?:drowsy|sleepy|so tired|can'?t (?:stay awake|keep my eyes open|breathe|feel my \w+|stop shaking)|dizzy|"
    r"light.?headed|numb|(?:so |really |quite |very )?cold|shaking|shivering|throwing up|vomiting|been sick|"
    r"heart (?:is )?(?:racing|pounding)|bleeding|blood (?:everywhere|won'?t stop)|pass(?:ing)? out|blurry|fading|"
    r"going (?:dark|black|fuzzy))\b|"
    r"\b(?:about |around |over |nearly )?(?:an?|\d+|half an|a couple of|a few) (?:hour|hours|minutes|mins) ago\b")
"""Right after an imminent crisis message (an attempt, means at hand): the body's signs or how long ago ("About an
hour ago. I feel rather drowsy and quite cold.") mean an emergency now, not a chat (blind rating, stop 22)."""


def read_follow_up(normalised_text: str, level: str = "high") -> str | None:
    """What a turn soon after a crisis message says about it (normalised text): ``"no_numbers"`` (refuses the
    numbers, or cannot call), ``"admit"`` ("I'm not ok", "yes I am thinking about it", "maybe i have", or a
    yes on its own), ``"stay"`` ("can you just stay and talk to me"), at ``level`` imminent ``"symptoms"``
    ("I feel rather drowsy and quite cold", "about an hour ago"), or None."""
    text = normalised_text.strip()
    if level == "imminent" and _SYMPTOMS.search(text):
        return "symptoms"
    if _NO_NUMBERS.search(text):
        return "no_numbers"
    if _ADMIT.search(text) or read_answer(text) == "yes":
        return "admit"
    if _STAY.search(text):
        return "stay"
    return None


def without_answer(text: str) -> str:
    """``text`` without a leading plain "no" to the direct question ("no lol i mean my hair" → "i mean my
    hair"), so the reply after it takes up the rest; ``text`` itself when nothing else is left."""
    no = _NO.search(text.lower())
    rest = text[no.end():].lstrip(" ,.!?-") if no is not None else text
    rest = re.sub(rf"^{_LAUGH}\b[\s,.!?]*", "", rest, flags=re.I)
    return rest if rest.strip() else text


def read_answer(normalised_text: str) -> str | None:
    """The answer to the direct question in a turn (normalised text): ``"yes"`` for anything that admits
    or hedges ("yeah", "kind of", "idk", "no... sometimes"), ``"deflect"`` for a brush-off ("no no im fine
    forget i said anything", "never mind"), ``"no"`` for a plain no ("no lol i meant my hair", "nah im
    fine"), None when the turn does not answer it."""
    text = normalised_text.strip()
    no = _NO.search(text)
    yes = no is None and _YES.search(text) is not None
    if not yes and _DEFLECT.search(text):
        return "deflect"
    if no is not None:
        return "yes" if _HEDGE.search(text[no.end():]) else "no"
    return "yes" if yes else None


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
    _awaiting_answer: bool = False

    def asked(self) -> None:
        """The reply to this turn asked directly about suicide and self-harm (the ``ask`` message): the
        next turn is read as the answer."""
        self._awaiting_answer = True

    def update(self, flagged: bool, severity: str, score: float | None, normalised_text: str,
               threshold: float | None = None) -> RiskUpdate:
        """One user turn: the screen's verdict (``flagged``, ``severity``, classifier ``score``), the
        normalised text, and the classifier ``threshold`` the score was judged against (default
        ``self.threshold``): sub-threshold signals are measured as a fraction of it."""
        previous = self.level
        awaiting, self._awaiting_answer = self._awaiting_answer, False
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
        answer = read_answer(normalised_text) if awaiting and rank(self.level) >= rank("high") else None
        if answer == "yes" or (answer == "no" and leaning):
            return RiskUpdate(self.level, previous, ANSWERED_YES_REASON, escalated_by_context=True)
        if answer == "deflect":
            return RiskUpdate(self.level, previous, ANSWERED_DEFLECT_REASON, escalated_by_context=True)
        if answer == "no":
            self.level = SEVERITIES[rank(self.level) - 1]
            return RiskUpdate(self.level, previous, ANSWERED_NO_REASON)
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
