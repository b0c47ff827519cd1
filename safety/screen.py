"""The risk screen: a layered check of user text (typed or transcribed) before any reply, and of
generated replies.

Layers, in order, for user text (``SafetyPolicy.check_user(text, level)`` → ``SafetyVerdict``):

1. **Normalisation** (``safety.normalise`` + ``lexicon.tsv``): misspellings, leetspeak, algospeak.
2. **Patterns** (``safety.patterns``): explicit first-person statements, fast and transparent;
   figures of speech are blanked first and directly negated statements skipped.
3. **The trained classifier** (``safety.classifier``): the packaged sentence encoder with LoRA
   adapters, trained on the authored corpus ``corpora/crisis``; it catches the phrasings no list
   foresees.  A message is flagged when a pattern fires or the classifier's risk score reaches the
   level's threshold (``standard``, or the lower ``strict`` one for the mental-health profile).
4. **A second opinion** (on by default): a second, higher-recall classifier (``safety/weights_recall``)
   reads the messages the first left unflagged **that carry a risk cue** (``safety.cues``) and flags them
   at its own ``standard`` threshold (``matched="second_classifier"``): at ``strict`` whatever kind it
   reads, at ``standard`` only the acts the first misses on messages written by strangers (a plan,
   preparatory acts, risk inside a request, an attempt; ``SECOND_OPINION_KINDS``).  The cue condition
   keeps the second model off everyday talk, where its false alarms were.
5. **A crisis told as over** (``safety.recovered``): a message with a distance in time, a recovery and
   nothing current ("three years ago I tried, I'm doing well now") is answered as ``concern``
   (``matched="recovered_past"``), not escalated, whatever fired above.

The verdict carries ``kind`` and ``severity`` (``safety.taxonomy``), ``matched`` (the pattern or
``classifier``) and ``score`` (the classifier's risk score).  Flagged turns get a fixed message by
severity and kind (``safety.responses``); ``concern`` (low mood without risk) is not flagged but is
reported so the reply can check in gently.  Replies are screened by patterns only (harmful advice,
diagnoses), on every streamed delta.

Configuration: ``SafetyPolicy(patterns=..., responses=..., idioms=...)`` or a JSON/YAML file
(``SafetyPolicy.from_file``, ``EMOTION_AGENT_SAFETY_CONFIG``)::

    {"extend": true,                       # add to the default rules (false: replace them)
     "locale": "en-AU",
     "resources": {"en-AU": ["Lifeline answers any time on 13 11 14."]},
     "messages": {"high": "I'm so sorry you feel this way. {resources}"},
     "phrases": [{"kind": "self_harm", "phrase": "unalive myself"}],
     "patterns": [{"kind": "abuse", "pattern": "\\\\bi'll\\\\s+ruin\\\\s+you\\\\b", "level": "strict"}],
     "idioms": ["\\\\bdead\\\\s+to\\\\s+the\\\\s+world\\\\b"]}

No message text is logged or stored by the screen.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emotion_agent.safety.cues import has_risk_cue
from emotion_agent.safety.normalise import normalise
from emotion_agent.safety.patterns import (
    DEFAULT_RULES,
    IDIOMS,
    NEGATION,
    REPLY_KINDS,
    TRANSPARENT,
    USER_KINDS,
    SafetyRule,
)
from emotion_agent.safety.recovered import recovered_past
from emotion_agent.safety.responses import MESSAGES, RESOURCES, ResponseBook
from emotion_agent.safety.taxonomy import RISK_KINDS

if TYPE_CHECKING:
    from emotion_agent.core.settings import Settings
    from emotion_agent.safety.classifier import RiskClassifier

log = logging.getLogger(__name__)

LEVELS = ("standard", "strict")
REPLY_MESSAGE = "(reply withheld by the safety screen)"
CONCERN_THRESHOLD = {"standard": 0.6, "strict": 0.4}
"""p(concern) from the classifier at which an unflagged message is reported as ``concern``."""
SECOND_OPINION_KINDS: dict[str, frozenset[str] | None] = {
    "standard": frozenset({"plan", "preparatory", "embedded", "attempt"}),
    "strict": None,
}
"""Which kinds the second opinion may flag at each level (None: any)."""
_IMMINENT_CUES = re.compile(
    r"\b(?:tonight|today|right now|now|this (?:morning|afternoon|evening|weekend|week)|tomorrow|"
    r"in (?:an|a few|\d+) (?:hour|hours|minutes)|already (?:took|taken|swallowed|cut)|"
    r"took (?:all|the whole|a (?:bunch|load|lot|handful))|swallowed|on the (?:bridge|roof|ledge|edge|tracks)|"
    r"(?:locked|shut|barricaded) (?:myself|himself|herself|themselves|themself) in|"  # alone with intent, now
    r"(?:have|got|bought) (?:the |a )?(?:rope|gun|pills|blades?)|by (?:monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday|christmas|tomorrow|the weekend))\b")


class SafetyConfigError(ValueError):
    """A safety configuration (file or arguments) is invalid; the message names the entry."""


@dataclass(frozen=True)
class SafetyVerdict:
    """The result of one screen.  ``flagged`` is False for clean text (``kind`` is then ``"none"``,
    or ``"concern"`` with severity ``concern``)."""

    flagged: bool
    kind: str = "none"
    matched: str = ""
    """What fired: ``pattern:<kind>#<n>`` (the n-th rule), or ``classifier``; never the user's words."""
    message: str = ""
    """What to say instead of a generated reply (user screens); empty when not flagged."""
    source: str = "user"
    severity: str = "none"
    score: float | None = None
    """The classifier's risk score (None when it did not run)."""
    threshold: float | None = None
    """The classifier's threshold at the level screened (None without a classifier): what
    ``ConversationRisk`` measures sub-threshold signals against."""


