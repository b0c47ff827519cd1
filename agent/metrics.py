"""Per-stage latency records with percentiles, shared by sessions, the web /metrics and the bench."""

from __future__ import annotations

import threading
from collections import defaultdict, deque

import numpy as np


class StageTimes:
    """Keeps the last ``window`` durations (ms) per stage name.  Thread-safe."""

    def __init__(self, window: int = 2000) -> None:
        self._data: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=window))
        self._lock = threading.Lock()

    def add(self, stage: str, ms: float) -> None:
        with self._lock:
            self._data[stage].append(float(ms))

    def merge(self, other: StageTimes) -> None:
        for stage, values in other.snapshot_raw().items():
            for v in values:
                self.add(stage, v)

    def snapshot_raw(self) -> dict[str, list[float]]:
        with self._lock:
            return {k: list(v) for k, v in self._data.items()}

    def summary(self) -> dict[str, dict[str, float]]:
        """{stage: {n, p50, p95, max}} in ms."""
        out: dict[str, dict[str, float]] = {}
        for stage, values in sorted(self.snapshot_raw().items()):
            if values:
                arr = np.asarray(values)
                out[stage] = {
                    "n": float(len(arr)),
                    "p50": round(float(np.percentile(arr, 50)), 2),
                    "p95": round(float(np.percentile(arr, 95)), 2),
                    "max": round(float(arr.max()), 2),
                }
        return out
