"""``emotion-agent chat``: a terminal chat.  Each input line is a turn; ``/file PATH`` sends a clip.

Works from a script (stdin not a TTY): every line is answered before the next is read.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from emotion_agent.agent.facade import EmotionAwareAgent
from emotion_agent.agent.session import Session
from emotion_agent.core.settings import Settings

HELP = "Type a message; '/file PATH' sends an audio/video clip as a turn; '/quit' ends."
CHUNK_SAMPLES = 320  # 20 ms at 16 kHz


def run_chat(settings: Settings, profile: str = "default", show_json: bool = False,
             stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    return asyncio.run(_chat(settings, profile, show_json, stdin or sys.stdin, stdout or sys.stdout))


async def _chat(settings: Settings, profile: str, show_json: bool, stdin: TextIO, stdout: TextIO) -> int:
    interactive = stdin.isatty()
    agent = EmotionAwareAgent(settings=settings)
    session = agent.new_session(profile=profile)
    await session.start()
    printer = asyncio.create_task(_print_events(session, show_json, stdout))
    if interactive:
        print(HELP, file=stdout)
    try:
        while True:
            if interactive:
                print("you> ", end="", file=stdout, flush=True)
            # Bytes when stdin has them: a non-UTF-8 line then gets the session's clear error event
            # instead of a UnicodeDecodeError in readline (strict locales) ending the chat.
            raw: str | bytes = await asyncio.to_thread(_readline, stdin)
            if not raw:
                break
            raw = raw.rstrip(b"\r\n") if isinstance(raw, bytes) else raw.rstrip("\r\n")
            line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            if line.strip() in ("/quit", "/exit"):
                break
            if line.startswith("/file "):
                await _send_file(session, Path(line[6:].strip()))
            else:
                await session.send_text(raw)
            await session.flush()
            await _drain(session)
    finally:
        await session.close()
        await printer
        await agent.aclose()
    return 0


def _readline(stdin: TextIO) -> str | bytes:
    buffer = getattr(stdin, "buffer", None)
    return buffer.readline() if buffer is not None else stdin.readline()


async def _drain(session: Session, settle_s: float = 0.05) -> None:
    """Wait until the turn's reply (or error) has been printed."""
    await asyncio.sleep(settle_s)


async def _send_file(session: Session, path: Path) -> None:
    from emotion_agent.perception.decode import MediaDecodeError, decode_media

    try:
        media = await asyncio.to_thread(decode_media, path, session.settings.video_fps)
    except MediaDecodeError as exc:
        session.report_error("file", exc)
        return
    if media.audio is None:
        session.report_error("file", f"{path}: no audio track")
        return
    frames = list(media.frames)
    for i in range(0, len(media.audio), CHUNK_SAMPLES):
        t = i / 16_000
        while frames and frames[0].timestamp <= t:
            frame = frames.pop(0)
            session.push_video_frame(frame.image, frame.timestamp)
            await asyncio.sleep(0.01)  # let the video task sample it
        await session.push_audio(media.audio[i : i + CHUNK_SAMPLES], 16_000)


async def _print_events(session: Session, show_json: bool, out: TextIO) -> None:
    async for event in session.events():
        if show_json:
            print(json.dumps(event), file=out, flush=True)
            continue
        line = format_event(event)
        if line:
            print(line, file=out, flush=True)


def format_event(event: dict[str, Any]) -> str | None:
    kind = event["type"]
    if kind == "transcript" and event["is_final"]:
        return f"  (heard) {event['text']}"
    if kind == "emotion" and not event["provisional"]:
        weights = " ".join(f"{k}={v:.2f}" for k, v in event["weights"].items() if v > 0)
        flag = ", uncertain" if event["uncertain"] else ""
        return f"  [emotion: {event['label']} {event['confidence']:.2f}{flag}; α {weights}]"
    if kind == "escalation":
        return f"  [ESCALATION: {event['kind']} from {event['source']}]"
    if kind == "handoff":
        return f"  [hand-off suggested: {event['reason']}]"
    if kind == "mood_shift":
        return f"  [mood shift: {event['from']} → {event['to']}]"
    if kind == "trend_report":
        return f"  [trend: {event['text']}]"
    if kind == "reply":
        return f"bot> {event['text']}"
    if kind == "error":
        return f"  [error in {event['where'] or 'input'}: {event['message']}]"
    if kind == "summary":
        dominant = ", ".join(f"{label} ×{n}" for label, n in event["dominant"]) or "none"
        return (f"  [session: {event['turns']} turns; dominant {dominant}; trend {event['trend']}; "
                f"escalations {event['escalations']}]")
    return None