CLEAR_REPLY = SafetyVerdict(False, source="reply")
_CLAUSE_BREAK = re.compile(r"[.!?;:,\n]|\bbut\b|\bhowever\b|\bthough\b")
_NEGATED = re.compile(NEGATION + r"\s+(?:" + TRANSPARENT + r"\s+)*$")


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
        responses: ResponseBook | None = None,
        idioms: Sequence[str] | None = None,
        kind_order: Sequence[str] = (*USER_KINDS, *REPLY_KINDS),
        classifier: RiskClassifier | None = None,
        second_opinion: RiskClassifier | None = None,
        strict_classifier: RiskClassifier | None = None,
    ) -> None:
        """``patterns`` replaces the default rules (use ``DEFAULT_RULES + (...)`` to extend);
        ``responses`` the messages and resources; ``idioms`` the blanked figures of speech;
        ``classifier`` adds the trained stage (without it the screen runs on patterns alone);
        ``second_opinion`` the second classifier on cued messages (layer 4); ``strict_classifier``
        takes the place of ``classifier`` at the ``strict`` level (with its own thresholds)."""
        self.classifier = classifier
        self.second_opinion = second_opinion
        self.strict_classifier = strict_classifier if classifier is not None else None
        rules = tuple(DEFAULT_RULES if patterns is None else patterns)
        self.rules = rules
        self.responses = responses or ResponseBook()
        self.idioms = tuple(IDIOMS if idioms is None else idioms)
        kinds = list(kind_order) + sorted({r.kind for r in rules} - set(kind_order))
        self._rank = {kind: i for i, kind in enumerate(kinds)}
        compiled = _compile(rules)
        self._rule_ids = {id(c): i for i, c in enumerate(compiled)}
        self._user = {level: [c for c in compiled if c.rule.source == "user"
                              and (level == "strict" or c.rule.level == "standard")] for level in LEVELS}
        self._reply = [c for c in compiled if c.rule.source == "reply"]
        try:
            self._idiom = re.compile("|".join(f"(?:{p})" for p in self.idioms)) if self.idioms else None
        except re.error as exc:
            raise SafetyConfigError(f"bad idiom pattern in {self.idioms!r}: {exc}") from exc
        for key, text in self.responses.messages.items():
            try:
                text.format(resources="", emergency="")
            except (KeyError, IndexError, ValueError) as exc:
                raise SafetyConfigError(f"message for {key!r} has a bad placeholder ({exc}); "
                                        "only {resources} and {emergency} are allowed") from exc

    # -- construction from configuration ---------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path, classifier: RiskClassifier | None = None,
                  second_opinion: RiskClassifier | None = None,
                  strict_classifier: RiskClassifier | None = None) -> SafetyPolicy:
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
            return cls.from_config(data, classifier, second_opinion=second_opinion,
                                   strict_classifier=strict_classifier)
        except SafetyConfigError as exc:
            raise SafetyConfigError(f"{path}: {exc}") from exc

    @classmethod
    def from_config(cls, data: Mapping[str, Any], classifier: RiskClassifier | None = None,
                    locale: str | None = None, second_opinion: RiskClassifier | None = None,
                    strict_classifier: RiskClassifier | None = None) -> SafetyPolicy:
        known = {"extend", "locale", "resources", "messages", "phrases", "patterns", "idioms"}
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
        locale = str(data.get("locale") or locale or "default")
        resources: dict[str, Sequence[str]] = dict(RESOURCES)
        raw = data.get("resources")
        if isinstance(raw, list) and all(isinstance(r, str) for r in raw):
            resources[locale] = tuple(raw)
        elif isinstance(raw, dict) and all(isinstance(v, list) and all(isinstance(r, str) for r in v)
                                            for v in raw.values()):
            resources.update({str(k): tuple(v) for k, v in raw.items()})
        elif raw is not None:
            raise SafetyConfigError("resources must be a list of strings or map a locale to a list of strings")
        messages = data.get("messages")
        if messages is not None and not (isinstance(messages, dict)
                                         and all(isinstance(v, str) for v in messages.values())):
            raise SafetyConfigError("messages must map a kind or severity to its text")
        book = ResponseBook(locale=locale, resources=resources, messages={**MESSAGES, **(messages or {})})
        return cls(patterns=rules, responses=book, idioms=idioms, classifier=classifier, second_opinion=second_opinion,
                   strict_classifier=strict_classifier)

    @classmethod
    def from_settings(cls, settings: Settings) -> SafetyPolicy:
        """The default policy (or the one in ``settings.safety_config``) with the trained classifier
        when ``settings.safety_classifier`` is on, and the second opinion
        (``settings.safety_second_model``; ``none`` turns it off).  If a classifier cannot be loaded,
        the screen runs without it and says so in the log at warning level."""
        classifier = second = strict = None
        if settings.safety_classifier:
            from emotion_agent.safety.classifier import (
                RiskClassifier,
                second_opinion_source,
                strict_model_source,
            )

            try:
                classifier = RiskClassifier.load(settings.safety_model, encoder=settings.text_encoder)
            except Exception as exc:  # a missing model must not take the screen down
                log.warning("safety: classifier off, patterns only (%s: %s)", type(exc).__name__, exc)
            if classifier is not None:  # the others only alongside the first

                def extra(source: str | Path | None, without: str) -> RiskClassifier | None:
                    if source is None:
                        return None
                    try:
                        return RiskClassifier.load(source, encoder=settings.text_encoder)
                    except Exception as exc:
                        log.warning("safety: %s (%s: %s)", without, type(exc).__name__, exc)
                        return None

                second = extra(second_opinion_source(settings.safety_second_model, settings.safety_model),
                               "no second opinion")
                strict = extra(strict_model_source(settings.safety_strict_model, settings.safety_model),
                               "the strict level uses the standard classifier")
        path = settings.safety_config
        if path is None:
            return cls(classifier=classifier, second_opinion=second, strict_classifier=strict,
                       responses=ResponseBook(locale=settings.safety_locale))
        return cls.from_file(path, classifier, second_opinion=second, strict_classifier=strict)

    # -- screening -------------------------------------------------------------------------------

    def message_for(self, kind: str, severity: str = "high") -> str:
        return self.responses.message(kind, severity)

    def check_user(self, text: str, level: str = "standard") -> SafetyVerdict:
        """Screen one user message.  ``level``: ``standard`` or ``strict`` (lower threshold, and the
        indirect-language patterns)."""
        if level not in LEVELS:
            raise ValueError(f"safety level must be one of {LEVELS}, got {level!r}")
        plain = self._normalised(text)
        norm = self._blank_idioms(plain)
        if not norm.strip():
            return SafetyVerdict(False, source="user")
        hit = self._match(norm, self._user[level])
        model = self.classifier_for(level)
        scores = model.score(plain) if model is not None else None
        risk = scores.risk if scores is not None else None
        cue = has_risk_cue(norm) if model is not None else False
        limit = self._threshold(model, level, cue) if model is not None else None
        by_model = risk is not None and limit is not None and risk >= limit
        second = False
        if hit is None and not by_model and self.second_opinion is not None and cue:
            other = self.second_opinion.score(plain)
            other_limit = self.second_opinion.config.thresholds.get("standard", 0.5)
            kinds = SECOND_OPINION_KINDS[level]
            if other.risk >= other_limit and (kinds is None or other.kind in kinds):
                scores, risk, limit, by_model, second = other, other.risk, other_limit, True, True
        if hit is None and not by_model:
            if scores is not None and scores.concern >= CONCERN_THRESHOLD[level]:
                return SafetyVerdict(False, "concern", "classifier", "", "user", "concern", risk, limit)
            return SafetyVerdict(False, source="user", score=risk, threshold=limit)
        if recovered_past(norm):  # a crisis told as over, with recovery and nothing current
            return SafetyVerdict(False, "concern", "recovered_past", "", "user", "concern", None, limit)
        if hit is not None:
            kind, matched = hit
            if kind == "self_harm":  # the patterns' suicide/self-injury kind: the model names which
                kind = scores.kind if scores is not None and scores.kind in RISK_KINDS else "explicit_ideation"
        else:
            assert scores is not None
            kind = scores.kind if scores.kind in RISK_KINDS else "explicit_ideation"
            matched = "second_classifier" if second else "classifier"
        severity = "high"
        if kind in RISK_KINDS and ((scores is not None and scores.severity == "imminent")
                                   or kind == "attempt" or _IMMINENT_CUES.search(norm)):
            severity = "imminent"
        return SafetyVerdict(True, kind, matched, self.message_for(kind, severity), "user", severity, risk, limit)

    def has_cue(self, text: str) -> bool:
        """Whether ``text`` (raw) contains a risk cue after normalisation and idiom blanking: what
        picks the classifier threshold in ``check_user``."""
        return has_risk_cue(self._prepare(text))

    def classifier_for(self, level: str) -> RiskClassifier | None:
        """The classifier that scores messages at ``level``: the strict one at ``strict`` when there is
        one, else the standard one (None: patterns only)."""
        if level == "strict" and self.strict_classifier is not None:
            return self.strict_classifier
        return self.classifier

    @staticmethod
    def _threshold(model: RiskClassifier, level: str, cue: bool) -> float:
        """``model``'s threshold for ``level``; a message without any risk cue (``cue`` False,
        ``safety.cues``) uses the level's ``<level>_no_cue`` threshold when the model has one."""
        thresholds = model.config.thresholds
        base = thresholds.get(level, 0.5)
        if cue:
            return base
        return max(base, thresholds.get(f"{level}_no_cue", base))

    def check_reply(self, text: str) -> SafetyVerdict:
        """Screen a (partial) reply: harmful advice or a diagnosis flags it; ``message`` is a placeholder."""
        norm = self._prepare(text)
        hit = self._match(norm, self._reply) if norm.strip() else None
        if hit is None:
            return CLEAR_REPLY
        kind, matched = hit
        return SafetyVerdict(True, kind, matched, REPLY_MESSAGE, "reply", "high")

    def _prepare(self, text: str) -> str:
        return self._blank_idioms(self._normalised(text))

    @staticmethod
    def _normalised(text: str) -> str:
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, got {type(text).__name__}")
        return normalise(text)

    def _blank_idioms(self, norm: str) -> str:
        """``norm`` with every idiom ("dying for a coffee") blanked out, same length."""
        if norm and self._idiom is not None:
            norm = self._idiom.sub(lambda m: " " * len(m.group(0)), norm)
        return norm

    def _match(self, norm: str, rules: Sequence[_Compiled]) -> tuple[str, str] | None:
        """(kind, rule id) of the most urgent rule that matches; the id names the rule, not the text."""
        best: tuple[int, str, str] | None = None
        for c in rules:
            rank = self._rank.get(c.rule.kind, len(self._rank))
            if best is not None and rank >= best[0]:
                continue
            for m in c.regex.finditer(norm):
                if c.rule.negatable and _negated(norm, m.start()):
                    continue
                best = (rank, c.rule.kind, f"pattern:{c.rule.kind}#{self._rule_ids[id(c)]}")
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
