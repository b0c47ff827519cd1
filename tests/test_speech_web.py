"""Server TTS end to end without a browser: an aiortc client peer in this process offers a microphone
(sendonly) and a receive-only audio line, as the page does with ``EMOTION_AGENT_TTS=server``; the app
sends the agent's voice on that line (``web.tts_track``).  The client records every audio frame it
receives with its arrival time, and speaks into its microphone on cue for barge-in.

The fast test uses a tone for a voice; the ``models`` test uses the real agent, the packaged Piper
voice, and faster-whisper to transcribe what the client heard back to the reply's words.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from fastapi import FastAPI

from emotion_agent.agent.facade import EmotionAwareAgent
from emotion_agent.core.settings import Settings
from emotion_agent.perception.audio import float_to_int16, resample
from emotion_agent.perception.decode import av_frame_to_array
from emotion_agent.responders.prosody import prosody_for, table
from emotion_agent.web.app import create_app
from emotion_agent.web.config import WebSettings
from tests.agent_fakes import EchoResponder, fake_components
from tests.conftest import speechlike
from tests.test_speech import ToneVoice

VOICED_RMS = 300.0
"""A received 20 ms frame (int16) louder than this carries the agent's voice."""


class MicTrack(MediaStreamTrack):
    """A microphone that is silent until ``say(audio)`` (float32, 48 kHz); real-time 20 ms frames."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.pending = np.zeros(0, np.int16)
        self.sent = 0
        self.said_at: float | None = None
        self._t0: float | None = None

    def say(self, audio48: np.ndarray) -> None:
        self.pending = np.concatenate([self.pending, float_to_int16(audio48)])
        self.said_at = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        self._t0 = self._t0 if self._t0 is not None else now
        wait = self._t0 + self.sent / 48_000 - now
        if wait > 0:
            await asyncio.sleep(wait)
        chunk, self.pending = self.pending[:960], self.pending[960:]
        if len(chunk) and self.said_at is None:
            self.said_at = time.monotonic()
        chunk = np.concatenate([chunk, np.zeros(960 - len(chunk), np.int16)])
        frame = av.AudioFrame.from_ndarray(chunk[None, :], format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48_000, self.sent, Fraction(1, 48_000)
        self.sent += 960
        return frame


class VoiceClient:
    """The page's WebRTC side with server TTS: mic (sendonly), voice (recvonly), "events" channel."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.mic = MicTrack()
        self.pc.addTransceiver(self.mic, direction="sendonly")
        self.pc.addTransceiver("audio", direction="recvonly")
        self.channel = self.pc.createDataChannel("events")
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.frames: list[tuple[float, np.ndarray]] = []  # (arrival, mono int16 at 48 kHz)
        self.channel.on("message", lambda raw: self.events.append((time.monotonic(), json.loads(raw))))
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)
        self.session_id = ""

    def _on_track(self, track: MediaStreamTrack) -> None:
        async def consume() -> None:
            with contextlib.suppress(MediaStreamError):
                while True:
                    frame = await track.recv()
                    assert isinstance(frame, av.AudioFrame)
                    arr, rate = av_frame_to_array(frame)
                    mono = arr.mean(axis=1) if arr.ndim == 2 else arr
                    assert rate == 48_000
                    self.frames.append((time.monotonic(), mono.astype(np.int16)))

        if track.kind == "audio":
            self._tasks.append(asyncio.create_task(consume()))

    async def connect(self, http: httpx.AsyncClient) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        r = await http.post("/offer", json={"sdp": self.pc.localDescription.sdp, "type": "offer"})
        assert r.status_code == 200, r.text
        body = r.json()
        self.session_id = body["session_id"]
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type=body["type"]))
        async with asyncio.timeout(15):
            while self.channel.readyState != "open":  # noqa: ASYNC110 (aiortc state, no event to await)
                await asyncio.sleep(0.02)

    def send(self, msg: dict[str, Any]) -> None:
        self.channel.send(json.dumps(msg))

    def of(self, kind: str, **fields: Any) -> list[tuple[float, dict[str, Any]]]:
        return [(t, e) for t, e in self.events if e["type"] == kind and all(e.get(k) == v for k, v in fields.items())]

    async def wait(self, cond: Callable[[], Any], within: float, what: str) -> Any:
        deadline = time.monotonic() + within
        while not (value := cond()):
            assert time.monotonic() < deadline, f"timed out waiting for {what}; events {[e['type'] for _, e in self.events]}"
            await asyncio.sleep(0.02)
        return value

    def voiced(self) -> list[tuple[float, np.ndarray]]:
        return [(t, f) for t, f in self.frames if np.sqrt(np.mean(f.astype(np.float64) ** 2)) > VOICED_RMS]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()


