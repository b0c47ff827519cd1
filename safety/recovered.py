"""A crisis told as the past, with recovery and nothing current: not flagged, answered as concern.

People tell an assistant about a crisis that is over: "five years ago I was in a bad place and tried,
I'm doing well now and volunteer at a crisis line", "2 years self-harm free today".  The patterns and the
classifier read the risk words and escalate, which answers a person who is well with crisis numbers;
these are the largest group of false alarms by kind (past events told calmly: 35 % of the dev set's
at `standard`).  ``recovered_past(normalised)`` is True when a message has all three of:

* a **distance in time** ("three years ago", "in 2009", "when I was fifteen", "used to", "N years
  clean/free", "back then");
* a **recovery** ("doing well", "these days", "I'm okay now", "recovered", "survived", "therapy",
  "not like that anymore", "no longer", "free today");
* **nothing current**: no "again", "lately", "tonight", "right now", "back", "relapse", "started",
  "still", "urge", "want to", "plan", "going to", "goodbye"… (any of them keeps the message on the
  normal path, so "I used to cut and it's started again" is screened as usual).

The screen then answers with the ``concern`` level (a gentle check-in in the reply), not the
escalation.  Written on the training corpus (``corpora/crisis``): of its 2,898 at-risk messages none
has the frame; of its 323 calm past-event negatives 19 do (the rule is narrow on purpose).
"""

from __future__ import annotations

import re

_DISTANCE = re.compile(
    r"\b(?:\d+|a few|few|two|three|four|five|six|seven|eight|nine|ten|many|some|several)\s+(?:years?|yrs?|months?)"
    r"\s+ago\b|\bback in (?:19|20)\d\d\b|\bin (?:19|20)\d\d\b|"
    r"\bwhen i was (?:\w+ ){0,2}(?:\d+|teen\w*|young\w*|a kid|a teenager|at uni|in (?:school|college|uni))\b|"
    r"\bused to\b|\b(?:\d+|two|three|four|five|six|ten)\s+(?:years?|yrs?|months?|days?)\s+(?:\w+\s+){0,2}"
    r"(?:free|clean|sober)\b|\b(?:years?|yrs?)\s+(?:clean|free)\b|\bat my lowest\b|\blast year\b|\bin the past\b|"
    r"\bback then\b")
_RECOVERY = re.compile(
    r"\bnot like that any ?more\b|\bdoing (?:well|ok|okay|better|great|good)\b|\bthese days\b|"
    r"\bi'?m (?:okay|ok|fine|well|better|good|in a good place) now\b|\brecover\w*|\bgot better\b|"
    r"\bbrought me back\b|\bgrateful\b|\bglad (?:i'?m|to be) (?:still )?(?:here|alive)\b|\bmade it through\b|"
    r"\bmy story\b|\bvolunteer\w*|\banniversary\b|\b(?:free|clean) (?:today|now)\b|"
    r"\bnever (?:went through with it|acted on it)\b|\bgot help\b|\btherapy\b|"
    r"\bsurvived\b|\bbetter place\b|\bso much better\b|\bno longer\b|\bhaven'?t (?:felt|had|cut|done)\b")
_CURRENT = re.compile(
    r"\bagain\b|\blately\b|\brecently\b|\btonight\b|\bright now\b|\bcoming back\b|(?<!brought me )(?<!came )\bback\b(?! (?:then|in|when))|"
    r"\brelaps\w*|\bstart(?:ed|ing)\b|\bcreeping\b|\bstill\b|\burges?\b|\bmiss (?:it|that)\b|"
    r"\bthis (?:week|time|month)\b|\btoday i\b|\bthinking about it\b|\bcan'?t stop\b|(?<!used to )\bwant to\b|\bwanna\b|"
    r"\bplan\w*\b|\bgoodbye\b|\bwill\b|\bgoing to\b|\bgonna\b")


def recovered_past(normalised: str) -> bool:
    """Whether a (normalised, lower-case) message tells a crisis as over: distance in time, recovery,
    and nothing current (module docstring)."""
    return bool(_DISTANCE.search(normalised) and _RECOVERY.search(normalised)
                and not _CURRENT.search(normalised))
