"""Per-session consent to the two sensors emotion recognition reads: the camera (face analysis) and the
microphone (voice analysis and transcription).

The page shows which are on and lets the user switch each off at any time; the server honours it:
``ConsentSink`` sits between the WebRTC consumers and the session, so with the camera off no frame
reaches the session (no face is detected or scored), and with the microphone off no audio does.
Typed chat always works: the words a user types to the agent are what it answers, so they are always
read (the notice says so).  Switching the camera off also forgets the faces the session had seen.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

MODALITIES = ("face", "voice")


@dataclass
class Consent:
    face: bool = True
    """Camera frames may be analysed (face detection and the face expert)."""
    voice: bool = True
    """Microphone audio may be analysed (voice expert, speech detection, transcription)."""

    def as_dict(self) -> dict[str, bool]:
        return asdict(self)

    def update(self, face: bool | None = None, voice: bool | None = None) -> None:
        if face is not None:
            self.face = face
        if voice is not None:
            self.voice = voice


class ConsentSink:
    """The media half of a session, gated by ``consent`` (what ``perception.live.LiveMedia`` feeds)."""

    def __init__(self, session: Any, consent: Consent) -> None:
        self.session = session
        self.consent = consent
        self.dropped_video = 0
        self.dropped_audio = 0

    async def push_audio(self, pcm: np.ndarray, sample_rate: int) -> None:
        if not self.consent.voice:
            self.dropped_audio += 1
            if self.session.closed:  # let the consumer notice the end as it would without the gate
                raise RuntimeError("session closed")
            return
        await self.session.push_audio(pcm, sample_rate)

    def push_video_frame(self, image_bgr: np.ndarray, timestamp: float) -> None:
        if not self.consent.face:
            self.dropped_video += 1
            return
        self.session.push_video_frame(image_bgr, timestamp)


def forget_faces(session: Any) -> None:
    """Drop the face crops a session keeps for its current turn (when the camera is switched off)."""
    faces = getattr(session, "faces", None)
    clear = getattr(faces, "clear", None)
    if callable(clear):
        clear()