@contextlib.asynccontextmanager
async def serving(agent: Any, settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(lambda _s: agent, settings=settings, web_settings=WebSettings())
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60) as http:
        yield app, http


async def barge_in(client: VoiceClient, utterance48: np.ndarray, within: float = 30.0) -> dict[str, float]:
    """Speak ``utterance48`` into the mic while the agent talks; returns the timings (s) of the cut."""
    client.mic.say(utterance48)
    t_event, _ = await client.wait(lambda: next(iter(client.of("speech", state="started")), None), within,
                                        "the user's speech start")
    _, stopped = await client.wait(lambda: next(iter(client.of("speech_out_stopped", reason="interrupted")), None),
                                   within, "speech_out_stopped interrupted")
    await asyncio.sleep(0.6)  # keep listening: the track must stay silent
    voiced_after = [t for t, _ in client.voiced() if t > t_event]
    last_voiced = max(voiced_after) if voiced_after else t_event
    said_at = client.mic.said_at or t_event
    return {"mic_onset_to_speech_event_ms": (t_event - said_at) * 1000,  # the VAD's 250 ms of voiced audio, mostly
            "server_barge_in_ms": stopped["barge_in_ms"],
            "client_voice_after_speech_event_ms": (last_voiced - t_event) * 1000,
            "voiced_frames_after": len(voiced_after),
            "still_voiced_in_last_400ms": sum(t > time.monotonic() - 0.4 for t, _ in client.voiced())}


async def test_server_voice_track_reaches_the_client_and_barge_in_cuts_it() -> None:
    settings = Settings(tts="server")
    reply = ["I am sorry to hear that.", " It sounds like a heavy day.", " Do you want to tell me more about it?"]
    comps = fake_components(settings, responder=EchoResponder(reply))
    voice = ToneVoice(ms_per_char=60)
    comps.voice = voice
    agent = EmotionAwareAgent(settings, components=comps)
    async with serving(agent, settings) as (_app, http):
        config = (await http.get("/api/voice")).json()
        assert config["mode"] == "server" and config["prosody"] == table()
        client = VoiceClient()
        await client.connect(http)
        client.send({"type": "voice", "speaker": True})
        client.send({"type": "chat", "text": "I feel so sad today"})
        _, started = await client.wait(lambda: next(iter(client.of("speech_out_started")), None), 20,
                                       "speech_out_started")
        assert started["source"] == "server" and started["prosody"] == prosody_for("sad").as_dict()
        await client.wait(lambda: len(client.voiced()) >= 25, 10, "half a second of the agent's voice")
        # It is our voice: a 220 Hz tone, at 48 kHz.
        pcm = np.concatenate([f for _, f in client.voiced()[:25]]).astype(np.float64)
        peak = np.argmax(np.abs(np.fft.rfft(pcm))) * 48_000 / len(pcm)
        assert abs(peak - 220) < 10, peak
        timings = await barge_in(client, resample(speechlike(0.8, amp=0.3), 16_000, 48_000))
        print(f"\nbarge-in: {timings}")
        assert timings["server_barge_in_ms"] < 200, timings
        assert timings["client_voice_after_speech_event_ms"] < 200, timings
        assert timings["still_voiced_in_last_400ms"] == 0, timings
        assert len(voice.calls) == 3  # every sentence had been synthesised; the rest of the audio was dropped
        await client.close()
    await agent.aclose()


# -- the real thing ----------------------------------------------------------------------------------

def _words(text: str) -> list[str]:
    text = text.lower().replace("’", "'")
    return re.findall(r"[a-z0-9']+", text)


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = _words(reference), _words(hypothesis)
    d = np.arange(len(hyp) + 1, dtype=np.int32)
    for i, r in enumerate(ref, 1):
        prev, d[0] = d.copy(), i
        for j, h in enumerate(hyp, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r != h))
    return float(d[len(hyp)]) / max(1, len(ref))


