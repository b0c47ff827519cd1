"""Helpers every expert shares: softmax, building ``ExpertScores``, checkpoints, thread caps."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emotion_agent.core.events import ExpertScores, Modality
from emotion_agent.core.labels import NUM_LABELS
from emotion_agent.core.models import ModelNotFoundError, locate
from emotion_agent.core.numeric import softmax


def make_scores(modality: Modality, logits: np.ndarray, embedding: np.ndarray, started: float,
                quality: float = 1.0) -> ExpertScores:
    """Scores from logits (7,) and an embedding; ``started`` is a ``time.perf_counter()`` stamp."""
    logits = np.asarray(logits, dtype=np.float32).reshape(NUM_LABELS)
    probs = softmax(logits)
    return ExpertScores(
        modality=modality,
        probs=probs,
        embedding=np.asarray(embedding, dtype=np.float32).reshape(-1),
        confidence=float(probs.max()) * float(np.clip(quality, 0.0, 1.0)),
        latency_ms=(time.perf_counter() - started) * 1000.0,
        logits=logits,
    )


def checkpoint_file(spec: str | Path, filename: str = "model.pt") -> Path:
    """A checkpoint file from a spec naming the file or its folder."""
    path = locate(spec)
    if path.is_dir():
        path = path / filename
    if not path.exists():
        raise ModelNotFoundError(f"model file missing: {path} (train it with `emotion-agent train ...`)")
    return path


def save_checkpoint(path: Path, config: Any, state_dict: dict[str, Any], **extra: Any) -> None:
    """``{config, state_dict, ...}``; ``config`` a dataclass or dict; loadable with weights_only=True."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    cfg = asdict(config) if is_dataclass(config) and not isinstance(config, type) else dict(config)
    torch.save({"config": cfg, "state_dict": state_dict, **extra}, path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelNotFoundError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(ckpt, dict) or "config" not in ckpt or "state_dict" not in ckpt:
        raise ModelNotFoundError(f"{path}: checkpoint lacks config/state_dict")
    return ckpt


def write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2))


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Cap torch's intra-op threads for a block (sessions must not fight over 2 cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(before)
