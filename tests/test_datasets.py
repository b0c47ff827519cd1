from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emotion_agent.core.labels import LABEL_INDEX
from emotion_agent.training.datasets import (
    DatasetError,
    fix_mojibake,
    load_fer,
    load_goemotions,
    load_meld,
    load_ravdess,
)


def test_ravdess_split_by_actor(ravdess_dir: Path) -> None:
    train = load_ravdess(ravdess_dir, actors=range(1, 17))
    held = load_ravdess(ravdess_dir, actors=[17, 18, 19, 20])
    assert len(train) == 16 * 60 and len(held) == 4 * 60
    assert {c.actor for c in train}.isdisjoint({c.actor for c in held})
    counts = np.bincount([LABEL_INDEX[c.label] for c in held], minlength=7)
    assert counts[LABEL_INDEX["neutral"]] == 4 * 12  # neutral + calm
    assert all(counts[1:] == 4 * 8)


def test_ravdess_without_manifest(tmp_path: Path) -> None:
    (tmp_path / "Actor_03").mkdir()
    (tmp_path / "Actor_03" / "03-01-02-01-01-01-03.wav").write_bytes(b"")
    clips = load_ravdess(tmp_path)
    assert clips[0].label == "neutral" and clips[0].actor == 3
    with pytest.raises(DatasetError):
        load_ravdess(tmp_path, actors=[5])


def test_fer_split_alias(fer_npz: Path) -> None:
    images, labels = load_fer(fer_npz, "PublicTest")
    assert images.shape == (3589, 48, 48) and images.dtype == np.uint8
    assert np.bincount(labels, minlength=7)[LABEL_INDEX["happy"]] == 895


def test_fer_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="not a FER"):
        load_fer(bad)
    with pytest.raises(DatasetError, match="not found"):
        load_fer(tmp_path / "missing.npz")


def test_goemotions_dev(goemotions_dir: Path) -> None:
    texts, labels = load_goemotions(goemotions_dir / "dev.tsv")
    assert len(texts) == len(labels) == 4946  # 5,426 rows, conflicting ones dropped
    assert set(labels.tolist()) == set(range(7))


def test_meld_and_mojibake(data_dir: Path) -> None:
    path = data_dir / "meld" / "dev_sent_emo.csv"
    if not path.exists():
        pytest.skip(f"MELD not found at {path}")
    texts, _labels = load_meld(path)
    assert len(texts) == 1109
    assert not any("â€™" in t for t in texts)
    assert fix_mojibake("heâ€™s") == "he’s"
    assert fix_mojibake("plain") == "plain"
