"""Spelling for said-back words: a reply that quotes the user must not copy their typos.

In the blind ratings, echoes such as "Okay, the date last nigth" or "visiting is at 10 tomorow" read as
mechanical and careless.  ``correct(word)`` corrects a lower-case word the English dictionary does
not know when one dictionary word is one slip away (a letter left out, two letters swapped), starts with
the same letter and is at least five times as common as any other such word ("nigth" → "night",
"tomorow" → "tomorrow").  A word no slip explains ("vocab", "gcse", a name) is kept; when two words could be meant,
or it is chat shorthand such as "ngl", the word is *unsure* and the caller should not say it back.  Common shorthand is spelt out ("rn" →
"right now", "bc" → "because").  Capitalised words are names and left alone.

The dictionary is pyspellchecker's English word-frequency list (MIT), loaded once, lazily (≈ 0.2 s);
a check takes about a millisecond per unknown word.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Protocol


class _Checker(Protocol):
    def known(self, words: list[str]) -> set[str]: ...

    def word_usage_frequency(self, word: str) -> float: ...

    def candidates(self, word: str) -> set[str] | None: ...


_WORD = re.compile(r"^[a-z]+$")
_KEEP = frozenset({"gonna", "wanna", "gotta", "kinda", "sorta", "dunno", "innit", "cos", "coz", "ok", "okay", "uni",
                   "telly", "mum", "mam", "nan", "gran", "grandad", "footy", "brekkie", "veg", "mins", "hrs", "pm",
                   "am", "yr", "yrs", "kg", "km", "vs", "wifi", "app", "apps", "online", "email", "emails",
                   # British words the (American) dictionary lacks or would "correct"
                   "pyjamas", "pyjama", "aluminium", "tyre", "tyres", "kerb", "cheque", "cheques", "mould", "mouldy",
                   "jewellery", "sceptical", "manoeuvre", "arse", "dreamt", "nana", "maths", "grey", "storey",
                   "plough", "cosy", "sat", "learnt", "spelt", "burnt", "whilst", "amongst", "fortnight", "quid",
                   "skint", "knackered", "gutted", "loo", "jumper", "trainers", "crisps", "hoover",
                   "cafe", "chem", "bio", "psych", "convo", "vocab", "lowkey", "highkey"})

_SHORTHAND = {"rn": "right now", "ppl": "people", "pls": "please", "plz": "please", "cuz": "because", "bc": "because",
              "coz": "because", "cos": "because", "bf": "boyfriend", "gf": "girlfriend", "tmrw": "tomorrow",
              "tmr": "tomorrow", "2moro": "tomorrow", "2day": "today", "b4": "before", "bday": "birthday",
              "msg": "message", "txt": "text", "abt": "about", "prob": "probably", "def": "definitely",
              "defo": "definitely", "thru": "through", "tho": "though", "w": "with", "nite": "night"}
_UNSURE = frozenset({"ngl", "tbh", "idk", "smh", "fr", "ong", "omg", "omfg", "wtf", "af", "imo", "imho", "fml", "irl",
                     "bruh", "fam", "lol", "lmao", "ikr", "nvm", "ffs", "jk"})


@lru_cache(maxsize=1)
def _checker() -> _Checker:
    from spellchecker import SpellChecker

    checker: _Checker = SpellChecker(distance=1)
    return checker


_BRITISH = ((r"is(e|es|ed|ing|ation|ations)$", r"iz\1"), (r"ys(e|es|ed|ing)$", r"yz\1"), (r"our(s|ed|ing|ite|ites|able)?$", r"or\1"),
            (r"tre(s)?$", r"ter\1"), (r"ogue(s)?$", r"og\1"), (r"ll(ed|ing|er|ers)$", r"l\1"), (r"ence$", r"ense"),
            (r"ae", "e"), (r"oe", "e"), (r"mme(s)?$", r"m\1"))


def _american(word: str) -> list[str]:
    """The US spellings a British spelling may have ("apologise" → "apologize"): the dictionary is
    American, and a British word must not be "corrected"."""
    return [re.sub(pattern, repl, word) for pattern, repl in _BRITISH if re.search(pattern, word)]


def warm() -> None:
    """Load the word list now (≈ 0.2 s), so the first reply of a session does not wait for it."""
    _checker()


def _slip(typed: str, word: str) -> bool:
    """Whether ``typed`` is ``word`` with a letter left out or two letters swapped: the slips fast typing
    makes.  A different letter ("vocab" / "vocal") or an extra one is more often a word the dictionary
    lacks than a typo, so it is not "corrected"."""
    if len(word) == len(typed) + 1:
        return any(word[:i] + word[i + 1:] == typed for i in range(len(word)))
    if len(word) == len(typed):
        diff = [i for i in range(len(word)) if word[i] != typed[i]]
        return len(diff) == 2 and diff[1] == diff[0] + 1 and typed[diff[0]] == word[diff[1]] \
            and typed[diff[1]] == word[diff[0]]
    return False


_COMMON_FIX = 1e-6
"""A correction must be a common word: a rare one ("pandean", "lassies", "programmers") is more often a word the
dictionary lacks (a food, a place) than the user's slip; the blind raters marked such echoes as misquotes."""


@lru_cache(maxsize=8192)
def correct(word: str) -> str | None:
    """``word`` if it is fine to say back, its unique one-edit correction, or None when unsure."""
    if word in _SHORTHAND:
        return _SHORTHAND[word]
    if word in _UNSURE:
        return None
    if not _WORD.match(word) or len(word) < 3 or word in _KEEP:
        return word
    checker = _checker()
    if checker.known([word]) or any(checker.known([us]) for us in _american(word)):
        return word
    options = sorted((c for c in (checker.candidates(word) or set()) if c != word and c[0] == word[0]
                      and checker.known([c]) and _slip(word, c)
                      and checker.word_usage_frequency(c) >= _COMMON_FIX),  # "pandan" is not a slip of "pandean"
                     key=checker.word_usage_frequency, reverse=True)
    if not options:  # not a slip of a known word: a name, a clipped word ("vocab"), a lower-case acronym
        return word
    if len(word) < 5:  # too short to tell a typo from a word the dictionary lacks
        return None
    if len(options) > 1 and checker.word_usage_frequency(options[0]) < 5 * checker.word_usage_frequency(options[1]):
        return None
    return options[0]


@lru_cache(maxsize=8192)
def is_common(word: str) -> bool:
    """Whether ``word`` (lower case) is an everyday dictionary word: known, and used at least about ten times
    per million words."""
    checker = _checker()
    return bool(_WORD.match(word)) and bool(checker.known([word])) and checker.word_usage_frequency(word) >= 1e-5
