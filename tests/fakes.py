"""A fake ``Session`` / ``EmotionAwareAgent`` honouring the session contract, for the web tests.

No models: an energy gate stands in for VAD, the "transcript" says how long the speech was, the
experts return fixed distributions, and replies are canned and streamed in pieces.  Same event
shapes as ``agent.wire`` (the tests validate them against those models).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack, VideoStreamTrack

from emotion_agent.core.labels import LABELS
from emotion_agent.perception.audio import float_to_int16, to_model_input

ENERGY_ON = 0.02
"""RMS above which a 20 ms frame counts as speech."""
HANGOVER_S = 0.6


def _probs(label: str, p: float = 0.7) -> dict[str, float]:
    rest = (1 - p) / (len(LABELS) - 1)
    return {name: round(p if name == label else rest, 4) for name in LABELS}


class FakeSession:
    def __init__(self, profile: str = "default", reply_delay_s: float = 0.0) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.profile = profile
        self.reply_delay_s = reply_delay_s
        self.started = False
        self._closed = False
        self._subscribers: list[asyncio.Queue[dict[str, Any] | None]] = []
        self._backlog: deque[dict[str, Any]] = deque(maxlen=256)
        self.audio_chunks = 0
        self.audio_seconds = 0.0
        self.video_frames = 0
        self.texts: list[str] = []
        self.turns = 0
        self._in_speech = False
        self._speech_start = 0.0
        self._silence_s = 0.0
        self._frame_buf = np.zeros(0, dtype=np.float32)
        self._last_metrics = 0.0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def closed(self) -> bool:
        return self._closed

    async def start(self) -> None:
        self.started = True

    def _emit(self, event: dict[str, Any]) -> None:
        if not self._subscribers:
            self._backlog.append(event)
        for q in self._subscribers:
            q.put_nowait(event)

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        q: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        if not self._subscribers:
            while self._backlog:
                q.put_nowait(self._backlog.popleft())
        self._subscribers.append(q)
        if self._closed:
            q.put_nowait(None)
        try:
            while (item := await q.get()) is not None:
                yield item
        finally:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(q)

    async def push_audio(self, pcm: np.ndarray, sample_rate: int) -> None:
        if self._closed:
            raise RuntimeError(f"session {self.id} is closed")
        audio = to_model_input(pcm, sample_rate)
        self.audio_chunks += 1
        self._frame_buf = np.concatenate([self._frame_buf, audio])
        step = 320  # 20 ms at 16 kHz
        while len(self._frame_buf) >= step:
            frame, self._frame_buf = self._frame_buf[:step], self._frame_buf[step:]
            self._vad_frame(float(np.sqrt(np.mean(frame.astype(np.float64) ** 2))), step / 16_000)
        if self.audio_seconds - self._last_metrics >= 2.0:
            self._last_metrics = self.audio_seconds
            self._emit({"type": "metrics", "audio_lag_s": 0.0, "audio_seconds": round(self.audio_seconds, 3),
                        "video_frames_seen": self.video_frames, "video_frames_dropped": 0,
                        "stage_ms": {"vad": {"n": 1.0, "p50": 0.1, "p95": 0.1, "max": 0.1}}})

    def _vad_frame(self, level: float, dur: float) -> None:
        t = self.audio_seconds
        self.audio_seconds += dur
        if level >= ENERGY_ON:
            self._silence_s = 0.0
            if not self._in_speech:
                self._in_speech, self._speech_start = True, t
                self._emit({"type": "speech", "state": "started", "start": round(t, 3), "end": None})
            return
        if not self._in_speech:
            return
        self._silence_s += dur
        if self._silence_s >= HANGOVER_S:
            self._in_speech = False
            start, end = self._speech_start, t - self._silence_s + dur
            self._emit({"type": "speech", "state": "ended", "start": round(start, 3), "end": round(end, 3)})
            task = asyncio.create_task(self._speech_turn(start, end))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _speech_turn(self, start: float, end: float) -> None:
        words = f"fake transcript of {end - start:.1f} seconds"
        self._emit({"type": "transcript", "text": words, "is_final": True,
                    "start": round(start, 3), "end": round(end, 3)})
        modalities = ["voice", "text"] + (["face"] if self.video_frames else [])
        await self._turn(words, modalities)

    def push_video_frame(self, image_bgr: np.ndarray, timestamp: float) -> None:
        if self._closed:
            return
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
            raise ValueError(f"expected a BGR image (h, w, 3), got shape {image_bgr.shape}")
        self.video_frames += 1
        if self.video_frames % 4 == 1:
            h, w = image_bgr.shape[:2]
            self._emit({"type": "face", "box": [w // 4, h // 4, w // 2, h // 2], "timestamp": round(timestamp, 3)})

    async def send_text(self, text: str) -> None:
        if self._closed:
            raise RuntimeError(f"session {self.id} is closed")
        if not text.strip():
            self._emit({"type": "error", "message": "empty text: nothing to respond to", "where": "send_text"})
            return
        self.texts.append(text)
        await self._turn(text, ["text"] + (["face"] if self.video_frames else []))

    async def _turn(self, text: str, modalities: list[str]) -> None:
        self.turns += 1
        label = "sad" if "sad" in text.lower() else "happy"
        for m in modalities:
            self._emit({"type": "expert_scores", "modality": m, "label": label, "probs": _probs(label),
                        "confidence": 0.7, "latency_ms": 1.0})
        weights = {m: round(1 / len(modalities), 4) for m in modalities}
        valence = -0.6 if label == "sad" else 0.8
        self._emit({"type": "emotion", "label": label, "probs": _probs(label, 0.8), "confidence": 0.8,
                    "weights": weights, "explanation": f"fake: {label}", "uncertain": False,
                    "valence": valence, "arousal": 0.3, "provisional": False, "fuser": "fake", "turn": self.turns})
        self._emit({"type": "mood", "valence": valence, "arousal": 0.3, "trend": "steady", "t": self.turns})
        if "hurt myself" in text.lower():
            self._emit({"type": "escalation", "kind": "self_harm", "source": "user",
                        "message": "Please reach out to someone you trust or a crisis line."})
        reply = f"I hear you ({label})."
        for piece in ("I hear ", f"you ({label}).",):
            if self.reply_delay_s:
                await asyncio.sleep(self.reply_delay_s)
            self._emit({"type": "reply_delta", "text": piece, "turn": self.turns})
        self._emit({"type": "reply", "text": reply, "responder": "fake", "turn": self.turns})

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        self._emit({"type": "summary", "turns": self.turns, "dominant": [], "trend": "steady",
                    "mean_valence": 0.0, "mean_arousal": 0.0, "escalations": 0, "profile": self.profile})
        for q in self._subscribers:
            q.put_nowait(None)


class FakeAgent:
    def __init__(self, reply_delay_s: float = 0.0) -> None:
        self.reply_delay_s = reply_delay_s
        self.sessions: list[FakeSession] = []
        self.analyzed: list[Path] = []
        self.closed = False

    def new_session(self, profile: str = "default") -> FakeSession:
        session = FakeSession(profile, self.reply_delay_s)
        self.sessions.append(session)
        return session

    async def analyze_file(self, path: Path) -> dict[str, Any]:
        from emotion_agent.perception.decode import decode_media

        media = await asyncio.to_thread(decode_media, Path(path), None)  # raises MediaDecodeError
        self.analyzed.append(Path(path))
        duration = round(media.duration, 3)
        return {"source": str(path), "duration": duration, "utterances": [{
            "start": 0.0, "end": duration, "transcript": "fake", "skipped": {"face": "no face found"},
            "experts": {"face": None, "voice": {"label": "neutral", "confidence": 0.5}, "text": None},
            "fused": {"label": "neutral", "confidence": 0.5}}]}

    async def aclose(self) -> None:
        self.closed = True
        await asyncio.gather(*(s.close() for s in self.sessions))


# -- a WebRTC client in the same process --------------------------------------------------------


class ArrayAudioTrack(MediaStreamTrack):
    """An aiortc audio source playing ``audio`` (float32 mono at ``rate`` Hz) in real time, 20 ms frames.

    After the clip it sends silence (like a live microphone) until stopped; after ``pause()`` it sends
    nothing at all (a client that vanished mid-utterance).
    """

    kind = "audio"

    def __init__(self, audio: np.ndarray, rate: int = 48_000) -> None:
        super().__init__()
        self.pcm = float_to_int16(audio)
        self.rate = rate
        self.step = rate // 50
        self.pos = 0
        self.sent = 0
        self.paused = asyncio.Event()
        self._t0: float | None = None

    def pause(self) -> None:
        self.paused.set()

    async def recv(self) -> av.AudioFrame:
        if self.paused.is_set():
            await asyncio.Event().wait()  # never sends again
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        wait = self._t0 + self.sent / self.rate - now
        if wait > 0:
            await asyncio.sleep(wait)
        chunk = self.pcm[self.pos : self.pos + self.step]
        if len(chunk) < self.step:
            chunk = np.concatenate([chunk, np.zeros(self.step - len(chunk), dtype=np.int16)])
        self.pos += self.step
        frame = av.AudioFrame.from_ndarray(chunk[None, :], format="s16", layout="mono")
        frame.sample_rate = self.rate
        frame.pts = self.sent
        frame.time_base = Fraction(1, self.rate)
        self.sent += self.step
        return frame


class StillVideoTrack(VideoStreamTrack):
    """An aiortc video source showing one BGR image (h, w, 3) at aiortc's 30 fps clock."""

    def __init__(self, image_bgr: np.ndarray) -> None:
        super().__init__()
        self.image = image_bgr

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame.from_ndarray(self.image, format="bgr24")
        frame.pts, frame.time_base = pts, time_base
        return frame


def speech_clip(rate: int = 48_000) -> np.ndarray:
    """0.3 s silence, 1.2 s of a vowel-like harmonic burst, 1.0 s silence (float32 mono)."""
    t = np.arange(int(1.2 * rate)) / rate
    wave = sum(np.sin(2 * np.pi * 150.0 * k * t) / k for k in range(1, 15))
    wave = wave * (1 + 0.3 * np.sin(2 * np.pi * 4 * t))
    burst = (0.3 * wave / np.abs(wave).max()).astype(np.float32)
    return np.concatenate([np.zeros(int(0.3 * rate), np.float32), burst, np.zeros(rate, np.float32)])
