"""Voice expert: tiny heads saved to tmp_path and loaded through the real loader + the real Whisper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from emotion_agent.core.events import ExpertScores
from emotion_agent.core.labels import NUM_LABELS
from emotion_agent.core.models import ModelNotFoundError
from emotion_agent.core.settings import get_settings
from emotion_agent.fusion.experts.base import save_checkpoint
from emotion_agent.fusion.experts.voice import VoiceExpert, VoiceHead, VoiceHeadConfig, load_head, save_head
from emotion_agent.fusion.experts.voice_features import MIN_SAMPLES, input_quality, pad_states
from tests.conftest import silence, speechlike

TINY = VoiceHeadConfig(in_dim=384, proj_dim=8, heads=1, hidden=6, dropout=0.0)


@pytest.fixture(scope="module")
def whisper():
    from emotion_agent.perception.transcribe import load_whisper

    s = get_settings()
    try:
        return load_whisper(s.asr_model, s.asr_compute_type, s.asr_threads)
    except ModelNotFoundError as exc:
        pytest.skip(f"Whisper model not installed: {exc}")


@pytest.fixture()
def tiny_dir(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    save_head(tmp_path / "model.pt", VoiceHead(TINY))
    return tmp_path


def _check(scores: ExpertScores, dim: int) -> None:
    assert scores.modality == "voice"
    assert scores.probs.shape == (NUM_LABELS,) and scores.probs.dtype == np.float32
    assert abs(float(scores.probs.sum()) - 1.0) < 1e-5
    assert scores.embedding.shape == (dim,)
    assert scores.logits is not None and scores.logits.shape == (NUM_LABELS,)
    assert 0.0 <= scores.confidence <= 1.0
    assert scores.latency_ms > 0


def _lg(scores: ExpertScores) -> np.ndarray:
    assert scores.logits is not None
    return scores.logits


@pytest.mark.models
def test_predict_on_synthetic_audio(tiny_dir: Path, whisper) -> None:
    expert = VoiceExpert.load(tiny_dir, whisper=whisper)
    assert expert.whisper is whisper and expert.embedding_dim == TINY.hidden
    a, b = speechlike(1.5), speechlike(0.8, f0=220.0)
    one = expert.predict(a)
    _check(one, TINY.hidden)
    many = expert.predict_many([a, b])
    assert len(many) == 2
    for s in many:
        _check(s, TINY.hidden)
    # Deterministic, and batching (padding + mask) does not change a window's result.
    np.testing.assert_allclose(_lg(many[0]), _lg(one), atol=1e-5)
    np.testing.assert_allclose(_lg(many[1]), _lg(expert.predict(b)), atol=1e-5)
    # One encoder pass can be reused.
    states = expert.encode(a)
    assert states.shape[1] == 384 and 70 <= states.shape[0] <= 76
    np.testing.assert_allclose(_lg(expert.predict_states(states)), _lg(one), atol=1e-5)
    assert expert.predict_many([]) == []


@pytest.mark.models
def test_default_load_shares_the_asr_whisper(tiny_dir: Path, whisper) -> None:
    assert VoiceExpert.load(tiny_dir).whisper is whisper


@pytest.mark.models
def test_bad_windows(tiny_dir: Path, whisper) -> None:
    expert = VoiceExpert.load(tiny_dir, whisper=whisper)
    with pytest.raises(ValueError, match="too short"):
        expert.predict(np.zeros(0, dtype=np.float32))
    with pytest.raises(ValueError, match="too short"):
        expert.predict(np.zeros(MIN_SAMPLES - 1, dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        expert.predict(np.zeros((2, 16000), dtype=np.float32))
    with pytest.raises(ValueError, match="dtype"):
        expert.predict(np.zeros(16000, dtype=np.int16))
    with pytest.raises(ValueError, match="NaN"):
        expert.predict(np.full(16000, np.nan, dtype=np.float32))
    with pytest.raises(ValueError, match="states"):
        expert.predict_states(np.zeros((10, 80), dtype=np.float32))
    with pytest.raises(ValueError, match="states"):
        expert.predict_states(np.zeros((0, 384), dtype=np.float32))


def test_missing_and_corrupt_model_files(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="missing"):
        load_head(tmp_path)
    with pytest.raises(ModelNotFoundError):
        load_head(tmp_path / "nowhere" / "model.pt")
    (tmp_path / "model.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelNotFoundError, match="not a readable checkpoint"):
        VoiceExpert.load(tmp_path)
    save_checkpoint(tmp_path / "model.pt", {"in_dim": 384}, {}, kind="face")
    with pytest.raises(ModelNotFoundError, match="not a voice-expert checkpoint"):
        load_head(tmp_path)
    head = VoiceHead(TINY)
    save_head(tmp_path / "model.pt", head)
    state = {k: v for k, v in head.state_dict().items() if not k.startswith("out.")}
    save_checkpoint(tmp_path / "model.pt", vars(TINY) | {"keep": []}, state, kind="whisper_attention_head")
    with pytest.raises(ModelNotFoundError, match="does not match"):
        load_head(tmp_path)


def test_input_quality() -> None:
    assert input_quality(silence(2.0)) == 0.0
    assert input_quality(speechlike(2.0)) == pytest.approx(1.0)
    assert 0.0 < input_quality(speechlike(0.3)) < 0.5
    assert input_quality(speechlike(2.0, amp=0.001)) < input_quality(speechlike(2.0))


def test_pad_states_masks_padding() -> None:
    x, mask = pad_states([np.ones((3, 4), np.float32), np.ones((5, 4), np.float32)])
    assert x.shape == (2, 5, 4) and mask.sum(1).tolist() == [3, 5]
    assert not x[0, 3:].any()


def test_head_overfits_a_tiny_batch() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    cfg = VoiceHeadConfig(in_dim=16, proj_dim=16, heads=2, hidden=16, dropout=0.0)
    head = VoiceHead(cfg)
    states = [rng.normal(size=(int(rng.integers(5, 20)), 16)).astype(np.float32) for _ in range(14)]
    y = torch.arange(14) % NUM_LABELS
    x, mask = pad_states(states)
    xt, mt = torch.from_numpy(x), torch.from_numpy(mask)
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    first = None
    for _ in range(150):
        _, loss = head(xt, mt, y)
        assert loss is not None
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first is not None and float(loss) < 0.1 * first
    assert (head(xt, mt)[0].argmax(1) == y).all()


@pytest.mark.slow
def test_committed_model_on_held_out_actors(ravdess_dir: Path) -> None:
    from emotion_agent.core.labels import LABEL_INDEX
    from emotion_agent.perception.decode import read_audio
    from emotion_agent.training.datasets import load_ravdess

    weights = Path(get_settings().voice_expert)
    if not (weights / "model.pt").exists():
        pytest.skip(f"no committed voice model at {weights}")
    expert = VoiceExpert.load()
    clips = load_ravdess(ravdess_dir, actors=[17, 18, 19, 20])[::8]  # 30 clips across all labels
    scores = expert.predict_many([read_audio(c.path) for c in clips])
    pred = np.array([int(np.argmax(s.probs)) for s in scores])
    y = np.array([LABEL_INDEX[c.label] for c in clips])
    for s in scores:
        _check(s, expert.embedding_dim)
    # Chance is ~1/7 (neutral ~25%); the committed model scores ~0.7 on all 240 held-out clips.
    assert (pred == y).mean() >= 0.5
