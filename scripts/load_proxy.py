"""A bounded load run through the proxy: ``deploy/nginx.conf`` (Debian's nginx) in front of two workers,
filled with live WebRTC sessions and text sessions, then emptied; prints sessions per worker, worker
memory and latencies.

    python scripts/load_proxy.py [--webrtc 8] [--text 48] [--seconds 30] [--json]

The workers run the fake agent (``tests.serve_fake``: no models), so the figures are the serving
layer's own cost -- signalling, WebRTC media, event fan-out, the guards -- not the models'; how many
live sessions the real models hold per 2-core worker is in the README ("Speed and scale").  Each live
session is an aiortc client in this process sending real Opus audio through its own peer connection
(signalling through the proxy, media straight to the worker); each text session is a REST chat plus
a websocket attached through the proxy with its session token.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emotion_agent.web.tokens import mint_host_token  # noqa: E402
from tests.fakes import speech_clip  # noqa: E402
from tests.test_web import Client  # noqa: E402
from tests.workers import start_nginx, start_worker  # noqa: E402

SECRET = "load-run-secret-" + "q" * 32


def rss_mb(pid: int) -> float:
    return round(psutil.Process(pid).memory_info().rss / 1e6, 1)


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return round(values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))], 1)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import websockets
    from websockets.typing import Origin, Subprotocol

    tmp = Path(tempfile.mkdtemp(prefix="emotion-agent-load-"))
    env = {"EMOTION_AGENT_SECRET": SECRET, "EMOTION_AGENT_MAX_SESSIONS": str(args.max_live),
           "EMOTION_AGENT_MAX_TEXT_SESSIONS": str(args.max_text), "EMOTION_AGENT_RATE_CHAT_PER_MIN": "100000",
           "EMOTION_AGENT_RATE_OFFER_PER_MIN": "100000", "EMOTION_AGENT_RATE_BURST": "1000"}
    workers = {name: start_worker(tmp / name, env=env, worker_id=name) for name in ("w1", "w2")}
    nginx = start_nginx(tmp, {name: w.port for name, w in workers.items()})
    admin = {"Authorization": "Bearer " + mint_host_token(SECRET, scope="admin", ttl_s=3600)}
    host = {"Authorization": "Bearer " + mint_host_token(SECRET, nginx.url, ttl_s=3600), "Origin": nginx.url}
    out: dict[str, Any] = {"webrtc_requested": args.webrtc, "text_requested": args.text}
    clients: list[Client] = []
    sockets: list[Any] = []
    try:
        await asyncio.sleep(1.0)
        out["rss_idle_mb"] = {n: rss_mb(w.pid) for n, w in workers.items()}
        async with httpx.AsyncClient(base_url=nginx.url, headers=host, timeout=60) as http:
            # Live sessions: offers through the proxy (round robin), media straight to the worker.
            refused = 0
            offer_ms: list[float] = []
            for _ in range(args.webrtc):
                client = Client(audio=speech_clip())
                t0 = time.perf_counter()
                try:
                    await client.connect(http)
                except AssertionError:
                    refused += 1
                    await client.pc.close()
                    continue
                offer_ms.append((time.perf_counter() - t0) * 1000)
                clients.append(client)
            out["webrtc_refused_503"] = refused
            out["offer_ms_p50_p95"] = [pct(offer_ms, 50), pct(offer_ms, 95)]
            # Text sessions: a REST chat each, then a websocket attached through the proxy with its token.
            chat_ms: list[float] = []
            sessions = []
            for i in range(args.text):
                t0 = time.perf_counter()
                r = await http.post("/api/chat", json={"text": f"hello {i}"})
                chat_ms.append((time.perf_counter() - t0) * 1000)
                if r.status_code == 200:
                    sessions.append(r.json())
            out["text_refused"] = args.text - len(sessions)
            ws_url = nginx.url.replace("http://", "ws://")
            for s in sessions:
                sockets.append(await websockets.connect(
                    f"{ws_url}/ws/{s['session_id']}", origin=Origin(nginx.url),
                    subprotocols=[Subprotocol("emotion-agent"), Subprotocol(f"token.{s['session_token']}")]))
            # Keep everything busy for a while: every websocket chats, every live client talks.
            turn_ms: list[float] = []
            deadline = time.monotonic() + args.seconds

            async def chatter(ws: Any) -> None:
                while time.monotonic() < deadline:
                    t0 = time.perf_counter()
                    await ws.send(json.dumps({"type": "chat", "text": "how are you?"}))
                    while json.loads(await ws.recv())["type"] != "reply":
                        pass
                    turn_ms.append((time.perf_counter() - t0) * 1000)
                    await asyncio.sleep(1.0)

            await asyncio.gather(*(chatter(ws) for ws in sockets))
            out["ws_turn_ms_p50_p95"] = [pct(turn_ms, 50), pct(turn_ms, 95)]
            out["ws_turns"] = len(turn_ms)
            out["chat_create_ms_p50_p95"] = [pct(chat_ms, 50), pct(chat_ms, 95)]
            live_events = [len(c.events) for c in clients]
            out["webrtc_events_per_session_min"] = min(live_events, default=0)
            per_worker = {}
            for name, w in workers.items():
                stats = (await http.get(w.url + "/metrics?format=json", headers=admin)).json()
                per_worker[name] = {"webrtc": stats["by_kind"]["webrtc"], "chat": stats["by_kind"]["chat"],
                                    "rss_mb": rss_mb(w.pid), "cpu_s": round(sum(psutil.Process(w.pid).cpu_times()[:2]), 1)}
            out["loaded"] = per_worker
        for ws in sockets:
            await ws.close()
        for c in clients:
            await c.pc.close()
        async with httpx.AsyncClient(timeout=10) as http:  # end the chats (what the page's Stop does)
            for s in sessions:
                await http.delete(f"{nginx.url}/api/sessions/{s['session_id']}",
                                  headers={"X-Session-Token": s["session_token"], "Origin": nginx.url})
        await asyncio.sleep(3.0)
        out["after_close"] = {}
        async with httpx.AsyncClient(timeout=10) as http:
            for name, w in workers.items():
                stats = (await http.get(w.url + "/metrics?format=json", headers=admin)).json()
                out["after_close"][name] = {"sessions": stats["sessions"], "rss_mb": rss_mb(w.pid)}
    finally:
        nginx.stop()
        for w in workers.values():
            w.stop()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--webrtc", type=int, default=8, help="live sessions to open (default: %(default)s)")
    parser.add_argument("--text", type=int, default=48, help="text sessions to open (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=30.0, help="time everything stays busy")
    parser.add_argument("--max-live", type=int, default=4, help="EMOTION_AGENT_MAX_SESSIONS per worker")
    parser.add_argument("--max-text", type=int, default=32, help="EMOTION_AGENT_MAX_TEXT_SESSIONS per worker")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    if args.json:
        print(json.dumps(result))
        return 0
    print(json.dumps(result, indent=1))
    idle = result["rss_idle_mb"]
    for name, row in result["loaded"].items():
        n = row["webrtc"] + row["chat"]
        per = (row["rss_mb"] - idle[name]) / n if n else 0.0
        print(f"{name}: {row['webrtc']} live + {row['chat']} text sessions, RSS {idle[name]} -> {row['rss_mb']} MB "
              f"({per:.1f} MB per session), after close {result['after_close'][name]['rss_mb']} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
