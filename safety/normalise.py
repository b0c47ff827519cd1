"""Text normalisation for the risk screen: undo misspellings, leetspeak and algospeak.

Steps: NFKC, straight quotes, zero-width characters removed, lower case; leetspeak digits and
symbols between letters (``k1ll``, ``su1c1de``) or leading ``$``/``@`` (``$elf``) → letters; in a
message written in leetspeak throughout (one such word and at least one more word mixing letters and
leet digits, as in ``i w4nt t0 d13``), every mixed word and a lone ``1`` too, except times, ordinals
and units (``3pm``, ``4th``, ``5mg``); runs of
three or more of one letter → two (``killll`` → ``kill``); then the maintained lexicon
(``lexicon.tsv``: misspellings, algospeak such as ``unalive`` or ``sewer slide``, chat shorthand)
word by word; contractions without apostrophes restored; single spaces.

The patterns and the classifier both read the normalised text, so a new spelling is handled by one
lexicon line instead of new rules and new training data.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

LEXICON = Path(__file__).with_name("lexicon.tsv")

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'", "\u201c": '"',
                         "\u201d": '"', "\u00b4": "'", "`": "'"})
_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")
_LEET = str.maketrans({"1": "i", "3": "e", "0": "o", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_LEET_WORD = re.compile(r"(?<![\w@$])[\w@$]+")
_LEET_INSIDE = re.compile(r"[a-z][013457@$]+[a-z]|^[$@][a-z]")
_LEET_MIXED = re.compile(r"(?<![\w@$])(?=[\w@$]*[a-z])(?=[\w@$]*[013457@$])[\w@$]+")
_NOT_LEET = re.compile(r"^\d*(?:1st|2nd|3rd|\dth)$|^\d+(?:am|pm|k|s|x|mm|cm|m|km|kg|g|mg|ml|l|min|mins|h|hr|hrs|gb|mb|p|yo|d)$|"
                       r"^[a-z]+(?:1|4)$")
"""Not leetspeak: times, ordinals, units, and chat shorthand for "one" and "for" (``sum1``, ``b4``,
which the lexicon expands)."""
_LONE_ONE = re.compile(r"(?<![\w.,:/])1(?![\w.,:/%])")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_CONTRACTIONS = re.compile(
    r"\b(dont|cant|wont|isnt|wasnt|doesnt|didnt|wouldnt|couldnt|shouldnt|aint|arent|werent|havent|hasnt)\b")
_WORDS = {"im": "i'm", "ive": "i've", "youre": "you're", "whats": "what's", "theres": "there's",
          "thats": "that's", "hes": "he's", "shes": "she's", "cannot": "can't"}
_WORD = re.compile(r"\b(" + "|".join(_WORDS) + r")\b")


class LexiconError(ValueError):
    """A lexicon line is malformed (the message names the line)."""


@lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON) -> tuple[tuple[re.Pattern[str], str], ...]:
    entries: list[tuple[re.Pattern[str], str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise LexiconError(f"{path}:{number}: expected 'pattern<TAB>replacement', got {line!r}")
        try:
            regex = re.compile(r"(?<![\w'])(?:" + parts[0] + r")(?![\w'])")
        except re.error as exc:
            raise LexiconError(f"{path}:{number}: bad pattern {parts[0]!r}: {exc}") from exc
        entries.append((regex, parts[1]))
    return tuple(entries)


def _deleet(match: re.Match[str]) -> str:
    word = match.group(0)
    return word.translate(_LEET) if _LEET_INSIDE.search(word) else word


def _deleet_all(match: re.Match[str]) -> str:
    word = match.group(0)
    return word if _NOT_LEET.match(word) else word.translate(_LEET)


def _leet_throughout(text: str) -> bool:
    mixed = [w for w in _LEET_MIXED.findall(text) if not _NOT_LEET.match(w)]
    return len(mixed) >= 2 and any(_LEET_INSIDE.search(w) for w in mixed)


def normalise(text: str, lexicon: Path = LEXICON) -> str:
    """The screen's canonical form of ``text`` (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = _ZERO_WIDTH.sub("", text).lower()
    if _leet_throughout(text):
        text = _LONE_ONE.sub("i", _LEET_MIXED.sub(_deleet_all, text))
    text = _LEET_WORD.sub(_deleet, text)
    text = " ".join(_REPEATS.sub(r"\1\1", text).split())
    for regex, replacement in load_lexicon(lexicon):
        text = regex.sub(replacement, text)
    text = _CONTRACTIONS.sub(lambda m: m.group(1)[:-1] + "'" + m.group(1)[-1], text)
    text = _WORD.sub(lambda m: _WORDS[m.group(1)], text)
    return " ".join(text.split())
