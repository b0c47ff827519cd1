"""Consumers of live aiortc tracks: received WebRTC media → a ``Session``.

Audio (Opus, 48 kHz, delivered by aiortc as ``av.AudioFrame`` of 20 ms) is converted with
``perception.decode.av_frame_to_array`` and awaited into ``session.push_audio`` frame by frame: never
dropped, so when the session falls behind, frames queue in the track and the lag figure grows.
Video goes through ``MediaRelay().subscribe(track, buffered=False)``, which keeps only the newest
decoded frame, and is sampled at ``video_fps`` into ``session.push_video_frame``.

Each consumer is one task that ends on ``MediaStreamError`` (the track ended) and is cancelled by
``LiveMedia.close()``.  Lag is wall-clock time elapsed since a track's first frame minus media time
elapsed (from the frames' pts): it grows when we consume slower than real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import av
import numpy as np
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from emotion_agent.perception.decode import av_frame_to_array

log = logging.getLogger(__name__)


class MediaSink(Protocol):
    """What the consumers feed: the media half of ``agent.Session``."""

    async def push_audio(self, pcm: np.ndarray, sample_rate: int) -> None: ...

    def push_video_frame(self, image_bgr: np.ndarray, timestamp: float) -> None: ...


@dataclass
class TrackStats:
    """Counters of one consumed track.  Times in seconds."""

    kind: str
    frames: int = 0
    """Frames received from the track (video: only those the relay handed us)."""
    samples: int = 0
    """Audio samples per channel received (at ``sample_rate``)."""
    sample_rate: int = 0
    media_seconds: float = 0.0
    frames_used: int = 0
    """Video frames passed to the session (after sampling at ``video_fps``)."""
    frames_skipped: int = 0
    """Video frames received but not passed on (between samples)."""
    lag_s: float = 0.0
    max_lag_s: float = 0.0
    errors: int = 0
    ended: bool = False
    _first_wall: float | None = None
    _first_media: float | None = None
    last_frame_wall: float | None = None

    def observe(self, media_time: float | None, duration: float = 0.0) -> None:
        """Record a frame arriving now whose media time is ``media_time`` (s) and length ``duration`` (s)."""
        now = time.monotonic()
        self.frames += 1
        self.last_frame_wall = now
        if self._first_wall is None:
            self._first_wall = now
            self._first_media = media_time
        if media_time is not None and self._first_media is not None:
            media_elapsed = media_time - self._first_media + duration
            self.media_seconds = max(self.media_seconds, media_elapsed)
            # Jitter buffering makes this a few tens of ms either way; a growing value means backlog.
            self.lag_s = max(0.0, (now - self._first_wall) - (media_time - self._first_media))
            self.max_lag_s = max(self.max_lag_s, self.lag_s)

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_") and k != "last_frame_wall"}
        for key in ("media_seconds", "lag_s", "max_lag_s"):
            data[key] = round(float(data[key]), 3)
        return data


class LiveClock:
    """One timeline for a peer's audio and video: seconds since the first media frame arrived.

    The session times utterances by audio samples pushed since it started, which tracks wall time
    while audio keeps up; stamping video frames with wall time since the same origin lines the faces
    up with the utterances (RTP clocks of the two tracks are unrelated without RTCP sender reports).
    """

    def __init__(self) -> None:
        self.origin: float | None = None

    def now(self) -> float:
        t = time.monotonic()
        if self.origin is None:
            self.origin = t
        return t - self.origin


async def consume_audio(track: MediaStreamTrack, session: MediaSink, stats: TrackStats,
                        clock: LiveClock | None = None) -> None:
    """Push every audio frame of ``track`` into ``session`` until the track ends."""
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            break
        if not isinstance(frame, av.AudioFrame):
            stats.errors += 1
            continue
        if clock is not None:
            clock.now()
        arr, rate = av_frame_to_array(frame)
        stats.sample_rate = rate
        stats.samples += arr.shape[0]
        stats.observe(float(frame.time) if frame.time is not None else None, arr.shape[0] / rate)
        try:
            await session.push_audio(arr, rate)
        except RuntimeError as exc:  # the session closed under us: nothing left to feed
            log.debug("audio consumer stops: %s", exc)
            break
    stats.ended = True


async def consume_video(track: MediaStreamTrack, session: MediaSink, stats: TrackStats, fps: float,
                        clock: LiveClock | None = None) -> None:
    """Pass the newest frame of ``track`` to ``session`` at most ``fps`` times a second until it ends.

    ``track`` should be an unbuffered relay subscription (``LiveMedia.add_track`` does that), so a
    slow consumer sees the newest frame rather than a backlog.
    """
    clock = clock or LiveClock()
    interval = 1.0 / fps if fps > 0 else 0.0
    next_at = 0.0
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            break
        if not isinstance(frame, av.VideoFrame):
            stats.errors += 1
            continue
        stats.observe(float(frame.time) if frame.time is not None else None)
        t = clock.now()
        if t < next_at:
            stats.frames_skipped += 1
            continue
        next_at = max(next_at + interval, t)  # steady cadence, no catch-up burst after a stall
        image = frame.to_ndarray(format="bgr24")
        session.push_video_frame(image, t)
        stats.frames_used += 1
    stats.ended = True


class LiveMedia:
    """The consumer tasks of one peer connection, with their stats."""

    def __init__(self, session: MediaSink, video_fps: float, name: str = "live") -> None:
        self.session = session
        self.video_fps = video_fps
        self.name = name
        self.clock = LiveClock()
        self.relay = MediaRelay()
        self.stats: list[TrackStats] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self._proxies: list[MediaStreamTrack] = []
        self._closed = False

    def add_track(self, track: MediaStreamTrack) -> asyncio.Task[None] | None:
        """Start consuming ``track`` (kind "audio" or "video"); other kinds are ignored (None)."""
        if self._closed or track.kind not in ("audio", "video"):
            return None
        stats = TrackStats(kind=track.kind)
        self.stats.append(stats)
        if track.kind == "audio":
            coro = consume_audio(track, self.session, stats, self.clock)
        else:
            proxy = self.relay.subscribe(track, buffered=False)
            self._proxies.append(proxy)
            coro = consume_video(proxy, self.session, stats, self.video_fps, self.clock)
        task = asyncio.create_task(coro, name=f"{self.name}-{track.kind}")
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s consumer failed: %r", task.get_name(), task.exception())

    @property
    def has_media(self) -> bool:
        return bool(self.stats)

    def idle_for(self) -> float | None:
        """Seconds since the last frame on any track; None before the first frame arrived."""
        last = [s.last_frame_wall for s in self.stats if s.last_frame_wall is not None]
        return time.monotonic() - max(last) if last else None

    def summary(self) -> dict[str, Any]:
        """JSON-ready stats: per track, plus the worst current lag."""
        tracks = [s.as_dict() for s in self.stats]
        return {"tracks": tracks, "lag_s": max((t["lag_s"] for t in tracks), default=0.0)}

    async def close(self) -> None:
        """Cancel the consumers and wait for them.  Idempotent."""
        self._closed = True
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks.clear()
        for proxy in self._proxies:  # unsubscribe from the relay; it stops when the source track ends
            proxy.stop()
        self._proxies.clear()
