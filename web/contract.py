"""What the web layer needs from the agent: structural types matching ``agent.Session`` and
``agent.EmotionAwareAgent`` (see the session contract), so tests can inject fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np


class SessionLike(Protocol):
    id: str

    async def start(self) -> None: ...

    async def push_audio(self, pcm: np.ndarray, sample_rate: int) -> None: ...

    def push_video_frame(self, image_bgr: np.ndarray, timestamp: float) -> None: ...

    async def send_text(self, text: str) -> None: ...

    def events(self) -> AsyncIterator[dict[str, Any]]: ...

    async def close(self) -> None: ...

    @property
    def closed(self) -> bool: ...


class AgentLike(Protocol):
    def new_session(self, profile: str = "default") -> Any: ...

    async def analyze_file(self, path: Path) -> dict[str, Any]: ...

    async def aclose(self) -> None: ...
