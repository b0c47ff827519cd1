"""``/metrics``: aggregates only, in the Prometheus text format (``prometheus-client``).

No session ids, profiles of individual users or anything a visitor said: counts by kind and pool,
per-stage latency percentiles over all sessions, the worst lags, and the guards' counters (rate-limited
requests, refused origins and tokens, slow readers cut off, evictions).  ``?format=json`` gives the
same aggregates as JSON (what ``scripts/browser_smoke.py`` prints).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

AppState = Any
"""``web.app.AppState`` (not imported: the app imports this module)."""

KINDS = ("webrtc", "ws", "chat")


def aggregates(state: AppState) -> dict[str, Any]:
    """The numbers behind /metrics (no per-session entries)."""
    entries = list(state.registry.entries.values())
    infos = [e.info() for e in entries]
    lags = [i["media"]["lag_s"] for i in infos if i["media"]]
    audio_lags = [float(i["session_metrics"]["audio_lag_s"]) for i in infos
                  if i["session_metrics"] and "audio_lag_s" in i["session_metrics"]]
    stage_ms = _agent_stage_ms(state.agent)
    if stage_ms is None:  # fall back to the newest per-session figures
        latest = [i["session_metrics"] for i in infos if i["session_metrics"]]
        stage_ms = latest[-1].get("stage_ms", {}) if latest else {}
    offer = sorted(state.offer_ms)
    reg = state.registry
    return {
        "uptime_s": round(time.monotonic() - state.started, 1),
        "sessions": len(entries),
        "max_sessions": reg.max_sessions,
        "max_text_sessions": reg.max_text_sessions,
        "peers": len(reg.peers),
        "by_kind": {k: sum(e.kind == k for e in entries) for k in KINDS},
        "created": {k: reg.created.get(k, 0) for k in KINDS},
        "closed": dict(reg.closed_reasons),
        "evicted": reg.evicted,
        "slow_readers": reg.slow_readers + sum(e.slow_readers for e in entries),
        "rate_limited": {name: lim.refused for name, lim in state.limits.items()},
        "refused": dict(state.refused),
        "stage_ms": stage_ms,
        "track_lag_s": {"max": round(max(lags, default=0.0), 3)},
        "audio_lag_s": {"max": round(max(audio_lags, default=0.0), 3)},
        "offer_ms": {"n": len(offer), "p50": _pct(offer, 50), "p95": _pct(offer, 95)},
    }


class _Collector(Collector):
    def __init__(self, state: AppState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        a = aggregates(self.state)
        g = GaugeMetricFamily("emotion_agent_sessions", "Live sessions by kind", labels=["kind"])
        for kind, n in a["by_kind"].items():
            g.add_metric([kind], n)
        yield g
        g = GaugeMetricFamily("emotion_agent_session_limit", "Session limit by pool", labels=["pool"])
        g.add_metric(["live"], a["max_sessions"])
        g.add_metric(["text"], a["max_text_sessions"])
        yield g
        yield GaugeMetricFamily("emotion_agent_peers", "WebRTC peer connections", value=a["peers"])
        yield GaugeMetricFamily("emotion_agent_uptime_seconds", "Seconds since start", value=a["uptime_s"])
        c = CounterMetricFamily("emotion_agent_sessions_created", "Sessions created by kind", labels=["kind"])
        for kind, n in a["created"].items():
            c.add_metric([kind], n)
        yield c
        c = CounterMetricFamily("emotion_agent_sessions_closed", "Sessions closed by reason", labels=["reason"])
        for reason, n in sorted(a["closed"].items()):
            c.add_metric([reason], n)
        yield c
        yield CounterMetricFamily("emotion_agent_sessions_evicted", "Idle REST chats evicted to make room",
                                  value=a["evicted"])
        yield CounterMetricFamily("emotion_agent_slow_readers", "Connections cut off for not reading their events",
                                  value=a["slow_readers"])
        c = CounterMetricFamily("emotion_agent_rate_limited", "Requests answered 429", labels=["route"])
        for route, n in sorted(a["rate_limited"].items()):
            c.add_metric([route], n)
        yield c
        c = CounterMetricFamily("emotion_agent_refused", "Requests refused by the guards", labels=["reason"])
        for reason, n in sorted(a["refused"].items()):
            c.add_metric([reason], n)
        yield c
        g = GaugeMetricFamily("emotion_agent_stage_ms", "Per-stage latency percentiles over all sessions (ms)",
                              labels=["stage", "quantile"])
        for stage, stats in sorted(a["stage_ms"].items()):
            for q in ("p50", "p95"):
                if q in stats:
                    g.add_metric([stage, q[1:]], float(stats[q]))
        yield g
        yield GaugeMetricFamily("emotion_agent_track_lag_seconds", "Worst media track lag",
                                value=a["track_lag_s"]["max"])
        yield GaugeMetricFamily("emotion_agent_audio_lag_seconds", "Worst audio processing lag",
                                value=a["audio_lag_s"]["max"])
        g = GaugeMetricFamily("emotion_agent_offer_ms", "Time to answer an offer (ms)", labels=["quantile"])
        g.add_metric(["50"], a["offer_ms"]["p50"])
        g.add_metric(["95"], a["offer_ms"]["p95"])
        yield g


def prometheus_registry(state: AppState) -> CollectorRegistry:
    """A registry of its own per app (tests make many apps; the global one would mix them)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(state))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


def _agent_stage_ms(agent: Any) -> dict[str, Any] | None:
    # The real agent shares one StageTimes across sessions: all-session percentiles per stage.
    times = getattr(agent, "stage_times", None)
    summary = getattr(times, "summary", None)
    return summary() if callable(summary) else None


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    idx = min(len(values) - 1, round(q / 100 * (len(values) - 1)))
    return round(values[idx], 2)
