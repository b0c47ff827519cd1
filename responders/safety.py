"""The safety layer: screens user text for crisis language and abuse, and replies for harm.

``SafetyPolicy.check_user(text, level)`` → ``SafetyVerdict``.  On a hit the agent sends an
``escalation`` event and the verdict's fixed, supportive ``message`` (with crisis resources) instead
of a generated reply; nothing the model says is shown for that turn.  ``check_reply(text)`` screens
the reply as it streams (the agent passes the text accumulated so far): medication or dosing advice,
self-harm methods (``harmful_advice``) and diagnoses (``diagnosis``) cut the reply.

Kinds: ``self_harm`` (suicide, self-injury), ``crisis`` (danger from someone else, abuse at home,
sexual assault, an overdose already taken), ``abuse`` (threats to harm others, abusive insults);
replies: ``harmful_advice``, ``diagnosis``.

Two stages for user text.  Patterns first (``responders.safety_patterns``): transparent, fast (tens
of µs per line), they flag explicit first-person statements and leave hyperbole ("this traffic is
killing me", "I could kill for a coffee"), negated statements ("I'd never hurt myself") and topic
mentions ("my sister works at a suicide prevention charity") alone.  Text the patterns let through
goes to the semantic stage (``responders.safety_semantic``): nearest labelled exemplar by sentence
embedding, which catches paraphrases no list foresees (≈ 10 ms per message).  Replies are screened by
patterns only (they run on every streamed delta).  ``tests/test_safety.py`` runs the labelled cases in
``tests/data/safety_cases.json`` through both and reports recall and precision.

Configuration: ``SafetyPolicy(patterns=..., resources=..., messages=..., idioms=...)``, or a JSON /
YAML file (``SafetyPolicy.from_file`` or ``EMOTION_AGENT_SAFETY_CONFIG``)::

    {"extend": true,                       # add to the defaults (false: replace them)
     "resources": ["Call 000 (Australia) or Lifeline 13 11 14."],
     "messages": {"self_harm": "I'm so sorry you feel this way. {resources}"},
     "phrases": [{"kind": "self_harm", "phrase": "unalive myself"}],
     "patterns": [{"kind": "abuse", "pattern": "\\\\bi'll\\\\s+ruin\\\\s+you\\\\b", "level": "strict"}],
     "idioms": ["\\\\bdead\\\\s+on\\\\s+my\\\\s+feet\\\\b"]}
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from responders.safety_patterns import (
    DEFAULT_MESSAGES,
    DEFAULT_RESOURCES,
    DEFAULT_RULES,
    IDIOMS,
    NEGATION,
    REPLY_KINDS,
    TRANSPARENT,
    USER_KINDS,
    SafetyRule,
)

if TYPE_CHECKING:
    from emotion_agent.settings import Settings
    from responders.safety_semantic import SemanticScreen

log = logging.getLogger(__name__)

LEVELS = ("standard", "strict")
REPLY_MESSAGE = "(reply withheld by the safety screen)"


class SafetyConfigError(ValueError):
    """A safety configuration (file or arguments) is invalid; the message names the entry."""


@dataclass(frozen=True)
class SafetyVerdict:
    """The result of one screen.  ``flagged`` is False for clean text (``kind`` is then ``"none"``)."""

    flagged: bool
    kind: str = "none"
    matched: str = ""
    """The matched span of the normalised text (for logs and the host; not shown to the user)."""
    message: str = ""
    """What to say instead of a generated reply (user screens); empty when not flagged."""
    source: str = "user"


CLEAR_USER = SafetyVerdict(False, source="user")
CLEAR_REPLY = SafetyVerdict(False, source="reply")

_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_CONTRACTIONS = re.compile(
    r"\b(dont|cant|wont|isnt|wasnt|doesnt|didnt|wouldnt|couldnt|shouldnt|aint|arent|werent|havent|hasnt)\b"
)
_WORDS = {"im": "i'm", "ive": "i've", "youre": "you're", "whats": "what's", "theres": "there's",
          "thats": "that's", "hes": "he's", "shes": "she's", "cannot": "can't"}
_WORD = re.compile(r"\b(" + "|".join(_WORDS) + r")\b")
_CLAUSE_BREAK = re.compile(r"[.!?;:,\n]|\bbut\b|\bhowever\b|\bthough\b")
_NEGATED = re.compile(NEGATION + r"\s+(?:" + TRANSPARENT + r"\s+)*$")
_NEGATED_MENTION = re.compile(
    NEGATION + r"\s+(?:" + TRANSPARENT + r"\s+)*(?:suicid\w*|(?:kill|hurt|harm|cut)(?:ing)?\s+myself|die|dying|dead|"
    r"end(?:ing)?\s+(?:it|my\s+life|things)|self[- ]?harm\w*)\b")
"""A negated crisis word ("not suicidal", "never kill myself") even where no rule matched."""


def normalise(text: str) -> str:
    """Lower-case, NFKC, straight quotes, no zero-width characters, contractions restored, single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = _ZERO_WIDTH.sub("", text).lower()
    text = _CONTRACTIONS.sub(lambda m: m.group(1)[:-1] + "'" + m.group(1)[-1], text)
    # ("ill"/"id" stay as they are: "I feel ill" is not "I feel I'll"; the abuse rules accept "ill kill".)
    text = _WORD.sub(lambda m: _WORDS[m.group(1)], text)
    return " ".join(text.split())


