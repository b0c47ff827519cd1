"""Interleaved A/B: old (untuned + example prompt, no guard) vs new (adapter + guard), typed turns through
the real Session, alternating turn by turn so both see the same machine load.
Times: send_text → first reply_delta, → reply.  python scripts/bench_reply_ab.py [turns]"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_responder import TEXTS

from emotion_agent.agent.facade import EmotionAwareAgent
from emotion_agent.core.settings import get_settings


async def turn(session, events, text):
    t0 = time.perf_counter()
    first = None
    await session.send_text(text)
    while True:
        ev = await events.__anext__()
        if ev["type"] == "reply_delta" and first is None:
            first = time.perf_counter() - t0
        if ev["type"] == "reply":
            full = time.perf_counter() - t0
            return (first if first is not None else full) * 1000, full * 1000, ev

async def main(n):
    base = get_settings()
    agents = {"old": EmotionAwareAgent(settings=base.model_copy(update={"responder_adapter": "none", "reply_guard": False})),
              "new": EmotionAwareAgent(settings=base.model_copy(update={"responder_adapter": "default", "reply_guard": True}))}
    for a in agents.values():
        a.warm_up(modalities=("text",), asr=False)
    sessions = {k: a.new_session() for k, a in agents.items()}
    for s in sessions.values():
        await s.start()
    events = {k: s.events() for k, s in sessions.items()}
    res: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in agents}
    fallbacks = {k: 0 for k in agents}
    for i in range(n):
        order = ["old", "new"] if i % 2 == 0 else ["new", "old"]
        for k in order:
            f, full, ev = await turn(sessions[k], events[k], TEXTS[i % len(TEXTS)])
            res[k][0].append(f)
            res[k][1].append(full)
            fallbacks[k] += ev.get("fallback_reason") is not None
    out = {}
    for k, (f, full) in res.items():
        out[k] = {"first_p50": round(float(np.percentile(f, 50))), "first_p95": round(float(np.percentile(f, 95))),
                  "full_p50": round(float(np.percentile(full, 50))), "full_p95": round(float(np.percentile(full, 95))),
                  "fallbacks": fallbacks[k], "guard": sessions[k].conversation.guard.as_dict()}
    for a in agents.values():
        await a.aclose()
    print("load average", os.getloadavg())
    print(json.dumps(out, indent=1))

asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 30))
