"""The server's voice as a WebRTC audio track (``EMOTION_AGENT_TTS=server``).

``SpeechTrack`` is an aiortc ``MediaStreamTrack`` that sends the session's ``Playout``
(``agent.speech``) as 20 ms frames of 48 kHz mono int16 (Opus-encoded by aiortc), paced in real
time, silence between replies.  ``attach_speech_track`` adds it to a peer connection on the audio
m-line the browser offered to *receive* on (the page adds a ``recvonly`` audio transceiver when the
server speaks); an offer without one gets no track.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import SessionDescription

from emotion_agent.agent.speech import PLAYOUT_RATE, Playout


class SpeechTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, playout: Playout) -> None:
        super().__init__()
        self.playout = playout
        self._frames = playout.frames()
        self._pts = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        pcm: np.ndarray = await self._frames.__anext__()
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate = PLAYOUT_RATE
        frame.pts = self._pts
        frame.time_base = Fraction(1, PLAYOUT_RATE)
        self._pts += len(pcm)
        return frame


def receiving_audio_mids(offer_sdp: str) -> list[str]:
    """The mids of the offer's audio m-lines on which the browser wants to receive."""
    parsed = SessionDescription.parse(offer_sdp)
    return [m.rtp.muxId for m in parsed.media
            if m.kind == "audio" and m.direction in ("recvonly", "sendrecv") and m.rtp.muxId]


def attach_speech_track(pc: RTCPeerConnection, offer_sdp: str, playout: Playout) -> SpeechTrack | None:
    """After ``setRemoteDescription(offer)`` and before ``createAnswer``: send ``playout`` on the first
    audio m-line the browser receives on.  Returns the track (None when the offer has no such line)."""
    mids = receiving_audio_mids(offer_sdp)
    for transceiver in pc.getTransceivers():
        if transceiver.kind == "audio" and transceiver.mid in mids and transceiver.sender.track is None:
            track = SpeechTrack(playout)
            transceiver.sender.replaceTrack(track)
            transceiver.direction = "sendrecv" if transceiver.direction in ("recvonly", "sendrecv") else "sendonly"
            return track
    return None


def attach_session_voice(pc: RTCPeerConnection, offer_sdp: str, session: object) -> SpeechTrack | None:
    """``attach_speech_track`` for a session with a server voice (``session.speech.playout``); None for
    sessions without one (browser or no TTS, fakes)."""
    playout = getattr(getattr(session, "speech", None), "playout", None)
    return attach_speech_track(pc, offer_sdp, playout) if isinstance(playout, Playout) else None
