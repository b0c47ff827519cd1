"""Text expert: a tiny BERT (hidden 16, 2 layers) saved in tmp_path, loaded through ``TextExpert.load``."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

import numpy as np
import pytest
import torch

from emotion_agent.core.events import ExpertScores
from emotion_agent.core.labels import LABEL_INDEX, NUM_LABELS
from emotion_agent.core.models import ModelNotFoundError
from emotion_agent.fusion.experts.base import save_checkpoint
from emotion_agent.fusion.experts.text import (
    TextExpert,
    TextExpertConfig,
    TextHead,
    base_checksums,
    build_state_dict,
)
from emotion_agent.fusion.experts.text_encoder import (
    Encoder,
    encode_texts,
    load_encoder,
    run_top_layers,
    top_layer_names,
)
from emotion_agent.training.text_train import eval_data, finetune, holdout_split

WORDS = ["i", "am", "so", "very", "happy", "glad", "sad", "down", "angry", "mad", "afraid", "scared", "gross",
         "disgusted", "wow", "surprised", "ok", "the", "a", "it", "this", "is", "what", "fine", "day", "news",
         "you", "me"]
SENTENCES = {
    "happy": ["i am so happy", "very glad today", "what a happy day", "glad for you"],
    "sad": ["i am so sad", "very down today", "sad news", "i am down"],
    "angry": ["i am so angry", "very mad at you", "angry at me", "so mad"],
    "fearful": ["i am afraid", "so scared", "very scared of it", "afraid of the day"],
    "disgusted": ["this is gross", "so disgusted", "gross day", "disgusted by it"],
    "surprised": ["wow", "so surprised", "wow what news", "surprised by it"],
    "neutral": ["it is a day", "the news", "ok fine", "this is it"],
}


def _tokenizer(vocab: dict[str, int], folder: Path) -> None:
    from transformers import BertTokenizerFast  # type: ignore[attr-defined]

    # transformers 5 takes the vocabulary as ``vocab``; 4.x as ``vocab_file``.
    if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters:
        tok = BertTokenizerFast(vocab=vocab)
    else:  # pragma: no cover - older transformers
        path = folder / "vocab.txt"
        path.write_text("\n".join(sorted(vocab, key=vocab.__getitem__)) + "\n")
        tok = BertTokenizerFast(vocab_file=str(path))
    tok.save_pretrained(folder)


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny_bert")
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS])}
    _tokenizer(vocab, folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64)
    BertModel(config).eval().save_pretrained(folder)
    return folder


def _save_expert(folder: Path, encoder_dir: Path, finetuned: int = 1, seed: int = 0) -> dict[str, torch.Tensor]:
    """A random head (and random deltas for the top ``finetuned`` layers) saved as a checkpoint."""
    torch.manual_seed(seed)
    enc = load_encoder(encoder_dir)
    config = TextExpertConfig(encoder=str(encoder_dir), hidden_size=16, max_length=16, finetuned_layers=finetuned)
    head = TextHead(config)
    names = top_layer_names(enc, finetuned)
    params = dict(enc.model.named_parameters())
    deltas = {n: 0.05 * torch.randn_like(params[n]) for n in names}
    save_checkpoint(folder / "model.pt", config, build_state_dict(head, deltas),
                    base_check=base_checksums(enc, names))
    return deltas


@pytest.fixture(scope="module")
def expert_dir(tiny_encoder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("text_expert")
    _save_expert(folder, tiny_encoder)
    return folder


def _valid(scores: ExpertScores, dim: int = 16) -> None:
    assert scores.modality == "text"
    assert scores.probs.shape == (NUM_LABELS,) and scores.probs.dtype == np.float32
    assert abs(float(scores.probs.sum()) - 1.0) < 1e-5
    assert scores.embedding.shape == (dim,) and np.isfinite(scores.embedding).all()
    assert 0.0 <= scores.confidence <= 1.0
    assert scores.latency_ms >= 0.0
    assert scores.logits is not None and scores.logits.shape == (NUM_LABELS,)


def _top_layers_match_full_forward(encoder: Encoder, n_top: int) -> tuple[float, float]:
    """(max |difference| between the full forward pass and the cached lower layers + ``TopLayers``,
    the same with the top layers run as a plain ``ModuleList``) on a padded batch."""
    ids = torch.tensor([[2, 7, 8, 9, 10, 3], [2, 7, 3, 0, 0, 0]])
    mask = (ids != 0).long()
    with torch.no_grad():
        states = encoder.model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
        lower = states[encoder.num_layers - n_top]
        stacked = run_top_layers(encoder.top_layers(n_top), lower, mask)
        plain = run_top_layers(torch.nn.ModuleList(encoder.layers[-n_top:]), lower, mask)
    real = mask.bool()
    return float((stacked - states[-1])[real].abs().max()), float((plain - states[-1])[real].abs().max())


def test_top_layers_reproduce_the_full_model_for_bert_and_mpnet(tiny_encoder: Path, tmp_path: Path) -> None:
    # BERT-class layers need only the mask; MPNet's take the encoder's relative position bias, which
    # ``TopLayers`` carries (without it the cached-layer training would not match inference).
    from transformers import MPNetConfig, MPNetModel

    bert = load_encoder(tiny_encoder)
    assert bert.top_layers(1).relative_bias is None
    assert _top_layers_match_full_forward(bert, 1)[0] < 1e-5
    torch.manual_seed(0)
    config = MPNetConfig(vocab_size=32, hidden_size=16, num_hidden_layers=3, num_attention_heads=2,
                         intermediate_size=32, max_position_embeddings=64)
    mpnet = Encoder(tokenizer=None, model=MPNetModel(config).eval(), path=tmp_path)
    with torch.no_grad():  # a random init leaves the bias at N(0, 0.02): make it matter
        mpnet.model.encoder.relative_attention_bias.weight.normal_(0.0, 1.0)
    top = mpnet.top_layers(2)
    assert top.relative_bias is not None and top.relative_bias.shape == (32, 2)
    with_bias, without = _top_layers_match_full_forward(mpnet, 2)
    assert with_bias < 1e-5 < without


def test_predict_returns_valid_scores(expert_dir: Path) -> None:
    expert = TextExpert.load(expert_dir)
    assert expert.modality == "text" and expert.embedding_dim == 16
    _valid(expert.predict("i am so happy"))


def test_deltas_are_added_to_the_base(tiny_encoder: Path, tmp_path: Path) -> None:
    deltas = _save_expert(tmp_path, tiny_encoder, finetuned=2, seed=3)
    base = dict(load_encoder(tiny_encoder).model.named_parameters())
    loaded = dict(TextExpert.load(tmp_path).encoder.model.named_parameters())
    for name, delta in deltas.items():
        expected = base[name] + delta.to(torch.float16).float()
        assert torch.allclose(loaded[name], expected, atol=1e-6), name
    assert torch.equal(loaded["embeddings.word_embeddings.weight"], base["embeddings.word_embeddings.weight"])


def test_predict_many_matches_predict(expert_dir: Path) -> None:
    expert = TextExpert.load(expert_dir)
    texts = ["wow", "i am so very sad today", "this is gross", "ok"]
    many = expert.predict_many(texts)
    assert len(many) == len(texts)
    for text, scores in zip(texts, many, strict=True):
        _valid(scores)
        one = expert.predict(text)
        np.testing.assert_allclose(one.probs, scores.probs, atol=1e-5)
        np.testing.assert_allclose(one.embedding, scores.embedding, atol=1e-5)
    again = expert.predict_many(texts)
    assert all(np.array_equal(a.probs, b.probs) for a, b in zip(many, again, strict=True))


@pytest.mark.parametrize("bad", ["", "   \n\t", None, 5, b"bytes", ["a list"]])
def test_bad_input_is_a_value_error(expert_dir: Path, bad: object) -> None:
    expert = TextExpert.load(expert_dir)
    with pytest.raises(ValueError, match="text"):
        expert.predict(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="text"):
        expert.predict_many(["fine", bad])  # type: ignore[list-item]


def test_long_text_is_truncated(expert_dir: Path) -> None:
    expert = TextExpert.load(expert_dir)
    text = "i am so happy " * 8000  # ~110 kB
    assert len(text) > 100_000
    scores = expert.predict(text)
    _valid(scores)
    np.testing.assert_allclose(scores.probs, expert.predict("i am so happy " * 40).probs, atol=1e-5)


def test_short_text_has_lower_confidence(expert_dir: Path) -> None:
    expert = TextExpert.load(expert_dir)
    short, long = expert.predict_many(["wow", "wow what news you surprised me"])
    assert short.confidence <= 0.5 * float(short.probs.max()) + 1e-6
    assert long.confidence == pytest.approx(float(long.probs.max()), abs=1e-6)


def test_missing_and_corrupt_checkpoints(tiny_encoder: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError):
        TextExpert.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="model file missing"):
        TextExpert.load(tmp_path / "empty")
    bad = tmp_path / "bad" / "model.pt"
    bad.parent.mkdir()
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelNotFoundError):
        TextExpert.load(bad)
    with pytest.raises(ModelNotFoundError, match="text encoder"):
        TextExpert.load(_saved(tmp_path / "x", tiny_encoder), encoder=tmp_path / "empty")


def _saved(folder: Path, encoder_dir: Path) -> Path:
    folder.mkdir()
    _save_expert(folder, encoder_dir)
    return folder


def test_deltas_refuse_a_different_base(tiny_encoder: Path, tmp_path: Path) -> None:
    from transformers import BertModel

    other = tmp_path / "other_bert"
    other.mkdir()
    for f in tiny_encoder.iterdir():
        if f.name.startswith(("tokenizer", "vocab", "special")):
            (other / f.name).write_bytes(f.read_bytes())
    torch.manual_seed(99)
    BertModel(load_encoder(tiny_encoder).model.config).save_pretrained(other)
    folder = _saved(tmp_path / "ckpt", tiny_encoder)
    assert TextExpert.load(folder, encoder=tiny_encoder).predict("ok").probs.shape == (NUM_LABELS,)
    with pytest.raises(ModelNotFoundError, match="different base encoder"):
        TextExpert.load(folder, encoder=other)


def test_finetune_overfits_a_tiny_batch_and_reloads(tiny_encoder: Path, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    texts = [t for ts in SENTENCES.values() for t in ts]
    y = np.array([LABEL_INDEX[label] for label, ts in SENTENCES.items() for _ in ts])
    enc = load_encoder(tiny_encoder)
    pooled, kept = encode_texts(enc, texts, max_length=16, keep_layer=1)
    assert kept is not None
    cache = {"pooled": pooled, "packed": np.concatenate(kept),
             "offsets": np.concatenate([[0], np.cumsum([len(k) for k in kept])]).astype(np.int64)}
    config = TextExpertConfig(encoder=str(tiny_encoder), hidden_size=16, max_length=16, finetuned_layers=1,
                              dropout=0.0)
    args = argparse.Namespace(seed=0, lr=5e-3, head_lr=5e-2, epochs=12, batch_size=8, class_weight_power=0.5)
    rows = np.arange(len(y))
    head, deltas, log = finetune(enc, config, cache, y, rows, rows, args)
    losses = [row["train_loss"] for row in log]
    assert losses[-1] < 0.3 * losses[0], losses
    assert set(deltas) == set(top_layer_names(enc, 1)) and any(float(d.abs().max()) > 0 for d in deltas.values())

    save_checkpoint(tmp_path / "model.pt", config, build_state_dict(head, deltas),
                    base_check=base_checksums(enc, sorted(deltas)))
    expert = TextExpert.load(tmp_path)
    probs = np.stack([s.probs for s in expert.predict_many(texts)])
    assert (probs.argmax(1) == y).mean() >= 0.9

    # eval_data reads a MELD-format csv through the same loader.
    csv = tmp_path / "held.csv"
    meld_names = {"happy": "joy", "sad": "sadness", "angry": "anger", "fearful": "fear",
                  "disgusted": "disgust", "surprised": "surprise", "neutral": "neutral"}
    csv.write_text("Utterance,Emotion\n" + "".join(f"{t},{meld_names[lab]}\n"
                                                  for lab, ts in SENTENCES.items() for t in ts))
    p, y_true = eval_data(csv, str(tmp_path))
    assert p.shape == (len(texts), NUM_LABELS) and np.array_equal(y_true, y)
    np.testing.assert_allclose(p, probs, atol=1e-5)


def test_holdout_split_is_stratified() -> None:
    y = np.repeat(np.arange(NUM_LABELS), 20)
    fit, held = holdout_split(y, 0.1, seed=0)
    assert len(set(fit) & set(held)) == 0 and len(fit) + len(held) == len(y)
    assert np.bincount(y[held], minlength=NUM_LABELS).min() >= 1


@pytest.mark.slow
def test_committed_model_on_goemotions_dev(goemotions_dir: Path) -> None:
    from emotion_agent.core.settings import WEIGHTS_DIR
    from emotion_agent.training.datasets import load_goemotions
    from emotion_agent.training.metrics import macro_f1

    if not (WEIGHTS_DIR / "text" / "model.pt").exists():
        pytest.skip("no committed text expert (train it with `emotion-agent train text`)")
    texts, y = load_goemotions(goemotions_dir / "dev.tsv")
    texts, y = texts[:1500], y[:1500]
    expert = TextExpert.load()
    probs = np.stack([s.probs for s in expert.predict_many(texts)])
    # Full dev macro-F1 is in fusion/weights/text/report.json; 1,500 rows leave noise on rare classes.
    assert macro_f1(y, probs.argmax(1)) >= MIN_DEV_SLICE_MACRO_F1


MIN_DEV_SLICE_MACRO_F1 = 0.55
