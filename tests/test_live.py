"""perception.live: track consumers feed a session, never drop audio, sample video, stop cleanly."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from fractions import Fraction

import av
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from emotion_agent.perception import live
from emotion_agent.perception.live import LiveMedia, TrackStats, consume_audio, consume_video
from tests.fakes import FakeSession


class VirtualClock:
    """Stands in for the ``time`` module in ``perception.live``: time moves only when told to, so lag
    figures are exact instead of depending on how busy the machine is."""

    def __init__(self) -> None:
        self.t = 1000.0

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        await asyncio.sleep(0)


class ListTrack(MediaStreamTrack):
    """Yields the given frames (waiting ``gap_s`` before each, on ``clock`` if given), then ends — or
    blocks forever if ``hang``."""

    def __init__(self, kind: str, frames: Sequence[av.AudioFrame | av.VideoFrame], gap_s: float = 0.0,
                 hang: bool = False, clock: VirtualClock | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.frames = list(frames)
        self.gap_s = gap_s
        self.hang = hang
        self.clock = clock

    async def recv(self) -> av.AudioFrame | av.VideoFrame:
        if self.gap_s:
            await (self.clock.sleep(self.gap_s) if self.clock else asyncio.sleep(self.gap_s))
        if not self.frames:
            if self.hang:
                await asyncio.Event().wait()
            raise MediaStreamError
        return self.frames.pop(0)


def opus_like_frames(n: int, rate: int = 48_000, stereo: bool = True) -> list[av.AudioFrame]:
    """20 ms s16 packed frames, as aiortc's Opus decoder delivers them."""
    step = rate // 50
    frames = []
    for i in range(n):
        t = (np.arange(step) + i * step) / rate
        mono = (8000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)
        data = np.stack([mono, mono], axis=1).reshape(1, -1) if stereo else mono[None, :]
        frame = av.AudioFrame.from_ndarray(data, format="s16", layout="stereo" if stereo else "mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, i * step, Fraction(1, rate)
        frames.append(frame)
    return frames


def video_frames(n: int, fps: int = 30) -> list[av.VideoFrame]:
    image = np.full((48, 64, 3), 120, dtype=np.uint8)
    frames = []
    for i in range(n):
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts, frame.time_base = i, Fraction(1, fps)
        frames.append(frame)
    return frames


class RecordingSession(FakeSession):
    def __init__(self, push_delay_s: float = 0.0, clock: VirtualClock | None = None) -> None:
        super().__init__()
        self.push_delay_s = push_delay_s
        self.clock = clock
        self.pushed: list[tuple[np.ndarray, int]] = []
        self.images: list[tuple[tuple[int, ...], float]] = []

    async def push_audio(self, pcm: np.ndarray, sample_rate: int) -> None:
        self.pushed.append((pcm, sample_rate))
        if self.push_delay_s:
            await (self.clock.sleep(self.push_delay_s) if self.clock else asyncio.sleep(self.push_delay_s))

    def push_video_frame(self, image_bgr: np.ndarray, timestamp: float) -> None:
        self.images.append((image_bgr.shape, timestamp))


async def test_audio_consumer_pushes_every_sample_then_ends() -> None:
    session = RecordingSession()
    stats = TrackStats("audio")
    await consume_audio(ListTrack("audio", opus_like_frames(25)), session, stats)
    assert stats.ended and stats.frames == 25
    assert stats.samples == 25 * 960 and stats.sample_rate == 48_000
    assert len(session.pushed) == 25
    pcm, rate = session.pushed[0]
    assert rate == 48_000 and pcm.shape == (960, 2) and pcm.dtype == np.int16
    assert stats.media_seconds == pytest.approx(0.5, abs=1e-6)


async def test_audio_lag_grows_when_the_session_is_slow(monkeypatch: pytest.MonkeyPatch) -> None:
    # On a virtual clock (a wall-clock bound here failed on busy machines): the figures are exact.
    clock = VirtualClock()
    monkeypatch.setattr(live, "time", clock)
    # Frames at the real-time pace (20 ms each) into a session that takes no time: no lag at all.
    quick = RecordingSession()
    stats = TrackStats("audio")
    await consume_audio(ListTrack("audio", opus_like_frames(10), gap_s=0.02, clock=clock), quick, stats)
    assert len(quick.pushed) == 10 and stats.frames == 10
    assert stats.max_lag_s == pytest.approx(0.0, abs=1e-9)
    # A session taking 30 ms per 20 ms frame: each frame arrives 30 ms later than the one before
    # would on the media clock (9 × 30 ms behind at the last), but nothing is dropped.
    slow = RecordingSession(push_delay_s=0.03, clock=clock)
    stats2 = TrackStats("audio")
    await consume_audio(ListTrack("audio", opus_like_frames(10), gap_s=0.02, clock=clock), slow, stats2)
    assert len(slow.pushed) == 10 and stats2.frames == 10
    assert stats2.max_lag_s == pytest.approx(9 * 0.03, abs=1e-6)
    assert stats2.lag_s == stats2.max_lag_s  # still growing at the end


async def test_audio_consumer_stops_when_the_session_closed() -> None:
    session = FakeSession()
    await session.close()
    stats = TrackStats("audio")
    await asyncio.wait_for(consume_audio(ListTrack("audio", opus_like_frames(5)), session, stats), 2)
    assert stats.frames == 1 and stats.ended


async def test_video_consumer_samples_at_fps(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = VirtualClock()  # exact sampling (on the wall clock a busy machine stretched the gaps)
    monkeypatch.setattr(live, "time", clock)
    session = RecordingSession()
    stats = TrackStats("video")
    # 30 fps for 0.6 s (frames at 0 … 0.567 s), sampled at 5 fps → frames near 0, 0.2 and 0.4 s.
    await consume_video(ListTrack("video", video_frames(18), gap_s=1 / 30, clock=clock), session, stats, fps=5.0)
    assert stats.frames == 18
    assert stats.frames_used == 3
    assert stats.frames_used + stats.frames_skipped == stats.frames
    assert [shape for shape, _ in session.images] == [(48, 64, 3)] * stats.frames_used
    times = [t for _, t in session.images]
    assert all(b - a >= 0.19 for a, b in itertools.pairwise(times))


async def test_live_media_routes_tracks_and_close_cancels_consumers() -> None:
    session = RecordingSession()
    media = LiveMedia(session, video_fps=10.0, name="t")
    audio = ListTrack("audio", opus_like_frames(3), hang=True)
    video = ListTrack("video", video_frames(3), hang=True)
    assert media.add_track(audio) is not None
    assert media.add_track(video) is not None
    assert media.add_track(ListTrack("data", [])) is None  # not audio/video: ignored
    for _ in range(500):  # up to 5 s on a busy machine; usually a few ms
        await asyncio.sleep(0.01)
        if len(session.pushed) == 3 and session.images:
            break
    assert len(session.pushed) == 3 and len(session.images) >= 1
    assert media.idle_for() is not None
    summary = media.summary()
    assert [t["kind"] for t in summary["tracks"]] == ["audio", "video"]
    await media.close()
    assert not media.tasks
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("t-")]
    await media.close()  # idempotent
    assert media.add_track(audio) is None  # closed: no new consumers
