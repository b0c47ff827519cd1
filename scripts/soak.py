"""Soak: N live sessions replaying real recordings for a while; reports memory growth, lag and errors.

    .venv/bin/python scripts/soak.py --sessions 3 --minutes 10 [--no-reply] [--no-video] [--trace] [--json]

Memory growth compares the mean RSS of the first minute after warm-up with the last minute's.
``--no-reply`` / ``--no-video`` leave the responder / the camera out (to bisect growth); ``--trace``
also reports the Python allocations that grew most between the second minute and the end (tracemalloc).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import tracemalloc
from pathlib import Path

import numpy as np

from emotion_agent.agent.facade import EmotionAwareAgent
from emotion_agent.core.settings import get_settings
from emotion_agent.training.bench import SessionRun, build_replays, run_session


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * 4096 / 2**20


async def soak(sessions: int, minutes: float, reply: bool, data_dir: Path, video: bool = True,
               trace: bool = False) -> dict[str, object]:
    agent = EmotionAwareAgent(max_sessions=sessions + 1)
    await asyncio.to_thread(agent.warm_up, responder=reply)
    deadline = time.perf_counter() + minutes * 60
    samples: list[tuple[float, float]] = []
    runs: list[SessionRun] = []
    t0 = time.perf_counter()

    first: list[tracemalloc.Snapshot] = []
    if trace:
        tracemalloc.start(4)

    async def sampler() -> None:
        while time.perf_counter() < deadline + 30:
            samples.append((time.perf_counter() - t0, rss_mb()))
            if trace and not first and time.perf_counter() - t0 > 90:
                first.append(tracemalloc.take_snapshot())
            await asyncio.sleep(5)

    async def worker(idx: int) -> None:
        rnd = 0
        while time.perf_counter() < deadline:
            replay = build_replays(data_dir, 1, 10, seed=1000 * idx + rnd)[0]
            stats = SessionRun()
            await run_session(agent.new_session(reply=reply), replay, stats, video=video)
            runs.append(stats)
            rnd += 1

    sample_task = asyncio.create_task(sampler())
    await asyncio.gather(*(worker(i) for i in range(sessions)))
    sample_task.cancel()
    grew: list[str] = []
    if trace and first:
        stats_diff = tracemalloc.take_snapshot().compare_to(first[0], "traceback")
        grew = [f"{d.size_diff / 2**20:+.2f} MB in {d.count_diff:+d} blocks at "
                + " <- ".join(f"{f.filename.split('site-packages/')[-1]}:{f.lineno}" for f in d.traceback)
                for d in stats_diff[:12]]
        tracemalloc.stop()
    await agent.aclose()
    arr = np.array(samples)
    warm = arr[(arr[:, 0] >= 30) & (arr[:, 0] < 90), 1]
    last = arr[arr[:, 0] >= arr[-1, 0] - 60, 1]
    growth = (last.mean() - warm.mean()) / warm.mean() * 100 if len(warm) and len(last) else float("nan")
    return {
        "sessions": sessions, "minutes": minutes, "session_runs": len(runs),
        "rss_first_minute_mb": round(float(warm.mean()), 1) if len(warm) else None,
        "rss_last_minute_mb": round(float(last.mean()), 1),
        "rss_growth_pct": round(float(growth), 2),
        # Mean RSS per minute since warm-up ended: tells steady growth from an early plateau.
        "rss_by_minute_mb": [round(float(arr[(arr[:, 0] >= m * 60) & (arr[:, 0] < (m + 1) * 60), 1].mean()), 1)
                             for m in range(int(arr[-1, 0] // 60) + 1)
                             if ((arr[:, 0] >= m * 60) & (arr[:, 0] < (m + 1) * 60)).any()],
        "max_lag_s": round(max(r.max_lag_s for r in runs), 2) if runs else None,
        "max_drain_s": round(max(r.drain_s for r in runs), 2) if runs else None,
        "emotions": sum(r.emotions for r in runs), "replies": sum(r.replies for r in runs),
        "errors": sorted({e for r in runs for e in r.errors})[:10],
        **({"python_growth": grew} if trace else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--no-reply", action="store_true")
    parser.add_argument("--no-video", action="store_true")
    parser.add_argument("--trace", action="store_true", help="tracemalloc: where Python allocations grew")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(soak(args.sessions, args.minutes, not args.no_reply, get_settings().data_dir,
                              video=not args.no_video, trace=args.trace))
    for key, value in result.items():
        print(f"{key:>22}: {value}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
