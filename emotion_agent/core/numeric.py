"""Small numeric helpers shared by experts, fusers and evaluation."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray, temperature: float | np.ndarray = 1.0, axis: int = -1,
            dtype: type[np.floating] = np.float32) -> np.ndarray:
    """softmax(logits / temperature) along ``axis``, computed in float64 and returned as ``dtype``.

    ``temperature`` may be an array that broadcasts against ``logits`` (one temperature per row)."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=axis, keepdims=True)).astype(dtype)
