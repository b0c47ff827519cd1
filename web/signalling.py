"""WebRTC signalling: one complete SDP offer in, one answer out (no trickle ICE), as aiortc's server example.

One ``RTCPeerConnection`` and one session per offer.  The browser's audio/video tracks go to
``perception.live`` consumers; the data channel it opens with label "events" carries the session's
events to it and its chat messages to the session.

An offer with a data channel but no audio/video is accepted: a text-only session over the data
channel (the page uses this when camera and microphone are denied).  An offer with neither is 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import SessionDescription

from emotion_agent.core.settings import Settings
from emotion_agent.perception.live import LiveMedia
from emotion_agent.web.config import WebSettings
from emotion_agent.web.contract import AgentLike
from emotion_agent.web.privacy import Consent, ConsentSink
from emotion_agent.web.schemas import AnswerOut, ConsentOut, OfferIn
from emotion_agent.web.sessions import SessionEntry, SessionRegistry
from emotion_agent.web.tts_track import attach_session_voice

log = logging.getLogger(__name__)

EVENTS_LABEL = "events"


class BadOffer(ValueError):
    """The SDP offer cannot be used (malformed, or nothing to receive)."""


def check_offer_sdp(sdp: str) -> list[str]:
    """Parse ``sdp``; return its media kinds (e.g. ["audio", "video", "application"]).

    Raises ``BadOffer`` with a one-line reason.
    """
    if not sdp.lstrip().startswith("v=0"):
        raise BadOffer("malformed SDP offer: it must start with 'v=0'")
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as exc:  # the parser raises assorted errors on garbage
        raise BadOffer(f"malformed SDP offer: {_first_line(exc)}") from None
    kinds = [m.kind for m in parsed.media]
    if not kinds:
        raise BadOffer("SDP offer has no audio, video or data channel (no m= lines)")
    return kinds


_MDNS_CANDIDATE = re.compile(r"^a=candidate:\S+ \d+ \S+ \d+ \S+\.local \d+ ", re.IGNORECASE)


def keep_ice_open_for_mdns(sdp: str) -> str:
    """Drop ``a=end-of-candidates`` from an offer whose candidates include mDNS (``<uuid>.local``) names.

    Browsers hide their LAN addresses behind mDNS names (Firefox by default; Chromium without camera
    permission).  A server that is not on the browser's link cannot resolve them, and when every
    candidate fails to resolve, aioice prunes the component and fails ICE at once, although the
    browser is about to send connectivity checks from which the server would learn its address as a
    peer-reflexive candidate (RFC 8445 section 7.3.1.3; draft-ietf-mmusic-mdns-ice-candidates
    section 3.3).  Without end-of-candidates, aioice keeps the check list open for those checks; a
    peer that never connects is closed by the watchdog after ``connect_timeout_s``.
    """
    lines = sdp.splitlines(keepends=True)
    if not any(_MDNS_CANDIDATE.match(line) for line in lines):
        return sdp
    return "".join(line for line in lines if line.rstrip("\r\n") != "a=end-of-candidates")


def ice_configuration(web: WebSettings) -> RTCConfiguration:
    # An explicit empty list: aiortc's default (None) means Google's STUN server, unreachable here.
    return RTCConfiguration(iceServers=[RTCIceServer(urls=url) for url in web.ice_servers])


class Signalling:
    """Makes peer sessions and keeps them in ``registry``; watches them for failure and silence."""

    def __init__(self, agent: AgentLike, registry: SessionRegistry, settings: Settings, web: WebSettings) -> None:
        self.agent = agent
        self.registry = registry
        self.settings = settings
        self.web = web
        self._background: set[asyncio.Task[Any]] = set()

    def spawn_close(self, entry: SessionEntry, reason: str) -> None:
        """Close ``entry`` from a callback without closing it from inside one of its own tasks."""
        if entry.closing:
            return
        task = asyncio.create_task(entry.close(reason), name=f"web-close-{entry.id}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def answer(self, offer: OfferIn) -> AnswerOut:
        """Set up a peer + session for ``offer`` and return the answer (ICE gathering complete).

        Raises ``BadOffer`` (→ 400), ``SessionLimitReached`` / ``RuntimeError`` from the agent (→ 503).
        """
        kinds = check_offer_sdp(offer.sdp)
        self.registry.reserve()
        try:
            session = self.agent.new_session(offer.profile)
        except BaseException:
            self.registry.release()
            raise
        pc = RTCPeerConnection(ice_configuration(self.web))
        # The user's consent gates the media: with the camera (face) or microphone (voice) off, no frame
        # of that kind reaches the session (web.privacy).
        consent = Consent(**{k: v for k, v in (offer.consent.model_dump() if offer.consent else {}).items()
                             if v is not None})
        media = LiveMedia(ConsentSink(session, consent), self.settings.video_fps, name=f"live-{session.id}")
        entry = SessionEntry(session, "webrtc", self.web.event_backlog, pc=pc, media=media)
        entry.consent = consent
        self.registry.add(entry)
        self._wire(entry, pc, media)
        try:
            await session.start()
            entry.start_pump()
            sdp = keep_ice_open_for_mdns(offer.sdp)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=offer.type))
            attach_session_voice(pc, sdp, session)  # server TTS: the agent's voice on a recvonly audio line
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
        except Exception as exc:
            await entry.close("bad offer")
            raise BadOffer(f"cannot answer this offer: {_first_line(exc)}") from None
        watchdog = asyncio.create_task(self._watch(entry, pc, media), name=f"web-watchdog-{entry.id}")
        entry._tasks.add(watchdog)
        watchdog.add_done_callback(entry._tasks.discard)
        log.info("session %s: peer for %s", entry.id, "+".join(kinds))
        local = pc.localDescription
        return AnswerOut(sdp=local.sdp, type="answer", session_id=entry.id, session_token=entry.token,
                         consent=ConsentOut(**consent.as_dict()))

    def _wire(self, entry: SessionEntry, pc: RTCPeerConnection, media: LiveMedia) -> None:
        @pc.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            if channel.label == EVENTS_LABEL:
                entry.attach_channel(channel)
            else:
                log.info("session %s: ignoring data channel %r", entry.id, channel.label)

        @pc.on("track")
        def on_track(track: Any) -> None:
            media.add_track(track)

        @pc.on("connectionstatechange")
        def on_state() -> None:
            state = pc.connectionState
            log.info("session %s: connection %s", entry.id, state)
            if state in ("failed", "closed"):
                self.spawn_close(entry, f"connection {state}")

    async def _watch(self, entry: SessionEntry, pc: RTCPeerConnection, media: LiveMedia) -> None:
        """Close the peer when it never connects within ``connect_timeout_s``, or when its media stops
        for ``media_timeout_s`` (the client vanished without closing)."""
        timeout = self.web.media_timeout_s
        started = asyncio.get_running_loop().time()
        while not entry.closing:
            await asyncio.sleep(min(1.0, timeout / 4, self.web.connect_timeout_s / 4))
            waited = asyncio.get_running_loop().time() - started
            if pc.connectionState != "connected" and waited > self.web.connect_timeout_s \
                    and media.idle_for() is None:
                self.spawn_close(entry, f"not connected after {waited:.0f} s ({pc.connectionState})")
                return
            idle = media.idle_for()
            if idle is not None and idle > timeout:
                self.spawn_close(entry, f"no media for {idle:.1f} s (client gone)")
                return

    async def aclose(self) -> None:
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]
