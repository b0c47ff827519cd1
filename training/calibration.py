"""Temperature scaling (Guo et al., 2017): one scalar T > 0 with softmax(logits / T).

T is fitted on a held-out calibration split by minimising the negative log-likelihood with LBFGS
(over log T, so T stays positive).  It never changes the arg-max, so accuracy is untouched; only
the confidence moves.  One T per set of present modalities (with a global fallback); the fitted
values go into the fuser's checkpoint and ``fuse`` applies them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from emotion_agent.core.numeric import softmax
from emotion_agent.fusion.fusers.base import BaseFuser, FusionBatch, subset_key
from emotion_agent.training.metrics import expected_calibration_error

T_MIN, T_MAX = 0.05, 20.0


def fit_temperature(logits: np.ndarray, y: np.ndarray, max_iter: int = 200) -> float:
    """The T minimising NLL of softmax(logits / T) on (logits (n, 7), y (n,) label indices)."""
    z = torch.as_tensor(np.asarray(logits, dtype=np.float64))
    target = torch.as_tensor(np.asarray(y, dtype=np.int64))
    if z.ndim != 2 or len(z) != len(target) or len(z) == 0:
        raise ValueError(f"need logits (n, k) and labels (n,), got {tuple(z.shape)} and {tuple(target.shape)}")
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(z / log_t.exp(), target)
        loss.backward()
        return loss

    opt.step(closure)
    t = float(log_t.exp().item())
    if not np.isfinite(t):
        raise ValueError("temperature fit diverged")
    return float(np.clip(t, T_MIN, T_MAX))


MIN_SUBSET_ROWS = 300
"""A set of present modalities gets its own temperature only with at least this many rows."""


@dataclass(frozen=True)
class CalibrationResult:
    temperature: float
    """The global temperature (all rows)."""
    subset_temperatures: dict[str, float]
    """One per set of present modalities with at least ``MIN_SUBSET_ROWS`` rows."""
    ece_before: float
    """ECE at T = 1 on the calibration split."""
    ece_global: float
    """ECE with the global temperature only."""
    ece_after: float
    """ECE with the per-subset temperatures (the fuser's final state)."""
    nll_before: float
    nll_after: float


def _nll(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0)).mean())


def calibrate(fuser: BaseFuser, batch: FusionBatch, y: np.ndarray, per_subset: bool = True) -> CalibrationResult:
    """Fit and set the fuser's temperatures on (batch, y); report ECE/NLL before and after.

    A global T on all rows, then (``per_subset``) one T per set of present modalities that has at least
    ``MIN_SUBSET_ROWS`` rows — a fuser is typically over-confident with all three and under-confident
    with one, which a single scalar cannot fix."""
    y = np.asarray(y, dtype=np.int64)
    logits, _ = fuser.predict_logits(batch)
    keys = np.array([subset_key(row) for row in batch.present.numpy()])
    before = softmax(logits, axis=1, dtype=np.float64)
    t = fit_temperature(logits, y)
    subset: dict[str, float] = {}
    if per_subset:
        for key in sorted(set(keys.tolist())):
            rows = keys == key
            if rows.sum() >= MIN_SUBSET_ROWS:
                subset[key] = fit_temperature(logits[rows], y[rows])
    fuser.set_temperature(t)
    fuser.set_subset_temperatures(subset)
    per_row = np.array([subset.get(k, t) for k in keys])
    after = softmax(logits, per_row[:, None], axis=1, dtype=np.float64)
    return CalibrationResult(t, subset, expected_calibration_error(before, y),
                             expected_calibration_error(softmax(logits, t, axis=1, dtype=np.float64), y),
                             expected_calibration_error(after, y), _nll(before, y), _nll(after, y))
