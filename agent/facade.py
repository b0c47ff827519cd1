"""``EmotionAwareAgent``: what a host embeds.  Holds the shared models; makes sessions."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from emotion_agent.agent.alerts import EscalationHook
from emotion_agent.agent.components import Components
from emotion_agent.agent.executors import BoundedExecutor
from emotion_agent.agent.metrics import StageTimes
from emotion_agent.agent.profiles import Profile
from emotion_agent.agent.session import Session
from emotion_agent.agent.speech import SpeechHook, TtsMode
from emotion_agent.core.memory import tune_malloc
from emotion_agent.core.settings import Settings, get_settings


class SessionLimitError(RuntimeError):
    """Too many live sessions on this instance."""


class EmotionAwareAgent:
    """Shared models + executor; ``new_session()`` for each user.

    >>> agent = EmotionAwareAgent()
    >>> async with agent.new_session() as session:
    ...     await session.send_text("I finally got the job!")
    """

    def __init__(self, settings: Settings | None = None, components: Components | None = None,
                 max_sessions: int = 8, workers: int = 2, max_pending: int = 8,
                 on_escalation: EscalationHook | None = None) -> None:
        """``on_escalation(session_id, escalation)`` is called for every escalation of every session
        (kind, severity, rule, score; see ``agent.alerts``): the place to alert a human."""
        self.settings = settings or (components.settings if components else get_settings())
        self.components = components or Components(settings=self.settings)
        tune_malloc(self.settings.malloc_mmap_threshold_kb)  # long-running: keep RSS from creeping
        self.executor = BoundedExecutor(max_workers=workers, max_pending=max_pending)
        self.stage_times = StageTimes()
        self.max_sessions = max_sessions
        self.on_escalation = on_escalation
        self.sessions: dict[str, Session] = {}

    def new_session(self, profile: str | Profile = "default", session_id: str | None = None,
                    reply: bool = True, tts: TtsMode | None = None,
                    on_speech: SpeechHook | None = None) -> Session:
        """``tts`` overrides ``settings.tts`` (browser, server, off); ``on_speech`` plugs in the host's
        own TTS (docs/VOICE.md)."""
        self.sessions = {k: s for k, s in self.sessions.items() if not s.closed}
        if len(self.sessions) >= self.max_sessions:
            raise SessionLimitError(f"session limit reached ({self.max_sessions} live sessions); try again later")
        session = Session(self.components, self.executor, profile=profile, session_id=session_id,
                          stage_times=self.stage_times, reply=reply, on_escalation=self.on_escalation,
                          tts=tts, on_speech=on_speech)
        self.sessions[session.id] = session
        return session

    def drop_session(self, session_id: str) -> None:
        """Forget a (closed) session's state now rather than at the next ``new_session``."""
        session = self.sessions.get(session_id)
        if session is not None and session.closed:
            del self.sessions[session_id]

    def warm_up(self, modalities: tuple[str, ...] = ("text", "voice", "face"), asr: bool = True,
                responder: bool = True) -> None:
        """Load models now instead of on the first turn (synchronous; call from a worker or at start-up)."""
        for m in modalities:
            self.components.get_expert(m)  # type: ignore[arg-type]
        self.components.get_fuser()
        self.components.get_safety()
        if "face" in modalities:
            self.components.get_face_detector()
        if asr:
            self.components.get_transcriber()
        if responder:
            self.components.get_responder()

    async def analyze_file(self, path: Path, text: str | None = None) -> dict[str, Any]:
        from emotion_agent.agent.analyze import analyze_path

        return await analyze_path(Path(path), self.components, self.executor, text)

    async def analyze_text(self, text: str) -> dict[str, Any]:
        from emotion_agent.agent.analyze import analyze_text

        return await analyze_text(text, self.components, self.executor)

    async def aclose(self) -> None:
        await asyncio.gather(*(s.close() for s in list(self.sessions.values())), return_exceptions=True)
        self.sessions.clear()
        self.executor.shutdown()

    async def __aenter__(self) -> EmotionAwareAgent:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