def _negated(text: str, start: int) -> bool:
    """True when the clause before ``start`` ends with a negation ("I would never ", "I'm not going to ")."""
    head = text[max(0, start - 80):start]
    breaks = list(_CLAUSE_BREAK.finditer(head))
    if breaks:
        head = head[breaks[-1].end():]
    return bool(_NEGATED.search(head))


@dataclass(frozen=True)
class _Compiled:
    rule: SafetyRule
    regex: re.Pattern[str]


def _compile(rules: Iterable[SafetyRule]) -> list[_Compiled]:
    out = []
    for rule in rules:
        if rule.level not in LEVELS:
            raise SafetyConfigError(f"rule {rule.pattern!r}: level must be one of {LEVELS}, got {rule.level!r}")
        if rule.source not in ("user", "reply"):
            raise SafetyConfigError(f"rule {rule.pattern!r}: source must be 'user' or 'reply', got {rule.source!r}")
        try:
            out.append(_Compiled(rule, re.compile(rule.pattern)))
        except re.error as exc:
            raise SafetyConfigError(f"bad safety pattern {rule.pattern!r}: {exc}") from exc
    return out


class SafetyPolicy:
    """Screens user text and replies.  Thread-safe (immutable after construction)."""

    def __init__(
        self,
        patterns: Sequence[SafetyRule] | None = None,
        resources: Sequence[str] | None = None,
        messages: Mapping[str, str] | None = None,
        idioms: Sequence[str] | None = None,
        kind_order: Sequence[str] = (*USER_KINDS, *REPLY_KINDS),
        semantic: SemanticScreen | None = None,
    ) -> None:
        """``patterns`` replaces the default rules (use ``DEFAULT_RULES + (...)`` to extend);
        ``resources`` are the help lines put into each message's ``{resources}``; ``messages`` maps a
        kind to its text (merged over the defaults); ``idioms`` replaces the blanked figures of speech;
        ``semantic`` adds the nearest-exemplar stage for user text the patterns let through."""
        self.semantic = semantic
        rules = tuple(DEFAULT_RULES if patterns is None else patterns)
        self.rules = rules
        self.resources = tuple(DEFAULT_RESOURCES if resources is None else resources)
        self.messages = {**DEFAULT_MESSAGES, **(messages or {})}
        self.idioms = tuple(IDIOMS if idioms is None else idioms)
        kinds = list(kind_order) + sorted({r.kind for r in rules} - set(kind_order))
        self._rank = {kind: i for i, kind in enumerate(kinds)}
        compiled = _compile(rules)
        self._user = {level: [c for c in compiled if c.rule.source == "user"
                              and (level == "strict" or c.rule.level == "standard")] for level in LEVELS}
        self._reply = [c for c in compiled if c.rule.source == "reply"]
        try:
            self._idiom = re.compile("|".join(f"(?:{p})" for p in self.idioms)) if self.idioms else None
        except re.error as exc:
            raise SafetyConfigError(f"bad idiom pattern in {self.idioms!r}: {exc}") from exc
        for kind in {r.kind for r in rules if r.source == "user"}:
            if kind not in self.messages:
                raise SafetyConfigError(f"no message for user kind {kind!r}; add it to messages")
        for kind, text in self.messages.items():
            try:
                text.format(resources="")
            except (KeyError, IndexError, ValueError) as exc:
                raise SafetyConfigError(f"message for {kind!r} has a bad placeholder ({exc}); "
                                        "only {resources} is allowed") from exc

    # -- construction from configuration ---------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path, semantic: SemanticScreen | None = None) -> SafetyPolicy:
        """A policy from a JSON or YAML file (format in the module docstring)."""
        path = Path(path)
        if not path.is_file():
            raise SafetyConfigError(f"safety config not found: {path}")
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix.lower() in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text)
            else:
                data = json.loads(text)
        except Exception as exc:
            raise SafetyConfigError(f"{path}: cannot parse ({type(exc).__name__}: {exc})") from exc
        if not isinstance(data, dict):
            raise SafetyConfigError(f"{path}: expected a mapping at the top level")
        try:
            return cls.from_config(data, semantic)
        except SafetyConfigError as exc:
            raise SafetyConfigError(f"{path}: {exc}") from exc

    @classmethod
    def from_config(cls, data: Mapping[str, Any], semantic: SemanticScreen | None = None) -> SafetyPolicy:
        known = {"extend", "resources", "messages", "phrases", "patterns", "idioms"}
        unknown = set(data) - known
        if unknown:
            raise SafetyConfigError(f"unknown keys {sorted(unknown)}; expected some of {sorted(known)}")
        extend = bool(data.get("extend", True))
        rules: list[SafetyRule] = list(DEFAULT_RULES) if extend else []
        for entry in data.get("phrases", []) or []:
            rules.append(_rule(entry, phrase=True))
        for entry in data.get("patterns", []) or []:
            rules.append(_rule(entry, phrase=False))
        idioms = list(IDIOMS) if extend else []
        idioms += [str(p) for p in data.get("idioms", []) or []]
        resources = data.get("resources")
        messages = data.get("messages")
        if resources is not None and not (isinstance(resources, list) and all(isinstance(r, str) for r in resources)):
            raise SafetyConfigError("resources must be a list of strings")
        if messages is not None and not isinstance(messages, dict):
            raise SafetyConfigError("messages must map a kind to its text")
        return cls(patterns=rules, resources=resources, messages=messages, idioms=idioms, semantic=semantic)

    @classmethod
    def from_settings(cls, settings: Settings) -> SafetyPolicy:
        """The default policy, or the one in ``settings.safety_config``; with the semantic stage when
        ``settings.safety_semantic`` (the sentence encoder is ``settings.text_encoder``).  If the encoder
        cannot be loaded the policy runs on patterns alone and says so in the log."""
        semantic = None
        if settings.safety_semantic:
            from responders.safety_semantic import SemanticScreen

            try:
                semantic = SemanticScreen.load(settings.text_encoder)
            except Exception as exc:  # a missing encoder must not take the safety screen down
                log.warning("safety: semantic stage off, patterns only (%s: %s)", type(exc).__name__, exc)
        path = settings.safety_config
        return cls(semantic=semantic) if path is None else cls.from_file(path, semantic)

    # -- screening -------------------------------------------------------------------------------

    def message_for(self, kind: str) -> str:
        template = self.messages.get(kind, self.messages.get("self_harm", ""))
        return template.format(resources=" ".join(self.resources)).strip()

    def check_user(self, text: str, level: str = "standard") -> SafetyVerdict:
        """Screen one user message.  ``level``: ``standard`` or ``strict`` (adds indirect crisis language)."""
        if level not in LEVELS:
            raise ValueError(f"safety level must be one of {LEVELS}, got {level!r}")
        hit = self._match(text, self._user[level])
        if hit is None and self.semantic is not None:
            # Sentences where a rule matched but was negated ("I would never kill myself") are left out:
            # embeddings do not see negation, and the patterns have already read those sentences.
            found = self.semantic.match(self._without_negated(text, self._user[level]), level)
            if found is not None:
                hit = (found.kind, f"≈ {found.exemplar!r} ({found.similarity:.2f})")
        if hit is None:
            return CLEAR_USER
        kind, matched = hit
        return SafetyVerdict(True, kind, matched, self.message_for(kind), "user")

    def check_reply(self, text: str) -> SafetyVerdict:
        """Screen a (partial) reply: harmful advice or a diagnosis flags it; ``message`` is a placeholder."""
        hit = self._match(text, self._reply)
        if hit is None:
            return CLEAR_REPLY
        kind, matched = hit
        return SafetyVerdict(True, kind, matched, REPLY_MESSAGE, "reply")

    def _without_negated(self, text: str, rules: Sequence[_Compiled]) -> str:
        norm = self._prepare(text)
        negated = [m.start() for c in rules if c.rule.negatable for m in c.regex.finditer(norm)
                   if _negated(norm, m.start())]
        negated += [m.start() for m in _NEGATED_MENTION.finditer(norm)]
        if not negated:
            return text
        bounds = [0, *(m.end() for m in re.finditer(r"[.!?\n]+", norm)), len(norm) + 1]
        keep = [norm[a:b] for a, b in itertools.pairwise(bounds) if not any(a <= i < b for i in negated)]
        return " ".join(part.strip() for part in keep if part.strip())

    def _prepare(self, text: str) -> str:
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, got {type(text).__name__}")
        norm = normalise(text)
        if norm and self._idiom is not None:
            norm = self._idiom.sub(lambda m: " " * len(m.group(0)), norm)
        return norm

    def _match(self, text: str, rules: Sequence[_Compiled]) -> tuple[str, str] | None:
        norm = self._prepare(text)
        if not norm.strip():
            return None
        best: tuple[int, str, str] | None = None
        for c in rules:
            rank = self._rank.get(c.rule.kind, len(self._rank))
            if best is not None and rank >= best[0]:
                continue
            for m in c.regex.finditer(norm):
                if c.rule.negatable and _negated(norm, m.start()):
                    continue
                best = (rank, c.rule.kind, m.group(0).strip())
                break
        return None if best is None else (best[1], best[2])


def _rule(entry: Any, phrase: bool) -> SafetyRule:
    if not isinstance(entry, Mapping):
        raise SafetyConfigError(f"each {'phrase' if phrase else 'pattern'} entry must be a mapping, got {entry!r}")
    key = "phrase" if phrase else "pattern"
    if "kind" not in entry or key not in entry:
        raise SafetyConfigError(f"entry {dict(entry)!r} needs 'kind' and '{key}'")
    text = str(entry[key])
    pattern = (r"\b" + r"\s+".join(re.escape(w) for w in normalise(text).split()) + r"\b") if phrase else text
    extra = set(entry) - {"kind", key, "level", "source", "negatable"}
    if extra:
        raise SafetyConfigError(f"entry {dict(entry)!r}: unknown keys {sorted(extra)}")
    return SafetyRule(kind=str(entry["kind"]), pattern=pattern, source=entry.get("source", "user"),
                      level=entry.get("level", "standard"), negatable=bool(entry.get("negatable", True)))
