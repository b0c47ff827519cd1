"""Synthetic fusion sets for the fuser tests: three noisy 'experts' that each see the true label."""

from __future__ import annotations

import numpy as np

from emotion_agent.core.events import MODALITIES
from emotion_agent.core.labels import NUM_LABELS
from emotion_agent.training.fusion_data import FusionSet

DIMS = {"face": 12, "voice": 10, "text": 6}


def synthetic_set(n: int, seed: int = 0, signal: float | tuple[float, float, float] = 1.2,
                  flip: float = 0.0) -> FusionSet:
    """``n`` samples, all modalities present.  Each expert's logits get ``signal`` on the true label
    plus unit noise (so each alone is a weak classifier); embeddings carry a label-dependent mean.
    ``flip``: fraction of samples whose true label is redrawn after the scores were made (label noise,
    which makes confident experts overconfident)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, NUM_LABELS, n)
    sig = (signal,) * 3 if isinstance(signal, float | int) else signal
    logits = rng.normal(0, 1, (n, 3, NUM_LABELS)).astype(np.float32)
    for i in range(3):
        logits[np.arange(n), i, y] += sig[i]
    centres = {m: np.random.default_rng(100 + i).normal(0, 1, (NUM_LABELS, DIMS[m])) for i, m in enumerate(MODALITIES)}
    embs: dict[str, np.ndarray] = {m: (centres[m][y] + rng.normal(0, 1.0, (n, DIMS[m]))).astype(np.float32) for m in MODALITIES}
    z = logits - logits.max(axis=2, keepdims=True)
    conf = (np.exp(z) / np.exp(z).sum(axis=2, keepdims=True)).max(axis=2).astype(np.float32)
    if flip:
        redraw = rng.random(n) < flip
        y = np.where(redraw, rng.integers(0, NUM_LABELS, n), y)
    present = np.ones((n, 3), dtype=bool)
    return FusionSet(logits, conf, present, embs, y.astype(np.int64), np.full(n, "all"))
