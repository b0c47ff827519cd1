"""Fusion data, training and eval commands end to end on tiny fake datasets with fake experts."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch

from emotion_agent.core.events import MODALITIES, ExpertScores, FaceCrop
from emotion_agent.core.events import Transcript as TranscriptEvent
from emotion_agent.core.labels import (
    FER_CLASS_ORDER,
    LABEL_INDEX,
    LABELS,
    NUM_LABELS,
    RAVDESS_CODES,
    from_ravdess,
)
from emotion_agent.fusion.experts.base import make_scores
from emotion_agent.fusion.fusers.average import AverageFuser
from emotion_agent.fusion.fusers.max_confidence import MaxConfidenceFuser
from emotion_agent.training.fusion_data import (
    ALL_CONDITIONS,
    CONDITIONS,
    SPLIT_ACTORS,
    build_pools,
    calibration_set,
    evaluation_sets,
    fer_heldout,
    make_condition,
    split_indices,
    training_set,
)
from emotion_agent.training.fusion_eval import compact, evaluate, format_table

SR = 16_000
GOE_FINE = ["admiration", "anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
GOE_FOR = {"neutral": 7, "happy": 4, "sad": 5, "angry": 1, "fearful": 3, "disgusted": 2, "surprised": 6}


def _tone(label: int) -> np.ndarray:
    t = np.arange(int(0.6 * SR)) / SR
    return (0.2 * np.sin(2 * np.pi * (200 + 50 * label) * t)).astype(np.float32)


class FakeExpert:
    """Reads the label planted in the input; ``noise`` makes it wrong some of the time."""

    def __init__(self, modality: str, dim: int) -> None:
        self.modality = modality
        self.embedding_dim = dim
        self.calls = 0
        self.rng = np.random.default_rng(len(modality))

    def _label(self, window: Any) -> int:
        if self.modality == "text":
            return next((LABEL_INDEX[w] for w in str(window).split() if w in LABEL_INDEX), 0)
        if self.modality == "face":
            return int(window[0].image.mean()) // 30
        spectrum = np.abs(np.fft.rfft(window))
        return int(np.clip(round((spectrum.argmax() * SR / len(window) - 200) / 50), 0, NUM_LABELS - 1))

    def predict_many(self, windows: Sequence[Any]) -> list[ExpertScores]:
        self.calls += len(windows)
        out = []
        for w in windows:
            logits = self.rng.normal(0, 1, NUM_LABELS)
            logits[self._label(w)] += 2.0
            out.append(make_scores(self.modality, logits, self.rng.normal(0, 1, self.embedding_dim),  # type: ignore[arg-type]
                                   time.perf_counter()))
        return out


class FakeTranscriber:
    def transcribe(self, audio: np.ndarray, *, start: float = 0.0, is_final: bool = True) -> TranscriptEvent:
        return TranscriptEvent("kids are talking by the door", is_final, start, start + len(audio) / SR)


@pytest.fixture()
def tiny_data(tmp_path: Path) -> dict[str, Path]:
    voice = tmp_path / "ravdess"
    rows = ["path,actor,sex,emotion,intensity,statement,repetition,sample_rate,channels,duration_s"]
    for actor in (1, 17, 18, 19, 20):
        for code, name in RAVDESS_CODES.items():
            rel = f"Actor_{actor:02d}/03-01-{code}-01-01-01-{actor:02d}.flac"
            (voice / rel).parent.mkdir(parents=True, exist_ok=True)
            sf.write(voice / rel, _tone(LABEL_INDEX[from_ravdess(name)]), SR)
            rows.append(f"{rel},{actor},male,{name},normal,1,1,{SR},1,0.6")
    (voice / "manifest.csv").write_text("\n".join(rows) + "\n")

    rng = np.random.default_rng(0)
    labels, splits, images = [], [], []
    for split, per in (("train", 3), ("validation", 6)):
        for fer_name in FER_CLASS_ORDER:
            for _ in range(per):
                label = LABEL_INDEX[{"angry": "angry", "disgust": "disgusted", "fear": "fearful", "happy": "happy",
                                     "sad": "sad", "surprise": "surprised", "neutral": "neutral"}[fer_name]]
                images.append(np.clip(label * 30 + 5 + rng.integers(0, 20, (48, 48)), 0, 255).astype(np.uint8))
                labels.append(fer_name)
                splits.append(split)
    images[-1] = images[0].copy()  # a PublicTest image identical to a train image: must be dropped
    face = tmp_path / "fer.npz"
    np.savez(face, images=np.stack(images), labels=np.array(labels), split=np.array(splits),
             files=np.array([f"f{i}" for i in range(len(labels))]))

    text_dir = tmp_path / "goemotions"
    text_dir.mkdir()
    (text_dir / "emotions.txt").write_text("\n".join(GOE_FINE) + "\n")
    (text_dir / "ekman_mapping.json").write_text(json.dumps(
        {"anger": ["anger"], "disgust": ["disgust"], "fear": ["fear"], "joy": ["joy", "admiration"],
         "sadness": ["sadness"], "surprise": ["surprise"]}))
    lines = [f"this is {name} number {i}\t{GOE_FOR[name]}\tid{name}{i}" for name in LABELS for i in range(10)]
    (text_dir / "dev.tsv").write_text("\n".join(lines) + "\n")
    return {"voice": voice, "face": face, "text": text_dir / "dev.tsv", "cache": tmp_path / "cache"}


@pytest.fixture()
def experts() -> dict[str, FakeExpert]:
    return {"face": FakeExpert("face", 6), "voice": FakeExpert("voice", 5), "text": FakeExpert("text", 4)}


def test_pools_are_built_once_split_disjointly_and_paired(tiny_data: dict[str, Path],
                                                            experts: dict[str, FakeExpert]) -> None:
    pools = build_pools(tiny_data["voice"], tiny_data["face"], tiny_data["text"], experts=dict(experts),
                        transcriber=FakeTranscriber(), directory=tiny_data["cache"])
    assert len(pools.voice) == 4 * 8  # actors 17-20 only, never actor 1
    assert set(pools.voice.group.tolist()) == {17, 18, 19, 20}
    assert len(pools.face) == 7 * 6 - 1  # the PublicTest copy of a train image is gone
    assert pools.embedding_dims() == {"face": 6, "voice": 5, "text": 4}
    assert pools.transcripts[0] == "kids are talking by the door" and pools.asr_text.valid.all()
    calls = {m: e.calls for m, e in experts.items()}
    again = build_pools(tiny_data["voice"], tiny_data["face"], tiny_data["text"], experts=dict(experts),
                        transcriber=FakeTranscriber(), directory=tiny_data["cache"])
    assert {m: e.calls for m, e in experts.items()} == calls  # cached: no expert ran again
    np.testing.assert_array_equal(again.face.logits, pools.face.logits)

    splits = split_indices(pools)
    for s, acts in SPLIT_ACTORS.items():
        assert set(pools.voice.group[splits[s].voice].tolist()) == set(acts)
    for attr in ("face", "text", "voice"):
        sets = [set(getattr(splits[s], attr).tolist()) for s in ("train", "calib", "test")]
        assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])

    rng = np.random.default_rng(0)
    test = splits["test"]
    for cond in ALL_CONDITIONS:
        got = make_condition(pools, test, cond, 50, rng)
        assert got.logits.shape == (len(got), 3, NUM_LABELS) and got.present.any(axis=1).all()
        if cond.endswith("_only"):
            assert (got.present.sum(axis=1) == 1).all() and got.present[:, MODALITIES.index(cond[:-5])].all()
        assert np.all(got.logits[~got.present] == 0) and np.all(got.confidence[~got.present] == 0)
    asr = make_condition(pools, test, "asr", 0, rng)
    assert len(asr) == 8 and (~asr.present[:, 0]).all()
    swapped = make_condition(pools, test, "swapped_face", 200, rng)
    face_labels = swapped.logits[:, 0].argmax(1)  # the fake face expert is right most of the time
    assert (face_labels != swapped.y).mean() > 0.6
    train = training_set(pools, splits["train"], 300, rng)
    assert set(np.unique(train.condition)) == {"all", "noisy_voice", "swapped_face", "swapped_text", "asr"}
    assert len(calibration_set(pools, splits["calib"], 40, 1)) == 7 * 40 + 8  # 4 + 3 single, + 8 ASR clips

    results = evaluate({"average": AverageFuser(0.45), "max_confidence": MaxConfidenceFuser(0.45)},
                       pools, test, n=100, seed=3)
    table = format_table(results)
    assert "best_single_expert" in table and "ASR path" in table and "SYNTHETIC" in table
    row = compact(results)["average"]
    assert set(row) == {*CONDITIONS, "ece", "ece_uncalibrated"}
    assert results["rows"]["best_single_expert"]["conditions"]["no_face"]["expert"] in ("voice", "text")
    assert evaluation_sets(pools, test, 10, 3)["all"].y.tolist() == evaluation_sets(pools, test, 10, 3)["all"].y.tolist()


def test_fer_heldout_drops_train_duplicates(tiny_data: dict[str, Path]) -> None:
    images, labels, rows = fer_heldout(tiny_data["face"])
    assert len(images) == len(labels) == len(rows) == 41


def test_train_and_eval_commands(tiny_data: dict[str, Path], experts: dict[str, FakeExpert], tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import emotion_agent.training.fusion_data as fd
    from emotion_agent.perception.transcribe import WhisperTranscriber
    from emotion_agent.training.fusion_eval import eval_main
    from emotion_agent.training.fusion_train import train_main

    monkeypatch.setattr(fd, "load_expert", lambda m, spec: experts[m])
    monkeypatch.setattr(fd, "_model_digest", lambda spec: "fake")
    monkeypatch.setattr(WhisperTranscriber, "load", classmethod(lambda cls, *a, **k: FakeTranscriber()))
    out = tmp_path / "weights"
    common = ["--voice-data", str(tiny_data["voice"]), "--face-data", str(tiny_data["face"]),
              "--text-data", str(tiny_data["text"]), "--cache-dir", str(tiny_data["cache"]), "--n", "60"]
    torch.set_num_threads(1)
    assert train_main([*common, "--out", str(out), "--epochs", "2", "--n-train", "400"]) == 0
    for name in ("attention", "concat", "transformer", "average", "max_confidence"):
        assert (out / f"{name}.pt").exists()
    assert (out / "MODEL_CARD.md").read_text().count("synthetic") + (out / "MODEL_CARD.md").read_text().count(
        "Synthetic") >= 1
    report = json.loads((out / "report.json").read_text())
    assert len(report["meta"]["cv"]["folds"]) == 4 and "Rotating actor" in (out / "MODEL_CARD.md").read_text()
    assert "attention" in report["rows"] and "ece_all" in report["targets"]
    capsys.readouterr()
    assert eval_main([*common, "--weights", str(out), "--json"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    parsed = json.loads(last)
    assert set(parsed) == {"best_single_expert", "attention", "average", "max_confidence", "concat", "transformer"}
    assert parsed["attention"]["all"]["accuracy"] == pytest.approx(
        report["rows"]["attention"]["conditions"]["all"]["accuracy"], abs=1e-4)


def test_face_window_format_matches_the_contract(tiny_data: dict[str, Path]) -> None:
    seen: list[Any] = []

    class Spy(FakeExpert):
        def predict_many(self, windows: Sequence[Any]) -> list[ExpertScores]:
            seen.extend(windows)
            return super().predict_many(windows)

    build_pools(tiny_data["voice"], tiny_data["face"], tiny_data["text"],
                experts={"face": Spy("face", 3), "voice": FakeExpert("voice", 2), "text": FakeExpert("text", 2)},
                transcriber=FakeTranscriber(), directory=tiny_data["cache"] / "spy")
    assert isinstance(seen[0], list) and isinstance(seen[0][0], FaceCrop)
    assert seen[0][0].image.shape == (48, 48) and seen[0][0].image.dtype == np.uint8


def test_cv_folds_rotate_the_test_actor() -> None:
    from emotion_agent.training.fusion_data import rotating_actor_splits

    folds = rotating_actor_splits()
    assert [f["test"] for f in folds] == [(17,), (18,), (19,), (20,)]
    for f in folds:
        assert sorted(f["train"] + f["calib"] + f["test"]) == [17, 18, 19, 20]
