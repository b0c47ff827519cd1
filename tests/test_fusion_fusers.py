"""Fusers: masking, α, checkpoints through the real loader, training, baselines, calibration, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from emotion_agent.core.events import MODALITIES, EmotionEstimate, ExpertScores
from emotion_agent.core.labels import LABELS, NUM_LABELS
from emotion_agent.core.models import ModelNotFoundError
from emotion_agent.core.numeric import softmax
from emotion_agent.core.protocols import Fuser
from emotion_agent.fusion.experts.base import make_scores
from emotion_agent.fusion.fusers.attention import AttentionConfig, AttentionFuser
from emotion_agent.fusion.fusers.average import AverageFuser
from emotion_agent.fusion.fusers.base import FusionBatch, NoModalityError, scores_to_batch
from emotion_agent.fusion.fusers.concat import ConcatConfig, ConcatFuser
from emotion_agent.fusion.fusers.explain import explain
from emotion_agent.fusion.fusers.max_confidence import MaxConfidenceFuser
from emotion_agent.fusion.fusers.registry import FUSER_NAMES, load_fuser
from emotion_agent.fusion.fusers.transformer import TransformerConfig, TransformerFuser
from emotion_agent.training.calibration import calibrate, fit_temperature
from emotion_agent.training.fusion_train import modality_dropout, overfit_steps, train_fuser
from emotion_agent.training.metrics import expected_calibration_error
from tests.fusion_synth import DIMS, synthetic_set

torch.set_num_threads(1)


def tiny(name: str) -> AttentionFuser | ConcatFuser | TransformerFuser:
    torch.manual_seed(0)
    if name == "attention":
        return AttentionFuser(AttentionConfig(embedding_dims=DIMS, embed_proj=8, latent_dim=16, attn_dim=8, hidden=16))
    if name == "concat":
        return ConcatFuser(ConcatConfig(embedding_dims=DIMS, embed_proj=8, hidden=16))
    return TransformerFuser(TransformerConfig(embedding_dims=DIMS, embed_proj=8, d_model=16, heads=2, layers=1, ff=16))


LEARNED = ("attention", "concat", "transformer")


def scores(modality: str, label: int, strength: float = 3.0, dim: int | None = None,
           rng: np.random.Generator | None = None) -> ExpertScores:
    rng = rng or np.random.default_rng(0)
    logits = rng.normal(0, 0.3, NUM_LABELS)
    logits[label] += strength
    emb = rng.normal(0, 1, dim or DIMS[modality]).astype(np.float32)
    return make_scores(modality, logits, emb, 0.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", LEARNED)
def test_missing_modality_gets_zero_alpha_and_its_inputs_change_nothing(name: str) -> None:
    model = tiny(name)
    model.eval()
    batch = synthetic_set(16, seed=1).batch()
    present = batch.present.clone()
    present[:8, 0] = False  # no face
    present[8:, 2] = False  # no words
    present[12:, 1] = False  # and no voice in a few rows
    base = FusionBatch(batch.logits, batch.confidence, present, batch.embeddings)
    garbage_logits = batch.logits.clone()
    garbage_conf = batch.confidence.clone()
    embs = {m: e.clone() for m, e in batch.embeddings.items()}
    rows_face, rows_text = slice(0, 8), slice(8, 16)
    garbage_logits[rows_face, 0] = 1e6
    garbage_logits[rows_text, 2] = float("nan")
    garbage_conf[rows_face, 0] = -5.0
    embs["face"][rows_face] = float("inf")
    embs["text"][rows_text] = torch.randn(8, DIMS["text"]) * 1e4
    embs["voice"][12:] = float("nan")
    garbage = FusionBatch(garbage_logits, garbage_conf, present, embs)
    p1, a1 = model.predict_batch(base)
    p2, a2 = model.predict_batch(garbage)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(a1, a2)
    assert np.all(a1[~present.numpy()] == 0.0)
    np.testing.assert_allclose(a1.sum(axis=1), 1.0, atol=1e-5)
    assert np.isfinite(p1).all()


@pytest.mark.parametrize("name", [*LEARNED, "average", "max_confidence"])
def test_alpha_sums_to_one_over_present_and_fuse_builds_an_estimate(name: str) -> None:
    fuser = tiny(name) if name in LEARNED else (AverageFuser(0.45) if name == "average" else MaxConfidenceFuser(0.45))
    assert isinstance(fuser, Fuser)
    est = fuser.fuse({"face": scores("face", 3), "voice": scores("voice", 3), "text": None})
    assert isinstance(est, EmotionEstimate)
    assert est.fuser == name
    assert est.weights["text"] == 0.0
    assert est.weights["face"] + est.weights["voice"] == pytest.approx(1.0, abs=1e-3)
    assert est.probs.shape == (NUM_LABELS,) and est.probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert est.confidence == pytest.approx(float(est.probs.max()))
    assert est.label == LABELS[int(est.probs.argmax())]
    assert est.experts["text"] is None and "no words" in est.explanation
    assert est.uncertain == (est.confidence < 0.45)
    assert -1.0 <= est.valence <= 1.0 and -1.0 <= est.arousal <= 1.0


@pytest.mark.parametrize("name", [*LEARNED, "average", "max_confidence"])
def test_no_modality_is_a_clear_error(name: str) -> None:
    fuser = tiny(name) if name in LEARNED else AverageFuser(0.45)
    with pytest.raises(NoModalityError, match="no modality present"):
        fuser.fuse({"face": None, "voice": None, "text": None})
    with pytest.raises(ValueError, match="no modality present"):
        fuser.fuse({})


def test_bad_inputs_are_clear_errors() -> None:
    fuser = tiny("attention")
    with pytest.raises(ValueError, match="unknown modality"):
        fuser.fuse({"smell": scores("face", 1)})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="came from a 'voice' expert"):
        fuser.fuse({"face": scores("voice", 1, dim=DIMS["face"])})
    with pytest.raises(ValueError, match="embedding has 5 values"):
        fuser.fuse({"face": scores("face", 1, dim=5)})


@pytest.mark.parametrize("name", LEARNED)
def test_checkpoint_round_trip_through_the_loader(name: str, tmp_path: Path) -> None:
    model = tiny(name)
    model.set_temperature(1.7)
    model.set_subset_temperatures({"voice": 0.8})
    path = model.save(tmp_path)
    assert path == tmp_path / f"{name}.pt"
    loaded = load_fuser(name, tmp_path)
    assert type(loaded) is type(model) and loaded.temperature == pytest.approx(1.7)
    assert loaded.subset_temperatures == {"voice": pytest.approx(0.8)}
    batch = synthetic_set(8, seed=2).batch()
    np.testing.assert_allclose(model.predict_batch(batch)[0], loaded.predict_batch(batch)[0], atol=1e-6)
    ckpt = torch.load(path, weights_only=True)
    assert set(ckpt) >= {"config", "state_dict", "temperature"}


def test_loader_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError):
        load_fuser("attention", tmp_path)
    (tmp_path / "attention.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelNotFoundError):
        load_fuser("attention", tmp_path)
    tiny("concat").save(tmp_path / "attention.pt")
    with pytest.raises(ModelNotFoundError, match="not 'attention'"):
        load_fuser("attention", tmp_path)
    with pytest.raises(ValueError, match="unknown fuser"):
        load_fuser("median", tmp_path)
    # The formulas need no file; their temperature is read when present.
    assert load_fuser("average", tmp_path).name == "average"
    fuser = MaxConfidenceFuser()
    fuser.set_temperature(2.5)
    fuser.save(tmp_path)
    assert load_fuser("max_confidence", tmp_path).temperature == pytest.approx(2.5)  # type: ignore[attr-defined]
    assert set(FUSER_NAMES) == {"attention", "average", "max_confidence", "concat", "transformer"}


@pytest.mark.parametrize("name", LEARNED)
def test_overfits_a_tiny_batch(name: str) -> None:
    model = tiny(name)
    data = synthetic_set(32, seed=3, signal=0.0)  # no signal in logits: must memorise the embeddings
    losses = overfit_steps(model, data.batch(), torch.as_tensor(data.y), steps=60, lr=1e-2)
    assert losses[-1] < 0.5 * losses[0], losses[::10]


def test_training_with_modality_dropout_learns_and_beats_single_experts() -> None:
    model = tiny("attention")
    train, test = synthetic_set(3000, seed=4), synthetic_set(1000, seed=5)
    hist = train_fuser(model, train, test, epochs=8, batch_size=128, lr=5e-3, progress=False)
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    probs, _ = model.predict_batch(test.batch())
    fused_acc = float((probs.argmax(1) == test.y).mean())
    single = max(float((test.logits[:, i].argmax(1) == test.y).mean()) for i in range(3))
    assert fused_acc > single + 0.05, (fused_acc, single)


def test_attention_alpha_follows_the_informative_modality() -> None:
    model = tiny("attention")
    signal = (0.0, 4.0, 0.0)  # only the voice expert knows the label
    train_fuser(model, synthetic_set(3000, seed=6, signal=signal), None, epochs=6, batch_size=128, lr=5e-3,
                progress=False)
    _, alpha = model.predict_batch(synthetic_set(200, seed=7, signal=signal).batch())
    assert alpha[:, 1].mean() > 0.6, alpha.mean(axis=0)


def test_modality_dropout_keeps_at_least_one_and_sees_every_subset() -> None:
    present = torch.ones(4000, 3, dtype=torch.bool)
    present[:500, 2] = False
    keep = modality_dropout(present, torch.Generator().manual_seed(0))
    kept = present & keep
    assert kept.any(dim=1).all()
    assert not kept[:500, 2].any()
    subsets = {tuple(r) for r in kept.int().tolist()}
    assert len(subsets) == 7


def test_average_is_confidence_weighted() -> None:
    fuser = AverageFuser(0.45)
    s_face = scores("face", 1, strength=0.5)
    s_voice = scores("voice", 3, strength=6.0)
    est = fuser.fuse({"face": s_face, "voice": s_voice, "text": None})
    w_face = s_face.confidence / (s_face.confidence + s_voice.confidence)
    assert est.weights["face"] == pytest.approx(w_face, abs=1e-3)
    expected = w_face * s_face.probs + (1 - w_face) * s_voice.probs
    np.testing.assert_allclose(est.probs, expected, atol=1e-5)
    assert est.label == "angry"


def test_max_confidence_copies_the_most_confident_expert() -> None:
    fuser = MaxConfidenceFuser(0.45)
    s_face = scores("face", 1, strength=0.5)
    s_text = scores("text", 2, strength=5.0)
    est = fuser.fuse({"face": s_face, "voice": None, "text": s_text})
    assert est.weights == {"face": 0.0, "voice": 0.0, "text": 1.0}
    np.testing.assert_allclose(est.probs, s_text.probs, atol=1e-5)


def test_concat_occlusion_alpha_follows_the_informative_modality() -> None:
    model = tiny("concat")
    train = synthetic_set(3000, seed=6, signal=(0.0, 4.0, 0.0))  # only voice carries the label
    train_fuser(model, train, None, epochs=6, batch_size=128, lr=5e-3, progress=False)
    _, alpha = model.predict_batch(synthetic_set(200, seed=7, signal=(0.0, 4.0, 0.0)).batch())
    assert alpha[:, 1].mean() > 0.6


def test_temperature_scaling_lowers_ece_on_an_overconfident_set() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    y = rng.integers(0, NUM_LABELS, n)
    logits = rng.normal(0, 1, (n, NUM_LABELS))
    logits[np.arange(n), y] += 1.5
    logits *= 4.0  # overconfident: correct ~60 % of the time with near-certain probabilities
    t = fit_temperature(logits, y)
    assert t > 2.0
    before = expected_calibration_error(softmax(logits, 1.0), y)
    after = expected_calibration_error(softmax(logits, t), y)
    assert after < 0.5 * before and after < 0.05

    fuser = MaxConfidenceFuser()
    data = synthetic_set(2000, seed=8, signal=(6.0, 6.0, 6.0), flip=0.4)
    res = calibrate(fuser, data.batch(), data.y)
    assert res.ece_after < res.ece_before and fuser.temperature == pytest.approx(res.temperature)


def test_temperature_per_modality_subset_fixes_opposite_miscalibration(tmp_path: Path) -> None:
    data = synthetic_set(4000, seed=9, signal=(3.0, 3.0, 3.0), flip=0.3)
    present = data.present.copy()
    present[:2000, 1:] = False  # face alone in the first half
    data.present = present
    data.logits[:2000, 0] *= 0.3  # ... and under-confident there; the three together are over-confident
    fuser = AverageFuser(0.45)
    res = calibrate(fuser, data.batch(), data.y)
    assert set(res.subset_temperatures) == {"face", "face+voice+text"}
    assert res.subset_temperatures["face"] < 1.0 < res.subset_temperatures["face+voice+text"]
    assert res.ece_after < res.ece_global
    fuser.save(tmp_path)
    loaded = load_fuser("average", tmp_path)
    assert loaded.subset_temperatures == pytest.approx(res.subset_temperatures)  # type: ignore[attr-defined]
    np.testing.assert_allclose(loaded.predict_batch(data.batch())[0], fuser.predict_batch(data.batch())[0],  # type: ignore[attr-defined]
                               atol=1e-6)
    with pytest.raises(ValueError, match="unknown modality subset"):
        fuser.set_subset_temperatures({"smell": 1.0})


def test_explanation_names_weights_and_missing_modalities() -> None:
    experts: dict[str, ExpertScores | None] = {
        "face": scores("face", 0, strength=1.0), "voice": scores("voice", 3, strength=4.0), "text": None}
    line = explain(np.eye(NUM_LABELS)[3], {"face": 0.38, "voice": 0.62, "text": 0.0}, experts)
    assert line.startswith("voice says angry (")
    assert "carries most weight (α 0.62)" in line and "face neutral (" in line and line.endswith("no words")
    only = explain(np.eye(NUM_LABELS)[3], {"voice": 1.0}, {"voice": experts["voice"]})
    assert "the only modality present" in only and "no face" in only
    words = explain(np.eye(NUM_LABELS)[0], {"text": 1.0}, {"text": scores("text", 0)})
    assert words.startswith("words say neutral (")


def test_scores_without_logits_use_log_probs() -> None:
    s = scores("voice", 2)
    bare = ExpertScores("voice", s.probs, s.embedding, s.confidence, 1.0, logits=None)
    b = scores_to_batch({"voice": bare}, DIMS)
    np.testing.assert_allclose(torch.softmax(b.logits[0, 1], -1).numpy(), s.probs, atol=1e-5)
    assert list(b.present[0]) == [False, True, False] and MODALITIES[1] == "voice"


@pytest.mark.parametrize("name", FUSER_NAMES)
def test_committed_fusers_load_and_fuse(name: str) -> None:
    from emotion_agent.core.settings import get_settings

    folder = Path(get_settings().fuser_weights)
    if name in LEARNED and not (folder / f"{name}.pt").exists():
        pytest.skip(f"{folder / name}.pt not trained yet (emotion-agent train fusion)")
    fuser = load_fuser(name)
    assert fuser.name == name  # the real one, never the fallback
    dims = getattr(fuser, "embedding_dims", None) or DIMS
    est = fuser.fuse({"face": None, "voice": scores("voice", 3, dim=dims["voice"]),
                      "text": scores("text", 0, strength=1.0, dim=dims["text"])})
    assert est.weights["face"] == 0.0 and est.explanation
    assert est.weights["voice"] + est.weights["text"] == pytest.approx(1.0, abs=1e-3)


def test_default_fuser_falls_back_to_average_only_when_not_chosen(tmp_path: Path) -> None:
    from emotion_agent.core.settings import Settings

    settings = Settings(fuser_weights=str(tmp_path), uncertain_below=0.3)
    assert settings.fusion == "attention" and not (tmp_path / "attention.pt").exists()
    fuser = load_fuser(settings.fusion, settings=settings)
    assert fuser.name == "average"
    est = fuser.fuse({"face": None, "voice": scores("voice", 3), "text": None})
    assert est.explanation.endswith("(attention fuser weights missing, fused by average)")
    assert est.fuser == "average"
    chosen = settings.model_copy(update={"fusion": "attention"})
    with pytest.raises(ModelNotFoundError, match="emotion-agent train fusion"):
        load_fuser("attention", settings=chosen)
    with pytest.raises(ModelNotFoundError):
        load_fuser("transformer", settings=settings)  # not the default: no fallback
    (tmp_path / "attention.pt").write_bytes(b"broken")
    with pytest.raises(ModelNotFoundError, match="not a readable checkpoint"):
        load_fuser(settings.fusion, settings=settings)  # present but broken: an error, not a fallback
