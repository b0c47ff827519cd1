"""Readers for the dataset formats in ``../shared/data``, mapped to the seven labels.

* RAVDESS: a folder with ``manifest.csv`` (``path, actor, ..., emotion, ...``) or, failing that,
  ``Actor_XX/*.wav|*.flac`` whose names code the emotion and actor.
* FER-2013: an ``.npz`` with ``images`` (n, 48, 48) uint8, ``labels`` (FER names), optional ``split``.
* GoEmotions: a ``.tsv`` (text, comma-separated fine label ids, id) beside ``emotions.txt`` and
  ``ekman_mapping.json``.
* MELD: a ``.csv`` with ``Utterance`` and ``Emotion`` columns.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion_agent.core.labels import (
    LABEL_INDEX,
    GoEmotionsMapper,
    from_fer,
    from_meld,
    from_ravdess,
)


class DatasetError(ValueError):
    """A dataset file is missing or not in the expected format."""


@dataclass(frozen=True)
class Clip:
    path: Path
    actor: int
    label: str
    statement: int = 0


def _require(path: Path, what: str) -> None:
    if not path.exists():
        raise DatasetError(f"{what} not found: {path}")


def load_ravdess(folder: Path, actors: Sequence[int] | None = None) -> list[Clip]:
    """Clips of the given actors (all when ``None``), sorted by path."""
    folder = Path(folder)
    _require(folder, "RAVDESS folder")
    wanted = set(actors) if actors is not None else None
    clips: list[Clip] = []
    manifest = folder / "manifest.csv"
    if manifest.exists():
        with manifest.open(newline="") as fh:
            for row in csv.DictReader(fh):
                actor = int(row["actor"])
                if wanted is None or actor in wanted:
                    clips.append(Clip(folder / row["path"], actor, from_ravdess(row["emotion"]),
                                      int(row.get("statement") or 0)))
    else:
        # No manifest: every RAVDESS-named file (MM-VV-EE-II-SS-RR-AA) in the folder or its Actor_XX folders.
        found: set[int] = set()
        for path in sorted([*folder.rglob("*.wav"), *folder.rglob("*.flac")]):
            parts = path.stem.split("-")
            if len(parts) != 7 or not all(p.isdigit() for p in parts):
                continue
            actor = int(parts[6])
            found.add(actor)
            if wanted is None or actor in wanted:
                clips.append(Clip(path, actor, from_ravdess(parts[2]), int(parts[4])))
        if not clips and found:
            raise DatasetError(f"no RAVDESS clips for actors {_actor_list(wanted or ())} in {folder} "
                               f"(it has actors {_actor_list(found)})")
    if not clips:
        raise DatasetError(f"no RAVDESS clips for actors {_actor_list(wanted) if wanted else 'any'} in {folder} "
                           "(expected manifest.csv or files named like 03-01-05-02-01-01-17.flac)")
    return sorted(clips, key=lambda c: str(c.path))


def _actor_list(actors: set[int] | Sequence[int]) -> str:
    return ",".join(f"{a:02d}" for a in sorted(actors))


def parse_actors(text: str) -> list[int]:
    """``"17-20"`` → [17, 18, 19, 20]; ``"1,5,9"`` → [1, 5, 9]; ranges and lists combine (``"1-4,9"``)."""
    actors: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if lo > hi:
                    raise ValueError
                actors.update(range(lo, hi + 1))
            else:
                actors.add(int(part))
        except ValueError:
            raise ValueError(f"bad actor list {text!r}: use e.g. 17-20 or 1,5,9") from None
    if not actors or min(actors) < 1:
        raise ValueError(f"bad actor list {text!r}: actors are numbered from 1")
    return sorted(actors)


# The shared copy names FER-2013's PublicTest split "validation" (and PrivateTest "test").
_FER_SPLIT_ALIASES = {
    "publictest": {"publictest", "validation"},
    "validation": {"publictest", "validation"},
    "privatetest": {"privatetest", "test"},
    "train": {"train", "training"},
}


def load_fer(npz_path: Path, split: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 48, 48) uint8 and label indices (n,) int64; ``split`` e.g. ``train``/``PublicTest``."""
    npz_path = Path(npz_path)
    _require(npz_path, "FER-2013 file")
    try:
        with np.load(npz_path, allow_pickle=False) as data:
            images = data["images"]
            raw = data["labels"]
            splits = data["split"] if "split" in data.files else None
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"{npz_path}: not a FER .npz with images/labels ({exc})") from exc
    if split is not None:
        if splits is None:
            raise DatasetError(f"{npz_path} has no 'split' array; cannot select {split!r}")
        wanted = _FER_SPLIT_ALIASES.get(split.lower(), {split.lower()})
        mask = np.isin(np.char.lower(splits.astype(str)), list(wanted))
        if not mask.any():
            raise DatasetError(f"{npz_path}: no rows with split {split!r} (have {sorted(set(splits.tolist()))})")
        images, raw = images[mask], raw[mask]
    labels = np.array(
        [LABEL_INDEX[from_fer(int(v) if np.issubdtype(raw.dtype, np.integer) else str(v))] for v in raw],
        dtype=np.int64,
    )
    return images.astype(np.uint8), labels


def load_goemotions(tsv_path: Path, mapper: GoEmotionsMapper | None = None) -> tuple[list[str], np.ndarray]:
    """Texts and label indices, conflicting multi-label rows dropped (see ``labels``)."""
    tsv_path = Path(tsv_path)
    _require(tsv_path, "GoEmotions file")
    mapper = mapper or GoEmotionsMapper.from_dir(tsv_path.parent)
    texts: list[str] = []
    labels: list[int] = []
    with tsv_path.open(newline="", encoding="utf-8") as fh:
        for lineno, row in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if len(row) < 2:
                raise DatasetError(f"{tsv_path}:{lineno}: expected text<TAB>label ids")
            label = mapper.resolve(int(i) for i in row[1].split(","))
            if label is not None:
                texts.append(row[0])
                labels.append(LABEL_INDEX[label])
    return texts, np.array(labels, dtype=np.int64)


def fix_mojibake(text: str) -> str:
    """Undo UTF-8 read as cp1252 (MELD's 'â€™'); leave other text alone."""
    if "â" not in text and "Ã" not in text:
        return text
    try:
        return text.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def load_meld(csv_path: Path) -> tuple[list[str], np.ndarray]:
    csv_path = Path(csv_path)
    _require(csv_path, "MELD file")
    texts: list[str] = []
    labels: list[int] = []
    with csv_path.open(newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"Utterance", "Emotion"} <= set(reader.fieldnames):
            raise DatasetError(f"{csv_path}: expected MELD columns Utterance and Emotion")
        for row in reader:
            texts.append(fix_mojibake(row["Utterance"]))
            labels.append(LABEL_INDEX[from_meld(row["Emotion"])])
    return texts, np.array(labels, dtype=np.int64)


def load_text_dataset(path: Path) -> tuple[list[str], np.ndarray]:
    """GoEmotions ``.tsv`` or MELD ``.csv``, by extension."""
    path = Path(path)
    if path.suffix == ".tsv":
        return load_goemotions(path)
    if path.suffix == ".csv":
        return load_meld(path)
    raise DatasetError(f"{path}: text data must be a GoEmotions .tsv or a MELD .csv")
