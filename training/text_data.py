"""Text-emotion examples with their dialogue context, from every text format the project reads.

One reader per format, one ``TextExample`` type out (the current message, its label, the previous
turns of the conversation oldest first, the domain and the dialogue it came from):

* GoEmotions ``.tsv`` (text, fine label ids, id): single Reddit comments, no context.
* MELD ``.csv`` (``Utterance``, ``Emotion``, ``Dialogue_ID``, ``Utterance_ID``): the previous
  utterances of the same dialogue, in ``Utterance_ID`` order, are the context.
* EmoryNLP ``.csv`` (``Utterance``, ``Emotion``, ``Season``, ``Episode``, ``Scene_ID``,
  ``Utterance_ID``): a scene of an episode is one dialogue.  Its seven feelings map to our labels by
  ``EMORYNLP_TO_LABEL`` (see there for why).
* Authored ``.tsv`` with a header ``domain  previous  text  label`` (``corpora/conversation``):
  ``previous`` is the other party's preceding turn (may be empty); an optional ``source`` column.
* Authored dialogue ``.jsonl`` (``corpora/dialogue``): one conversation per line, ``{"id", "profile",
  "turns": [{"user", "emotion", "reply"}, ...]}``; each user turn whose emotion is one of the seven labels
  is an example (``uncertain`` turns are context only), read after the earlier user turns *and the
  replies*, as the live session reads a turn after its own replies.

``load_examples(path)`` picks the reader from the extension and the header.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion_agent.core.labels import LABEL_INDEX, from_meld
from emotion_agent.training.datasets import DatasetError, fix_mojibake, load_goemotions

DEFAULT_CONTEXT_TURNS = 2
"""How many previous turns a dialogue reader attaches to each utterance."""

EMORYNLP_TO_LABEL: dict[str, str] = {
    "joyful": "happy",
    "powerful": "happy",
    "peaceful": "neutral",
    "neutral": "neutral",
    "mad": "angry",
    "sad": "sad",
    "scared": "fearful",
}
"""EmoryNLP's feeling-wheel classes → our seven labels.

Joyful, Mad, Sad, Scared and Neutral map directly.  *Powerful* (proud, confident, valued) is a
pleasant, activated state: happy.  *Peaceful* (content, relaxed, thankful) is pleasant but calm; on
the valence/arousal plane it sits nearer neutral (0, 0) than happy (0.8, 0.5), and its utterances are
mostly matter-of-fact lines, so it maps to neutral.  EmoryNLP has no disgust or surprise class:
it never teaches those two labels (nor counts against them)."""


@dataclass(frozen=True)
class TextExample:
    text: str
    label: int
    """Index into ``LABELS``."""
    context: tuple[str, ...] = ()
    """Previous turns of the conversation, oldest first (empty when there are none)."""
    domain: str = ""
    """``goemotions``, ``meld``, ``emorynlp``, or the authored row's ``domain`` (support, checkin, ...)."""
    group: str = ""
    """The dialogue (or item) the example belongs to: splits keep a group together."""


def texts_and_labels(examples: Sequence[TextExample]) -> tuple[list[str], np.ndarray]:
    return [e.text for e in examples], np.array([e.label for e in examples], dtype=np.int64)


def with_context(examples: Iterable[TextExample], turns: int) -> list[TextExample]:
    """The same examples keeping only the last ``turns`` previous turns (0: none)."""
    out = []
    for e in examples:
        ctx = e.context[-turns:] if turns > 0 else ()
        out.append(TextExample(e.text, e.label, ctx, e.domain, e.group))
    return out


def _require(path: Path, what: str) -> None:
    if not path.exists():
        raise DatasetError(f"{what} not found: {path}")


def load_goemotions_examples(path: Path) -> list[TextExample]:
    texts, y = load_goemotions(Path(path))
    return [TextExample(t, int(label), (), "goemotions", f"goemotions:{i}")
            for i, (t, label) in enumerate(zip(texts, y, strict=True))]


def _dialogue_examples(rows: Sequence[tuple[tuple[int, ...], int, str, int]], domain: str,
                       context_turns: int) -> list[TextExample]:
    """``rows``: (dialogue key, utterance id, text, label); context = previous utterances of the key."""
    out: list[TextExample] = []
    history: dict[tuple[int, ...], list[tuple[int, str]]] = {}
    for key, _, text, label in sorted(rows, key=lambda r: (r[0], r[1])):
        seen = history.setdefault(key, [])
        ctx = tuple(t for _, t in seen[-context_turns:]) if context_turns > 0 else ()
        out.append(TextExample(text, label, ctx, domain, f"{domain}:" + "-".join(str(k) for k in key)))
        seen.append((0, text))
    return out


def load_meld_examples(path: Path, context_turns: int = DEFAULT_CONTEXT_TURNS) -> list[TextExample]:
    """MELD utterances with the previous ``context_turns`` utterances of their dialogue."""
    path = Path(path)
    _require(path, "MELD file")
    rows: list[tuple[tuple[int, ...], int, str, int]] = []
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.DictReader(fh)
        need = {"Utterance", "Emotion", "Dialogue_ID", "Utterance_ID"}
        if reader.fieldnames is None or not need <= set(reader.fieldnames):
            raise DatasetError(f"{path}: expected MELD columns {sorted(need)}")
        for row in reader:
            rows.append(((int(row["Dialogue_ID"]),), int(row["Utterance_ID"]),
                         fix_mojibake(row["Utterance"]).strip(), LABEL_INDEX[from_meld(row["Emotion"])]))
    return _dialogue_examples(rows, "meld", context_turns)


