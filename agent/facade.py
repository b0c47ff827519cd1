"""``EmotionAwareAgent``: what a host embeds.  Holds the shared models; makes sessions."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from agent.components import Components
from agent.executors import BoundedExecutor
from agent.metrics import StageTimes
from agent.profiles import Profile
from agent.session import Session
from emotion_agent.memory import tune_malloc
from emotion_agent.settings import Settings, get_settings


class SessionLimitError(RuntimeError):
    """Too many live sessions on this instance."""


class EmotionAwareAgent:
    """Shared models + executor; ``new_session()`` for each user.

    >>> agent = EmotionAwareAgent()
    >>> async with agent.new_session() as session:
    ...     await session.send_text("I finally got the job!")
    """

    def __init__(self, settings: Settings | None = None, components: Components | None = None,
                 max_sessions: int = 8, workers: int = 2, max_pending: int = 8) -> None:
        self.settings = settings or (components.settings if components else get_settings())
        self.components = components or Components(settings=self.settings)
        tune_malloc(self.settings.malloc_mmap_threshold_kb)  # long-running: keep RSS from creeping
        self.executor = BoundedExecutor(max_workers=workers, max_pending=max_pending)
        self.stage_times = StageTimes()
        self.max_sessions = max_sessions
        self.sessions: dict[str, Session] = {}

    def new_session(self, profile: str | Profile = "default", session_id: str | None = None,
                    reply: bool = True) -> Session:
        self.sessions = {k: s for k, s in self.sessions.items() if not s.closed}
        if len(self.sessions) >= self.max_sessions:
            raise SessionLimitError(f"session limit reached ({self.max_sessions} live sessions); try again later")
        session = Session(self.components, self.executor, profile=profile, session_id=session_id,
                          stage_times=self.stage_times, reply=reply)
        self.sessions[session.id] = session
        return session

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
        from agent.analyze import analyze_path

        return await self.executor.run(analyze_path, Path(path), self.components, text)

    async def analyze_text(self, text: str) -> dict[str, Any]:
        from agent.analyze import analyze_text

        return await self.executor.run(analyze_text, text, self.components)

    async def aclose(self) -> None:
        await asyncio.gather(*(s.close() for s in list(self.sessions.values())), return_exceptions=True)
        self.sessions.clear()
        self.executor.shutdown()

    async def __aenter__(self) -> EmotionAwareAgent:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
