"""The faces seen in the last ``memory_s`` seconds, and which of them belong to a turn."""

from __future__ import annotations

import time
from collections import deque

import numpy as np

from emotion_agent.core.events import FaceCrop, SpeechEnded

FACE_MEMORY_S = 30.0
RECENT_FACE_S = 3.0
MAX_FACES_PER_TURN = 8
FACE_WINDOW_MARGIN_S = 0.25
"""Faces seen this close to an utterance's edges still count for it."""


class FaceMemory:
    def __init__(self, memory_s: float = FACE_MEMORY_S, max_per_turn: int | None = MAX_FACES_PER_TURN,
                 fallback_recent: bool = True) -> None:
        self.memory_s = memory_s
        self.max_per_turn = max_per_turn
        self.fallback_recent = fallback_recent
        """Live: a turn with no face in its window takes the faces seen in the last few seconds."""
        self._faces: deque[FaceCrop] = deque()

    def add(self, face: FaceCrop) -> None:
        self._faces.append(face)
        while self._faces and self._faces[0].timestamp < face.timestamp - self.memory_s:
            self._faces.popleft()

    def between(self, start: float, end: float) -> list[FaceCrop]:
        return [f for f in self._faces
                if start - FACE_WINDOW_MARGIN_S <= f.timestamp <= end + FACE_WINDOW_MARGIN_S]

    def for_utterance(self, utterance: SpeechEnded) -> tuple[FaceCrop, ...]:
        """Faces seen during the utterance; if none (media clocks disagree), the ones seen just now."""
        faces = self.between(utterance.start, utterance.end)
        if not faces and self.fallback_recent:
            cutoff = time.monotonic() - RECENT_FACE_S
            faces = [f for f in self._faces if f.t >= cutoff]
        if self.max_per_turn is not None and len(faces) > self.max_per_turn:
            idx = np.linspace(0, len(faces) - 1, self.max_per_turn).round().astype(int)
            faces = [faces[i] for i in idx]
        return tuple(faces)

    def clear(self) -> None:
        """Forget every face (the user switched the camera off)."""
        self._faces.clear()

    def __len__(self) -> int:
        return len(self._faces)