def held_out_utterance(data_dir: Path) -> np.ndarray:
    """A RAVDESS actor-17 utterance (held out from every expert's training), leading silence trimmed,
    at 48 kHz."""
    from emotion_agent.perception.decode import read_audio
    from emotion_agent.training.datasets import load_ravdess

    ravdess = data_dir / "ravdess_speech_16k"
    if not (ravdess / "manifest.csv").exists():
        pytest.skip(f"RAVDESS not found at {ravdess}")
    clip = next(c for c in load_ravdess(ravdess, [17]) if c.label == "angry")
    audio = read_audio(clip.path)
    frames = audio[: len(audio) // 320 * 320].reshape(-1, 320)
    onset = int(np.argmax(np.sqrt((frames**2).mean(axis=1)) > 0.01)) * 320
    return resample(audio[max(0, onset - 1600) :], 16_000, 48_000)


@pytest.mark.models
async def test_real_agent_speaks_with_piper_whisper_hears_the_reply_and_barge_in_cuts_it(data_dir: Path) -> None:
    """The real agent (experts, fuser, SmolLM2 replies) with ``EMOTION_AGENT_TTS=server``: the client
    receives the Piper voice, faster-whisper transcribes it back to the reply's words, and a held-out
    utterance spoken over the next reply cuts the track within 200 ms of the user's speech start."""
    from emotion_agent.perception.transcribe import WhisperTranscriber

    pytest.importorskip("piper", reason="server TTS needs the 'tts' extra (piper-tts)")
    settings = Settings(tts="server")
    agent = EmotionAwareAgent(settings, max_sessions=2)
    await asyncio.to_thread(agent.warm_up)
    await asyncio.to_thread(agent.components.get_voice)
    whisper = await asyncio.to_thread(WhisperTranscriber.load)
    utterance = held_out_utterance(data_dir)
    async with serving(agent, settings) as (_app, http):
        client = VoiceClient()
        await client.connect(http)
        client.send({"type": "voice", "speaker": True})
        client.send({"type": "chat", "text": "I finally got the job I wanted, I am so happy!"})
        _, done = await client.wait(lambda: next(iter(client.of("speech_out_stopped")), None), 90,
                                    "the first reply spoken to the end")
        assert done["reason"] == "done", done
        reply = next(e for _, e in client.of("reply"))
        started = next(e for _, e in client.of("speech_out_started"))
        emotion = next(e for _, e in client.of("emotion") if not e["provisional"])
        assert started["prosody"] == prosody_for(emotion["label"], "default", emotion["uncertain"]).as_dict()
        heard = np.concatenate([f for _, f in client.frames]).astype(np.float32) / 32768
        heard16 = resample(heard, 48_000, 16_000)
        transcript = (await asyncio.to_thread(whisper.transcribe, heard16)).text
        error = wer(reply["text"], transcript)
        print(f"\nreply: {reply['text']!r}\nheard: {transcript!r}\nWER {error:.3f}")
        assert error <= 0.20, (reply["text"], transcript, error)

        # Barge-in: the user starts talking over the second reply.
        n_events = len(client.events)
        client.send({"type": "chat", "text": "Tell me something about your day."})
        await client.wait(lambda: any(e["type"] == "speech_out_started" for _, e in client.events[n_events:]), 90,
                          "the second reply's voice")
        client.events = client.events[n_events:]
        timings = await barge_in(client, utterance, within=30)
        print(f"barge-in: {timings}")
        assert timings["server_barge_in_ms"] < 200, timings
        assert timings["client_voice_after_speech_event_ms"] < 200, timings
        assert timings["still_voiced_in_last_400ms"] == 0, timings
        state = agent.sessions[client.session_id]
        assert any(t.role == "assistant" and t.interrupted for t in state.history)
        await client.close()
    await agent.aclose()


async def test_voice_messages_from_the_page_are_validated_and_routed() -> None:
    from emotion_agent.web.voice import handle_voice_message

    calls: list[tuple[Any, ...]] = []

    class Session:
        closed = False

        async def report_speech(self, state: str, **kw: Any) -> None:
            calls.append(("report", state, kw))

        async def set_speaker(self, on: bool) -> None:
            calls.append(("speaker", on))

    tasks: set[asyncio.Task[Any]] = set()
    ok = json.dumps({"type": "speech_out", "state": "started", "turn": 3,
                     "prosody": {"rate": 0.88, "pitch": 0.95, "volume": 0.75}})
    assert handle_voice_message(Session(), ok, tasks) is True
    assert handle_voice_message(Session(), '{"type": "voice", "speaker": false}', tasks) is True
    assert handle_voice_message(Session(), '{"type": "chat", "text": "hi"}', tasks) is None  # not ours
    assert handle_voice_message(Session(), "not json", tasks) is None
    for bad in ('{"type": "speech_out", "state": "paused"}', '{"type": "voice"}',
                '{"type": "speech_out", "state": "started", "prosody": {"rate": 1, "pitch": 1, "volume": 1, "x": 9}}'):
        assert handle_voice_message(Session(), bad, tasks) is False, bad
    await asyncio.gather(*tasks)
    assert calls == [("report", "started", {"turn": 3, "reason": "done", "spoken": None,
                                            "prosody": {"rate": 0.88, "pitch": 0.95, "volume": 0.75}}),
                     ("speaker", False)]
