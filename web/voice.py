"""The web side of spoken replies: what the page needs to speak, and what it reports back.

- ``GET /api/voice`` → the TTS mode (``EMOTION_AGENT_TTS``: browser, server or off), the prosody table
  for every profile and label (``responders.prosody``: the page looks rows up, it holds no table of
  its own) and the echo-guard settings (for display).
- Data-channel / websocket messages from the page (``handle_voice_message``):
  ``{"type": "speech_out", "state": "started"|"stopped", "turn": n, "reason": "done"|"interrupted",
  "prosody": {...}, "spoken": "..."}`` when its ``speechSynthesis`` starts or stops a reply, and
  ``{"type": "voice", "speaker": true|false}`` for the speaker toggle.  They go to
  ``Session.report_speech`` / ``Session.set_speaker``; sessions without them (fakes) ignore them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from emotion_agent.core.settings import Settings
from emotion_agent.responders.prosody import UNCERTAIN_LABEL, table

log = logging.getLogger(__name__)
router = APIRouter()


class VoiceConfig(BaseModel):
    mode: Literal["browser", "server", "off"]
    prosody: dict[str, dict[str, dict[str, float]]] = Field(description="{profile: {label: prosody}}")
    uncertain_label: str = Field(description="The row an uncertain estimate gets.")
    echo_guard: dict[str, float]


class ProsodyIn(BaseModel):
    """What the page used (the speechSynthesis fields of the table's row)."""

    model_config = ConfigDict(extra="forbid")
    rate: float = Field(ge=0.1, le=10)
    pitch: float = Field(ge=0, le=2)
    volume: float = Field(ge=0, le=1)


class SpeechOutReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["speech_out"]
    state: Literal["started", "stopped"]
    turn: int = Field(0, ge=0, le=1_000_000)
    reason: Literal["done", "interrupted"] = "done"
    prosody: ProsodyIn | None = None
    spoken: str | None = Field(None, max_length=4000)


class SpeakerToggle(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["voice"]
    speaker: bool


def voice_config(settings: Settings) -> VoiceConfig:
    return VoiceConfig(mode=settings.tts, prosody=table(), uncertain_label=UNCERTAIN_LABEL,
                       echo_guard={"min_dbfs": settings.barge_in_min_dbfs, "margin_db": settings.barge_in_margin_db,
                                   "tail_ms": float(settings.echo_tail_ms)})


@router.get("/api/voice", response_model=VoiceConfig)
async def get_voice(request: Request) -> VoiceConfig:
    return voice_config(request.app.state.web.settings)


def handle_voice_message(session: Any, raw: str | bytes, tasks: set[asyncio.Task[Any]]) -> bool | None:
    """None when ``raw`` is not a voice message (the caller handles it); True when it was one and
    went to the session (sessions without a voice ignore it); False when it was a malformed one."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    kind = data.get("type") if isinstance(data, dict) else None
    if kind not in ("speech_out", "voice"):
        return None
    if getattr(session, "closed", False):
        return True
    try:
        if kind == "speech_out":
            msg = SpeechOutReport.model_validate(data)
            report = getattr(session, "report_speech", None)
            prosody = msg.prosody.model_dump() if msg.prosody else None
            call = report(msg.state, turn=msg.turn, reason=msg.reason, prosody=prosody,
                          spoken=msg.spoken) if report else None
        else:
            toggle = SpeakerToggle.model_validate(data)
            set_speaker = getattr(session, "set_speaker", None)
            call = set_speaker(toggle.speaker) if set_speaker else None
    except ValidationError as exc:
        log.info("bad voice message: %s", exc.errors()[0].get("msg"))
        return False
    if call is not None:
        task = asyncio.ensure_future(call)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    return True