def from_emorynlp(raw: str) -> str:
    key = raw.strip().lower()
    if key not in EMORYNLP_TO_LABEL:
        raise DatasetError(f"EmoryNLP: unknown label {raw!r}; expected one of {sorted(EMORYNLP_TO_LABEL)}")
    return EMORYNLP_TO_LABEL[key]


def load_emorynlp_examples(path: Path, context_turns: int = DEFAULT_CONTEXT_TURNS) -> list[TextExample]:
    """EmoryNLP utterances with the previous ``context_turns`` utterances of their scene."""
    path = Path(path)
    _require(path, "EmoryNLP file")
    rows: list[tuple[tuple[int, ...], int, str, int]] = []
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.DictReader(fh)
        need = {"Utterance", "Emotion", "Scene_ID", "Utterance_ID"}
        if reader.fieldnames is None or not need <= set(reader.fieldnames):
            raise DatasetError(f"{path}: expected EmoryNLP columns {sorted(need)}")
        for row in reader:
            key = (int(row.get("Season") or 0), int(row.get("Episode") or 0), int(row["Scene_ID"]))
            rows.append((key, int(row["Utterance_ID"]), fix_mojibake(row["Utterance"]).strip(),
                         LABEL_INDEX[from_emorynlp(row["Emotion"])]))
    return _dialogue_examples(rows, "emorynlp", context_turns)


AUTHORED_COLUMNS = ("domain", "previous", "text", "label")


def load_authored_examples(path: Path) -> list[TextExample]:
    """The authored conversational TSV (header ``domain previous text label`` [+ ``source``])."""
    path = Path(path)
    _require(path, "authored corpus")
    out: list[TextExample] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        if reader.fieldnames is None or not set(AUTHORED_COLUMNS) <= set(reader.fieldnames):
            raise DatasetError(f"{path}: expected a header with columns {list(AUTHORED_COLUMNS)}")
        for lineno, row in enumerate(reader, 2):
            label = (row.get("label") or "").strip().lower()
            text = (row.get("text") or "").strip()
            if label not in LABEL_INDEX or not text:
                raise DatasetError(f"{path}:{lineno}: need a text and one of {sorted(LABEL_INDEX)}, got {label!r}")
            previous = (row.get("previous") or "").strip()
            out.append(TextExample(text, LABEL_INDEX[label], (previous,) if previous else (),
                                   (row.get("domain") or "authored").strip(), f"{path.stem}:{lineno}"))
    return out


def load_dialogue_examples(path: Path, context_turns: int = DEFAULT_CONTEXT_TURNS) -> list[TextExample]:
    """User turns of the authored dialogue corpus (``.jsonl``) with the previous ``context_turns`` turns
    (user turns and replies alike, oldest first); the domain is ``dialogue``, the group the conversation."""
    path = Path(path)
    _require(path, "dialogue corpus")
    out: list[TextExample] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                conv = json.loads(line)
                turns = conv["turns"]
                cid = str(conv.get("id") or lineno)
            except (ValueError, KeyError, TypeError) as exc:
                raise DatasetError(f"{path}:{lineno}: not a dialogue line with 'turns' ({exc})") from exc
            seen: list[str] = []
            for turn in turns:
                text = str(turn.get("user") or "").strip()
                label = str(turn.get("emotion") or "").strip().lower()
                if text and label in LABEL_INDEX:
                    ctx = tuple(seen[-context_turns:]) if context_turns > 0 else ()
                    out.append(TextExample(text, LABEL_INDEX[label], ctx, "dialogue", f"dialogue:{cid}"))
                seen += [t for t in (text, str(turn.get("reply") or "").strip()) if t]
    return out


def _tsv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        return fh.readline().rstrip("\n").split("\t")


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        return next(csv.reader(fh), [])


def load_examples(path: Path, context_turns: int = DEFAULT_CONTEXT_TURNS) -> list[TextExample]:
    """Any text dataset the project reads, by extension and header (see the module docstring)."""
    path = Path(path)
    _require(path, "text data")
    if path.suffix == ".jsonl":
        return load_dialogue_examples(path, context_turns)
    if path.suffix == ".tsv":
        if set(AUTHORED_COLUMNS) <= set(_tsv_header(path)):
            return with_context(load_authored_examples(path), context_turns)
        return load_goemotions_examples(path)
    if path.suffix == ".csv":
        header = set(_csv_header(path))
        if "Scene_ID" in header:
            return load_emorynlp_examples(path, context_turns)
        if "Dialogue_ID" in header:
            return load_meld_examples(path, context_turns)
        if {"Utterance", "Emotion"} <= header:  # MELD-like without dialogue order: no context
            from emotion_agent.training.datasets import load_meld

            texts, y = load_meld(path)
            return [TextExample(t, int(v), (), "meld", f"meld:{i}") for i, (t, v) in enumerate(zip(texts, y, strict=True))]
        raise DatasetError(f"{path}: not a MELD or EmoryNLP .csv (no Utterance/Emotion/Dialogue_ID/Scene_ID)")
    raise DatasetError(f"{path}: text data must be a GoEmotions or authored .tsv, a dialogue .jsonl, "
                       "or a MELD/EmoryNLP .csv")


__all__ = [
    "DEFAULT_CONTEXT_TURNS",
    "EMORYNLP_TO_LABEL",
    "TextExample",
    "from_emorynlp",
    "load_authored_examples",
    "load_dialogue_examples",
    "load_emorynlp_examples",
    "load_examples",
    "load_goemotions_examples",
    "load_meld_examples",
    "texts_and_labels",
    "with_context",
]
