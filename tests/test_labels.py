from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emotion_agent.core.labels import (
    LABELS,
    GoEmotionsMapper,
    UnknownLabelError,
    from_fer,
    from_meld,
    from_ravdess,
    probs_to_dict,
    valence_arousal,
)


def test_label_set_order() -> None:
    assert LABELS == ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")


@pytest.mark.parametrize(
    ("raw", "want"),
    [("neutral", "neutral"), ("calm", "neutral"), ("happy", "happy"), ("sad", "sad"), ("angry", "angry"),
     ("fearful", "fearful"), ("disgust", "disgusted"), ("surprised", "surprised"), ("02", "neutral"),
     ("07", "disgusted"), ("Calm", "neutral")],
)
def test_ravdess(raw: str, want: str) -> None:
    assert from_ravdess(raw) == want


def test_fer_names_and_indices() -> None:
    names = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    want = ["angry", "disgusted", "fearful", "happy", "sad", "surprised", "neutral"]
    assert [from_fer(n) for n in names] == want
    assert [from_fer(i) for i in range(7)] == want
    with pytest.raises(UnknownLabelError):
        from_fer(7)


def test_meld() -> None:
    assert [from_meld(x) for x in ["neutral", "joy", "sadness", "anger", "fear", "disgust", "surprise"]] == list(
        LABELS
    )
    with pytest.raises(UnknownLabelError, match="MELD"):
        from_meld("contempt")


def _mapper() -> GoEmotionsMapper:
    names = ["admiration", "anger", "annoyance", "sadness", "grief", "surprise", "confusion", "neutral"]
    mapping = {"anger": ["anger", "annoyance"], "joy": ["admiration"], "sadness": ["sadness", "grief"],
               "surprise": ["surprise", "confusion"]}
    return GoEmotionsMapper(names, mapping)


def test_goemotions_single_and_agreeing_multi_label() -> None:
    m = _mapper()
    assert m.resolve([0]) == "happy"
    assert m.resolve([1, 2]) == "angry"  # both anger-family: kept
    assert m.resolve([3, 4]) == "sad"
    assert m.resolve([7]) == "neutral"


def test_goemotions_conflicts_dropped() -> None:
    m = _mapper()
    assert m.resolve([0, 3]) is None  # joy + sadness
    assert m.resolve([7, 1]) is None  # neutral + anger
    assert m.resolve([]) is None


def test_goemotions_missing_ekman_class_rejected() -> None:
    with pytest.raises(UnknownLabelError):
        GoEmotionsMapper(["pride"], {"joy": ["admiration"]})


def test_goemotions_real_mapping_file(goemotions_dir: Path) -> None:
    mapper = GoEmotionsMapper.from_dir(goemotions_dir)
    assert len(mapper.fine_names) == 28
    mapping = json.loads((goemotions_dir / "ekman_mapping.json").read_text())
    for ekman, fines in mapping.items():
        for fine in fines:
            assert mapper.fine_label(mapper.fine_names.index(fine)) != "neutral", (ekman, fine)


def test_probs_dict_and_valence_arousal() -> None:
    probs = np.zeros(7, dtype=np.float32)
    probs[1] = 1.0
    assert probs_to_dict(probs)["happy"] == 1.0
    v, a = valence_arousal(probs)
    assert v > 0.5 and a > 0
    v, a = valence_arousal(np.full(7, 1 / 7))
    assert -1 <= v <= 1 and -1 <= a <= 1
    with pytest.raises(ValueError):
        probs_to_dict(np.ones(3))
