"""The one label set every expert, fuser and responder speaks, and the dataset mappings into it.

Mappings (see ``../shared/DESIGN.md`` §1):

* RAVDESS (8 classes): calm is folded into neutral, disgust → disgusted.
* FER-2013 (7 classes): angry, disgust, fear, happy, sad, surprise, neutral.
* GoEmotions (27 + neutral, multi-label): each fine label goes to its Ekman class through
  ``ekman_mapping.json``; ``neutral`` stays neutral.  **Multi-label rule:** a row keeps its label
  when all its fine labels land on the same one of our seven classes; rows whose labels land on two
  or more different classes (e.g. ``joy`` + ``sadness``, or ``neutral`` + ``anger``) are dropped as
  conflicting.  On the train split this keeps 93% of rows.
* MELD (7 classes): neutral, joy, sadness, anger, fear, disgust, surprise.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

LABELS: tuple[str, ...] = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
NUM_LABELS = len(LABELS)
LABEL_INDEX: dict[str, int] = {name: i for i, name in enumerate(LABELS)}

# Russell's circumplex positions, rough consensus values in [-1, 1]; used to place a
# distribution on the valence/arousal plane for the mood timeline.
VALENCE: dict[str, float] = {
    "neutral": 0.0,
    "happy": 0.8,
    "sad": -0.7,
    "angry": -0.6,
    "fearful": -0.6,
    "disgusted": -0.6,
    "surprised": 0.2,
}
AROUSAL: dict[str, float] = {
    "neutral": 0.0,
    "happy": 0.5,
    "sad": -0.4,
    "angry": 0.8,
    "fearful": 0.7,
    "disgusted": 0.3,
    "surprised": 0.8,
}
_VALENCE_VEC = np.array([VALENCE[name] for name in LABELS], dtype=np.float32)
_AROUSAL_VEC = np.array([AROUSAL[name] for name in LABELS], dtype=np.float32)

RAVDESS_TO_LABEL: dict[str, str] = {
    "neutral": "neutral",
    "calm": "neutral",
    "happy": "happy",
    "sad": "sad",
    "angry": "angry",
    "fearful": "fearful",
    "disgust": "disgusted",
    "surprised": "surprised",
}
# RAVDESS file names code the emotion as a number (third field).
RAVDESS_CODES: dict[str, str] = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
FER_TO_LABEL: dict[str, str] = {
    "angry": "angry",
    "disgust": "disgusted",
    "fear": "fearful",
    "happy": "happy",
    "sad": "sad",
    "surprise": "surprised",
    "neutral": "neutral",
}
# Class order of the original FER-2013 CSV and of the mini-Xception weights.
FER_CLASS_ORDER: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
MELD_TO_LABEL: dict[str, str] = {
    "neutral": "neutral",
    "joy": "happy",
    "sadness": "sad",
    "anger": "angry",
    "fear": "fearful",
    "disgust": "disgusted",
    "surprise": "surprised",
}
EKMAN_TO_LABEL: dict[str, str] = {
    "anger": "angry",
    "disgust": "disgusted",
    "fear": "fearful",
    "joy": "happy",
    "sadness": "sad",
    "surprise": "surprised",
    "neutral": "neutral",
}


class UnknownLabelError(ValueError):
    """A dataset label that has no place in the seven-label set."""


def _lookup(table: Mapping[str, str], raw: str, dataset: str) -> str:
    key = raw.strip().lower()
    try:
        return table[key]
    except KeyError:
        raise UnknownLabelError(f"{dataset}: unknown label {raw!r}; expected one of {sorted(table)}") from None


def from_ravdess(raw: str) -> str:
    """Map a RAVDESS emotion name (``calm``) or code (``02``) to our label."""
    key = raw.strip()
    if key in RAVDESS_CODES:
        key = RAVDESS_CODES[key]
    return _lookup(RAVDESS_TO_LABEL, key, "RAVDESS")


def from_fer(raw: str | int) -> str:
    """Map a FER-2013 class name or its integer index (CSV order) to our label."""
    if isinstance(raw, int | np.integer):
        if not 0 <= int(raw) < len(FER_CLASS_ORDER):
            raise UnknownLabelError(f"FER-2013: class index {raw} out of range 0..6")
        raw = FER_CLASS_ORDER[int(raw)]
    return _lookup(FER_TO_LABEL, str(raw), "FER-2013")


def from_meld(raw: str) -> str:
    return _lookup(MELD_TO_LABEL, raw, "MELD")


class GoEmotionsMapper:
    """Fine GoEmotions labels → our seven, with the multi-label rule in the module docstring."""

    def __init__(self, fine_names: Sequence[str], ekman_mapping: Mapping[str, Sequence[str]]) -> None:
        fine_to_ekman: dict[str, str] = {"neutral": "neutral"}
        for ekman, fines in ekman_mapping.items():
            for fine in fines:
                fine_to_ekman[fine] = ekman
        missing = [name for name in fine_names if name not in fine_to_ekman]
        if missing:
            raise UnknownLabelError(f"GoEmotions: labels without an Ekman class: {missing}")
        self.fine_names = tuple(fine_names)
        self._fine_to_label = {name: EKMAN_TO_LABEL[fine_to_ekman[name]] for name in fine_names}

    @classmethod
    def from_dir(cls, data_dir: Path) -> GoEmotionsMapper:
        """Read ``emotions.txt`` and ``ekman_mapping.json`` from a GoEmotions folder."""
        names = (data_dir / "emotions.txt").read_text().split()
        mapping = json.loads((data_dir / "ekman_mapping.json").read_text())
        return cls(names, mapping)

    def fine_label(self, index: int) -> str:
        return self._fine_to_label[self.fine_names[index]]

    def resolve(self, fine_ids: Iterable[int]) -> str | None:
        """One label for a row, or ``None`` when the row's labels conflict (the row is dropped)."""
        mapped = {self.fine_label(i) for i in fine_ids}
        if len(mapped) != 1:
            return None
        return mapped.pop()


def one_hot(label: str) -> np.ndarray:
    vec = np.zeros(NUM_LABELS, dtype=np.float32)
    vec[LABEL_INDEX[label]] = 1.0
    return vec


def probs_to_dict(probs: np.ndarray | Sequence[float]) -> dict[str, float]:
    """A length-7 distribution keyed by label name (rounded for display and JSON)."""
    arr = np.asarray(probs, dtype=np.float64)
    if arr.shape != (NUM_LABELS,):
        raise ValueError(f"expected {NUM_LABELS} probabilities, got shape {arr.shape}")
    return {name: round(float(p), 4) for name, p in zip(LABELS, arr, strict=True)}


def valence_arousal(probs: np.ndarray | Sequence[float]) -> tuple[float, float]:
    """Expected (valence, arousal) of a distribution over the seven labels, each in [-1, 1]."""
    arr = np.asarray(probs, dtype=np.float32)
    return float(arr @ _VALENCE_VEC), float(arr @ _AROUSAL_VEC)
