"""Per-client token buckets: ``rate`` requests a minute with bursts of up to ``burst``.

Clients are keyed by address (behind a trusted reverse proxy uvicorn puts the ``X-Forwarded-For``
address in the ASGI scope).  The table of buckets is bounded: full (idle) buckets are forgotten first,
then the least recently seen.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    def __init__(self, per_minute: float, burst: int, max_clients: int = 10_000) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(max(1, min(burst, math.ceil(per_minute)))) if per_minute > 0 else 0.0
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self.refused = 0

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def hit(self, client: str, now: float | None = None) -> float:
        """Take one token for ``client``: 0.0 if allowed, else seconds until a token is available."""
        if not self.enabled:
            return 0.0
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(client)
        if bucket is None:
            self._make_room(now)
            bucket = self._buckets[client] = _Bucket(self.capacity, now)
        else:
            self._buckets.move_to_end(client)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        self.refused += 1
        return (1.0 - bucket.tokens) / self.rate

    def _make_room(self, now: float) -> None:
        if len(self._buckets) < self.max_clients:
            return
        full = [k for k, b in self._buckets.items()
                if b.tokens + (now - b.stamp) * self.rate >= self.capacity]
        for key in full:
            del self._buckets[key]
        while len(self._buckets) >= self.max_clients:
            self._buckets.popitem(last=False)

    def __len__(self) -> int:
        return len(self._buckets)
