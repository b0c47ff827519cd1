"""Shared fixtures.  HF_HUB_OFFLINE=1 so an accidental hub download fails loudly."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path

import numpy as np
import pytest

from emotion_agent.core.settings import get_settings

SR = 16_000


def speechlike(seconds: float, f0: float = 150.0, amp: float = 0.2, sr: int = SR) -> np.ndarray:
    """A harmonic, vowel-like burst (webrtcvad calls it speech; a pure sine it often does not)."""
    t = np.arange(int(seconds * sr)) / sr
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 15))
    wave = wave * (1 + 0.3 * np.sin(2 * np.pi * 4 * t))
    return (amp * wave / np.abs(wave).max()).astype(np.float32)


def silence(seconds: float, sr: int = SR) -> np.ndarray:
    return np.zeros(int(seconds * sr), dtype=np.float32)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return get_settings().data_dir


@pytest.fixture(scope="session")
def ravdess_dir(data_dir: Path) -> Path:
    path = data_dir / "ravdess_speech_16k"
    if not (path / "manifest.csv").exists():
        pytest.skip(f"RAVDESS not found at {path} (set EMOTION_AGENT_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def goemotions_dir(data_dir: Path) -> Path:
    path = data_dir / "goemotions"
    if not (path / "dev.tsv").exists():
        pytest.skip(f"GoEmotions not found at {path} (set EMOTION_AGENT_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def fer_npz(data_dir: Path) -> Path:
    path = data_dir / "fer2013" / "fer2013_train_publictest.npz"
    if not path.exists():
        pytest.skip(f"FER-2013 not found at {path} (set EMOTION_AGENT_DATA_DIR)")
    return path


TINY_WORDS = ["i", "am", "so", "angry", "happy", "sad", "the", "parcel", "is", "late", "ok", "thanks", "fine",
              "where", "my", "order", "refund", "now", "again", "sorry"]
"""The vocabulary of ``tiny_encoder`` (besides BERT's special tokens)."""


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 16-wide random BERT with its tokenizer, saved as a folder the text expert's loader reads."""
    import inspect

    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast  # type: ignore[attr-defined]

    folder = tmp_path_factory.mktemp("tiny_bert_ctx")
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *TINY_WORDS])}
    if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters:
        tok = BertTokenizerFast(vocab=vocab)
    else:  # pragma: no cover - transformers 4.x
        (folder / "vocab.txt").write_text("\n".join(sorted(vocab, key=vocab.__getitem__)) + "\n")
        tok = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    tok.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64)
    BertModel(config).eval().save_pretrained(folder)
    return folder
