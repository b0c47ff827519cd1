"""``emotion-agent bench``: replay real recordings through the live session code at real-time pace.

Each session gets held-out RAVDESS utterances (actors 17–20) as 20 ms chunks of 48 kHz int16 (what
WebRTC delivers) with a second of silence after each, plus a face video at 15 fps.  Printed per
concurrency level: per-stage latency percentiles (ms), end of utterance → provisional / final
emotion, → first reply text, → full reply, ASR real-time factor, CPU seconds per second of session
audio, peak memory, lag, and whether every session kept up.  ``--json`` prints one JSON object as
the last line; ``--plot`` writes latency versus concurrent sessions.

``--tts server`` also synthesises every reply with Piper (``EMOTION_AGENT_TTS=server``) and reads each
session's voice as a WebRTC track would (20 ms frames in real time): ``eou_to_first_audio`` is end of
utterance → the first frame of the reply's audio.  Utterances that start while a reply still plays
are barge-ins (counted), as they would be live.  ``--tts browser`` (the default setting) and ``off``
leave the speaking to the page: the server does no speech work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emotion_agent.agent.facade import EmotionAwareAgent
from emotion_agent.agent.metrics import StageTimes
from emotion_agent.agent.session import Session
from emotion_agent.agent.speech import TtsMode
from emotion_agent.core.settings import get_settings
from emotion_agent.training.datasets import load_ravdess

CHUNK_S = 0.02
WEBRTC_RATE = 48_000
VIDEO_FPS = 15
GAP_S = 1.0
KEEP_UP_DRAIN_S = 5.0
"""A session kept up if its last turn finished within this long after its stream ended."""


@dataclass
class Replay:
    audio48: np.ndarray  # int16 at 48 kHz
    frame: np.ndarray
    seconds: float


@dataclass
class SessionRun:
    max_lag_s: float = 0.0
    drain_s: float = 0.0
    replies: int = 0
    emotions: int = 0
    errors: list[str] = field(default_factory=list)
    barge_ins: int = 0


def build_replays(data_dir: Path, sessions: int, utterances: int, seed: int = 0) -> list[Replay]:
    from emotion_agent.perception.audio import float_to_int16, resample
    from emotion_agent.perception.decode import read_audio
    from emotion_agent.training.sample import face_frame, pick_face

    clips = load_ravdess(data_dir / "ravdess_speech_16k", actors=[17, 18, 19, 20])
    rng = np.random.default_rng(seed)
    replays = []
    for s in range(sessions):
        pick = rng.choice(len(clips), size=utterances, replace=False)
        parts = []
        for i in pick:
            audio = read_audio(clips[i].path)
            parts += [audio, np.zeros(int(GAP_S * 16_000), dtype=np.float32)]
        audio16 = np.concatenate([np.zeros(8_000, dtype=np.float32), *parts])
        # What the page asks the camera for (640×480), with a face of a typical webcam size.
        frame = face_frame(pick_face(data_dir, clips[pick[0]].label, index=s), size=(640, 480), face_px=288)
        replays.append(Replay(float_to_int16(resample(audio16, 16_000, WEBRTC_RATE)), frame,
                              len(audio16) / 16_000))
    return replays


async def run_session(session: Session, replay: Replay, stats: SessionRun, video: bool = True) -> None:
    chunk = int(CHUNK_S * WEBRTC_RATE)
    start = time.perf_counter()
    next_frame = 0.0

    async def listen() -> None:  # server TTS: read the voice as the WebRTC track does
        async for _frame in session.speech_audio():
            pass

    listener = asyncio.create_task(listen()) if session.speech.playout is not None else None

    async def consume() -> None:
        async for event in session.events():
            if event["type"] == "reply":
                stats.replies += 1
            elif event["type"] == "emotion" and not event["provisional"]:
                stats.emotions += 1
            elif event["type"] == "error":
                stats.errors.append(f"{event['where']}: {event['message']}")

    consumer = asyncio.create_task(consume())
    for i in range(0, len(replay.audio48), chunk):
        t_media = i / WEBRTC_RATE
        delay = start + t_media - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if video and t_media >= next_frame:
            session.push_video_frame(replay.frame, t_media)
            next_frame += 1.0 / VIDEO_FPS
        await session.push_audio(replay.audio48[i : i + chunk], WEBRTC_RATE)
        stats.max_lag_s = max(stats.max_lag_s, session.audio_lag_s)
    ended = time.perf_counter()
    await session.flush()
    stats.drain_s = time.perf_counter() - ended
    stats.barge_ins = session.speech.barge_ins
    if listener is not None:
        listener.cancel()
    await session.close()
    await consumer


async def run_level(agent: EmotionAwareAgent, replays: list[Replay], reply: bool,
                    tts: TtsMode | None = None, profile: str = "default") -> dict[str, Any]:
    agent.stage_times = StageTimes()
    sessions = [agent.new_session(profile=profile, reply=reply, tts=tts) for _ in replays]
    stats = [SessionRun() for _ in replays]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for s in sessions:
        await s.start()
    await asyncio.gather(*(run_session(s, r, st) for s, r, st in zip(sessions, replays, stats, strict=True)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    audio_s = sum(r.seconds for r in replays)
    summary = agent.stage_times.summary()
    rtf = summary.get("asr_rtf")
    return {
        "sessions": len(replays),
        "audio_seconds": round(audio_s, 1),
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "cpu_per_audio_second": round(cpu / audio_s, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "max_lag_s": round(max(s.max_lag_s for s in stats), 2),
        "max_drain_s": round(max(s.drain_s for s in stats), 2),
        "kept_up": all(s.drain_s <= KEEP_UP_DRAIN_S for s in stats),
        "emotions": sum(s.emotions for s in stats),
        "replies": sum(s.replies for s in stats),
        "errors": sorted({e for s in stats for e in s.errors})[:5],
        "asr_rtf_p50": rtf["p50"] if rtf else None,
        "tts": sessions[0].speech.mode,
        "barge_ins": sum(s.barge_ins for s in stats),
        "stages": summary,
    }


STAGE_ROWS = ("vad", "face_detect", "asr", "voice", "face", "text", "fusion", "responder_first", "responder_full",
              "eou_to_provisional_emotion", "eou_to_emotion", "eou_to_first_reply", "eou_to_reply",
              "eou_to_first_audio", "first_text_to_first_audio", "tts")


def format_level(result: dict[str, Any]) -> str:
    lines = [
        f"sessions={result['sessions']}  audio={result['audio_seconds']}s  wall={result['wall_seconds']}s  "
        f"cpu/audio-s={result['cpu_per_audio_second']}  peak RSS={result['peak_rss_mb']} MB  "
        f"max lag={result['max_lag_s']}s  drain={result['max_drain_s']}s  kept up={result['kept_up']}  "
        f"emotions={result['emotions']} replies={result['replies']}  ASR RTF p50={result['asr_rtf_p50']}  "
        f"tts={result['tts']} barge-ins={result['barge_ins']}",
        f"  {'stage':<28}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}",
    ]
    for stage in STAGE_ROWS:
        row = result["stages"].get(stage)
        if row:
            lines.append(f"  {stage:<28}{int(row['n']):>6}{row['p50']:>10.1f}{row['p95']:>10.1f}{row['max']:>10.1f}")
    if result["errors"]:
        lines.append(f"  errors: {result['errors']}")
    return "\n".join(lines)


def plot(results: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    xs = [r["sessions"] for r in results]
    for stage in ("eou_to_emotion", "eou_to_first_reply", "eou_to_reply"):
        for q, style in (("p50", "-o"), ("p95", "--")):
            ys = [r["stages"].get(stage, {}).get(q, np.nan) for r in results]
            ax.plot(xs, ys, style, label=f"{stage} {q}")
    ax.set_xlabel("concurrent live sessions")
    ax.set_ylabel("ms after end of utterance")
    ax.set_xticks(xs)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def bench_main(argv: list[str] | None = None) -> int:
    return run_bench(build_bench_parser().parse_args(argv))


def build_bench_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="emotion-agent bench", description=__doc__,
                                               formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", default="1", help="comma-separated concurrency levels, e.g. 1,2,3,4")
    parser.add_argument("--utterances", type=int, default=12, help="utterances per session")
    parser.add_argument("--no-reply", action="store_true", help="perception and emotion only")
    parser.add_argument("--data", type=Path, default=None, help="data folder (default: settings.data_dir)")
    parser.add_argument("--plot", type=Path, default=None, help="PNG of latency vs sessions")
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", default="default",
                        choices=("default", "customer_service", "mental_health", "casual"),
                        help="the sessions' profile: it decides which responder answers (default and "
                             "mental_health: the structured listener; casual: the reply model)")
    parser.add_argument("--tts", choices=("browser", "server", "off"), default=None,
                        help="who speaks replies (default: EMOTION_AGENT_TTS, browser); server: Piper on the server")
    return parser


def run_bench(args: argparse.Namespace) -> int:
    levels = [int(x) for x in args.sessions.split(",")]
    data_dir = args.data or get_settings().data_dir
    return asyncio.run(_bench(levels, args, data_dir))


async def _bench(levels: list[int], args: argparse.Namespace, data_dir: Path) -> int:
    agent = EmotionAwareAgent(max_sessions=max(levels) + 1)
    load0 = time.perf_counter()
    await asyncio.to_thread(agent.warm_up, responder=not args.no_reply)
    tts = args.tts or agent.settings.tts
    if tts == "server" and not args.no_reply:
        await asyncio.to_thread(agent.components.get_voice)
    print(f"models loaded in {time.perf_counter() - load0:.1f}s; cores: {_cores()}", flush=True)
    results = []
    for n in levels:
        replays = build_replays(data_dir, n, args.utterances, args.seed)
        result = await run_level(agent, replays, reply=not args.no_reply, tts=tts, profile=args.profile)
        results.append(result)
        print(format_level(result), flush=True)
    await agent.aclose()
    largest = max((r["sessions"] for r in results if r["kept_up"]), default=0)
    print(f"largest concurrency that kept up: {largest}")
    if args.plot:
        plot(results, args.plot)
        print(f"plot: {args.plot}")
    if args.json:
        print(json.dumps({"levels": results, "largest_kept_up": largest, "reply": not args.no_reply, "tts": tts,
                          "profile": args.profile}))
    return 0


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))
