"""web.app end to end without a browser: a real aiortc client peer in the same process talks to the app.

The app runs its lifespan in the test's event loop and is reached through httpx's ASGI transport, so
the server's peers, consumers and the client share one loop — the same code paths as under uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from fastapi import FastAPI

from emotion_agent.agent import wire
from emotion_agent.web.app import create_app
from emotion_agent.web.config import WebSettings
from emotion_agent.web.signalling import keep_ice_open_for_mdns
from tests.fakes import ArrayAudioTrack, FakeAgent, StillVideoTrack, speech_clip
from tests.media import face_frame, write_media

OUR_TASK_PREFIXES = ("web-", "live-")
EXTERNAL_REF = re.compile(r"""(src|href)\s*=\s*["']?(https?:)?//|fetch\(\s*["'`]https?:|url\(\s*["']?https?:|"""
                          r"""import\s.*["']https?:""")
WIRE_MODELS: dict[str, type[wire.Wire]] = {
    "speech": wire.SpeechMsg, "transcript": wire.TranscriptMsg, "expert_scores": wire.ExpertScoresMsg,
    "emotion": wire.EmotionMsg, "mood": wire.MoodMsg, "reply_delta": wire.ReplyDeltaMsg,
    "reply": wire.ReplyMsg, "face": wire.FaceMsg, "metrics": wire.MetricsMsg, "error": wire.ErrorMsg,
    "summary": wire.SummaryMsg, "escalation": wire.EscalationMsg,
}


@contextlib.asynccontextmanager
async def running(agent: FakeAgent, **web: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(lambda _s: agent, web_settings=WebSettings(**web))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=30) as client:
        yield app, client


class Client:
    """An aiortc browser stand-in: optional audio/video tracks and the "events" data channel."""

    def __init__(self, audio: np.ndarray | None = None, video: np.ndarray | None = None,
                 channel: bool = True) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.audio = ArrayAudioTrack(audio) if audio is not None else None
        if self.audio is not None:
            self.pc.addTrack(self.audio)
        if video is not None:
            self.pc.addTrack(StillVideoTrack(video))
        self.events: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self.channel = self.pc.createDataChannel("events") if channel else None
        if self.channel is not None:
            self.channel.on("message", self._on_message)
        self.session_id = ""

    def _on_message(self, raw: str) -> None:
        self.events.append(json.loads(raw))
        self._arrived.set()

    async def offer(self) -> dict[str, Any]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return {"sdp": self.pc.localDescription.sdp, "type": "offer"}

    async def connect(self, client: httpx.AsyncClient) -> None:
        r = await client.post("/offer", json=await self.offer())
        assert r.status_code == 200, r.text
        body = r.json()
        self.session_id = body["session_id"]
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type=body["type"]))

    async def wait_for(self, done: Callable[[list[dict[str, Any]]], bool], within: float = 15.0) -> None:
        async with asyncio.timeout(within):
            while not done(self.events):
                self._arrived.clear()
                await self._arrived.wait()

    async def channel_open(self) -> None:
        assert self.channel is not None
        async with asyncio.timeout(10):
            while self.channel.readyState != "open":  # noqa: ASYNC110 (aiortc state, no event to await)
                await asyncio.sleep(0.02)


def has(kind: str, **fields: Any) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda events: any(e["type"] == kind and all(e.get(k) == v for k, v in fields.items()) for e in events)


async def wait_until(cond: Callable[[], bool], within: float = 10.0) -> None:
    """Poll ``cond`` (server-side state with no event to await) for up to ``within`` seconds."""
    async with asyncio.timeout(within):
        while not cond():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def our_tasks() -> list[str]:
    current = asyncio.current_task()
    return [t.get_name() for t in asyncio.all_tasks() if t is not current and not t.done()
            and t.get_name().startswith(OUR_TASK_PREFIXES)]


def live_audio(ravdess: bool, data_dir: Path) -> np.ndarray:
    if not ravdess:
        return speech_clip()
    from emotion_agent.perception.audio import resample
    from emotion_agent.perception.decode import read_audio

    clip = data_dir / "ravdess_speech_16k" / "Actor_01" / "03-01-03-02-01-01-01.flac"
    if not clip.exists():
        pytest.skip(f"RAVDESS clip not found at {clip} (set EMOTION_AGENT_DATA_DIR)")
    speech = read_audio(clip)
    return resample(np.concatenate([speech, np.zeros(16_000, np.float32)]), 16_000, 48_000)


# -- (a) two peers, events over the data channel, clean shutdown -----------------------------------


@pytest.mark.parametrize("ravdess", [False, True], ids=["synthetic", "ravdess"])
async def test_live_peer_gets_events_over_the_data_channel(ravdess: bool, data_dir: Path) -> None:
    agent = FakeAgent()
    async with running(agent) as (app, http):
        client = Client(audio=live_audio(ravdess, data_dir), video=face_frame(np.full((48, 48), 128, np.uint8)))
        await client.connect(http)
        await client.wait_for(has("reply"), within=20)
        kinds = [e["type"] for e in client.events]
        assert has("transcript", is_final=True)(client.events)
        assert has("expert_scores", modality="voice")(client.events)
        assert has("expert_scores", modality="face")(client.events)  # video frames reached the session
        assert has("emotion", provisional=False)(client.events)
        assert kinds.index("speech") < kinds.index("transcript") < kinds.index("reply")
        for event in client.events:  # what the browser gets is exactly the wire schema
            WIRE_MODELS[event["type"]].model_validate(event)
        state = app.state.web
        entry = state.registry.entries[client.session_id]
        media = entry.media.summary()
        audio_stats = next(t for t in media["tracks"] if t["kind"] == "audio")
        assert audio_stats["sample_rate"] == 48_000 and audio_stats["frames"] > 50
        assert audio_stats["samples"] == audio_stats["frames"] * 960  # 20 ms Opus frames, none dropped
        metrics = (await http.get("/metrics")).text  # Prometheus text, aggregates only
        assert "emotion_agent_peers 1.0" in metrics and 'emotion_agent_sessions{kind="webrtc"} 1.0' in metrics
        assert client.session_id not in metrics
        assert media["tracks"][0]["frames"] > 0
        assert (await http.get("/healthz")).json() == {"status": "ok", "sessions": 1, "peers": 1}

        await client.pc.close()
        await wait_until(lambda: not state.registry.entries and not state.registry.peers, within=10)
        assert agent.sessions[0].closed
        assert entry.pc.connectionState == "closed"
        await wait_until(lambda: not our_tasks(), within=5)
    assert not our_tasks()


@pytest.mark.models
async def test_two_peers_with_the_real_agent_vad_and_whisper(data_dir: Path) -> None:
    """Offer/answer between two aiortc peers in this process; the server side is the real agent, so
    the RAVDESS clip goes through 48 kHz → 16 kHz, webrtcvad and faster-whisper; then a clean close."""
    from emotion_agent.agent import EmotionAwareAgent

    audio = live_audio(True, data_dir)
    agent = EmotionAwareAgent(max_sessions=2)
    await asyncio.to_thread(agent.warm_up, modalities=("voice", "text"), responder=False)
    async with running(agent) as (app, http):  # type: ignore[arg-type]
        client = Client(audio=audio)
        await client.connect(http)
        await client.wait_for(has("transcript", is_final=True), within=60)
        await client.wait_for(has("emotion", provisional=False), within=30)
        final = next(e for e in client.events if e["type"] == "transcript" and e["is_final"])
        assert "door" in final["text"].lower(), final  # "Kids are talking by the door."
        speech = [e for e in client.events if e["type"] == "speech"]
        assert speech and speech[0]["state"] == "started"
        assert has("expert_scores", modality="voice")(client.events)
        await client.pc.close()
        state = app.state.web
        await wait_until(lambda: not state.registry.entries and not state.registry.peers, within=10)
        await wait_until(lambda: not our_tasks(), within=5)
    await agent.aclose()


def mdns_only(sdp: str) -> str:
    """``sdp`` as Firefox sends it by default: every candidate's address hidden behind a fresh mDNS name."""
    lines = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            fields = line.split(" ")
            fields[4] = f"{uuid.uuid4()}.local"
            line = " ".join(fields)
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def test_end_of_candidates_is_dropped_only_for_mdns_offers() -> None:
    plain = ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
             "a=candidate:1 1 UDP 2122252543 192.0.2.7 40000 typ host\r\na=end-of-candidates\r\n")
    assert keep_ice_open_for_mdns(plain) == plain
    hidden = plain.replace("192.0.2.7", "6c174f3a-d8c2-4a91-a009-d8683ef1cc65.local")
    assert keep_ice_open_for_mdns(hidden) == hidden.replace("a=end-of-candidates\r\n", "")


async def test_offer_with_only_mdns_candidates_connects_through_peer_reflexive_checks() -> None:
    """Firefox's default offer: its host candidates are ``<uuid>.local`` names the server cannot resolve.
    The server must still connect, learning the browser's address from its connectivity checks."""
    agent = FakeAgent()
    async with running(agent) as (app, http):
        client = Client(audio=speech_clip())
        offer = await client.offer()
        hidden = mdns_only(offer["sdp"])
        assert ".local" in hidden and "a=end-of-candidates" in hidden
        r = await http.post("/offer", json={**offer, "sdp": hidden})
        assert r.status_code == 200, r.text
        body = r.json()
        await client.pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type=body["type"]))
        await client.channel_open()
        await client.wait_for(has("speech", state="started"))
        entry = app.state.web.registry.entries[body["session_id"]]
        assert entry.pc.connectionState == "connected"
        await client.pc.close()
        await wait_until(lambda: not app.state.web.registry.entries, within=10)


async def test_chat_over_the_data_channel_and_bad_messages() -> None:
    agent = FakeAgent()
    async with running(agent) as (app, http):
        client = Client()  # no media: a text session over the data channel
        await client.connect(http)
        await client.channel_open()
        assert client.channel is not None
        client.channel.send(json.dumps({"type": "chat", "text": "I am so sad today"}))
        await client.wait_for(has("reply"))
        assert has("emotion", label="sad")(client.events)
        assert agent.sessions[0].texts == ["I am so sad today"]
        client.channel.send("not json")
        client.channel.send(json.dumps({"type": "chat", "text": ""}))
        await client.wait_for(lambda ev: sum(e["type"] == "error" for e in ev) >= 2)
        errors = [e["message"] for e in client.events if e["type"] == "error"]
        assert all("expected {\"type\": \"chat\"" in m for m in errors)
        await client.pc.close()
        await wait_until(lambda: not app.state.web.registry.entries)


async def test_shutdown_closes_live_peers() -> None:
    agent = FakeAgent()
    client = Client(audio=speech_clip())
    async with running(agent) as (app, http):
        await client.connect(http)
        await client.wait_for(has("speech", state="started"))
        registry = app.state.web.registry
        pcs = list(registry.peers)
        assert len(pcs) == 1
    assert not registry.entries and not registry.peers
    assert pcs[0].connectionState == "closed"
    assert agent.closed and all(s.closed for s in agent.sessions)
    assert not our_tasks()
    await client.pc.close()


# -- (b) bad input ---------------------------------------------------------------------------------


async def test_bad_offers() -> None:
    async with running(FakeAgent()) as (app, http):
        r = await http.post("/offer", json={"sdp": "hello, I am not SDP", "type": "offer"})
        assert r.status_code == 400 and "malformed SDP" in r.json()["detail"]
        r = await http.post("/offer", json={"sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
                                            "type": "offer"})
        assert r.status_code == 400 and "no audio, video or data channel" in r.json()["detail"]
        truncated = (await Client().offer())["sdp"].split("a=fingerprint")[0]
        r = await http.post("/offer", json={"sdp": truncated, "type": "offer"})
        assert r.status_code == 400, r.text
        r = await http.post("/offer", json={"sdp": "v=0", "type": "answer"})
        assert r.status_code == 422
        assert not app.state.web.registry.entries and not app.state.web.registry.peers
        assert not any(app.state.web.registry._reserved.values())


async def test_session_limit_gives_503() -> None:
    agent = FakeAgent()
    async with running(agent, max_sessions=1) as (app, http):
        first = Client()
        await first.connect(http)
        await first.channel_open()
        second = Client()
        r = await http.post("/offer", json=await second.offer())
        assert r.status_code == 503 and "limit" in r.json()["detail"]
        r = await http.post("/api/chat", json={"text": "hello"})
        assert r.status_code == 200  # REST chats have a pool of their own: never a live slot (issue 15)
        await first.pc.close()
        await wait_until(lambda: not any(e.kind == "webrtc" for e in app.state.web.registry.entries.values()))
        third = Client()
        await third.connect(http)
        await second.pc.close()
        await third.pc.close()


async def test_client_vanishing_mid_utterance_gets_its_peer_closed() -> None:
    agent = FakeAgent()
    async with running(agent, media_timeout_s=1.0) as (app, http):
        client = Client(audio=speech_clip())
        await client.connect(http)
        await client.wait_for(has("speech", state="started"))
        assert client.audio is not None
        client.audio.pause()  # mid-utterance the client stops sending anything, without saying goodbye
        registry = app.state.web.registry
        entry = registry.entries[client.session_id]
        await wait_until(lambda: not registry.entries, within=8)
        assert entry.close_reason is not None and "no media" in entry.close_reason
        assert entry.pc.connectionState == "closed" and not registry.peers
        assert agent.sessions[0].closed
        await client.pc.close()


async def test_chat_api_keeps_the_session() -> None:
    agent = FakeAgent()
    async with running(agent) as (_app, http):
        r = await http.post("/api/chat", json={"text": "I got the job!"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["reply"] == "I hear you (happy)." and body["responder"] == "fake"
        assert body["emotion"]["label"] == "happy" and body["escalation"] is None
        sid, token = body["session_id"], body["session_token"]
        r = await http.post("/api/chat", json={"text": "now I am sad, I want to hurt myself", "session_id": sid},
                            headers={"X-Session-Token": token})
        body = r.json()
        assert body["session_id"] == sid and body["emotion"]["label"] == "sad"
        assert body["escalation"]["kind"] == "self_harm"
        assert len(agent.sessions) == 1 and agent.sessions[0].texts[1].startswith("now I am sad")
        assert (await http.post("/api/chat", json={"text": "hi", "session_id": "nope"},
                                headers={"X-Session-Token": token})).status_code == 404
        assert (await http.post("/api/chat", json={"text": ""})).status_code == 422


async def test_peer_that_never_connects_is_closed() -> None:
    async with running(FakeAgent(), connect_timeout_s=0.5) as (app, http):
        client = Client()
        r = await http.post("/offer", json=await client.offer())  # ...and never applies the answer
        assert r.status_code == 200
        registry = app.state.web.registry
        entry = registry.entries[r.json()["session_id"]]
        await wait_until(lambda: not registry.entries, within=5)
        assert entry.close_reason is not None and "not connected" in entry.close_reason
        await client.pc.close()


async def test_chat_sessions_expire_when_idle() -> None:
    async with running(FakeAgent(), chat_session_ttl_s=0.05) as (_app, http):
        first = (await http.post("/api/chat", json={"text": "hello"})).json()
        await asyncio.sleep(0.1)
        r = await http.post("/api/chat", json={"text": "again", "session_id": first["session_id"]},
                            headers={"X-Session-Token": first["session_token"]})
        assert r.status_code == 404 and "expired" in r.json()["detail"]


async def test_analyze_upload(tmp_path: Path) -> None:
    agent = FakeAgent()
    clip = write_media(tmp_path / "clip.wav", speech_clip(16_000), 16_000)
    async with running(agent) as (_app, http):
        r = await http.post("/api/analyze", files={"file": ("clip.wav", clip.read_bytes(), "audio/wav")})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["source"] == "clip.wav" and body["utterances"][0]["fused"]["label"] == "neutral"
        assert not agent.analyzed[0].exists()  # the temporary copy is gone


@pytest.mark.parametrize(("name", "data", "status", "words"), [
    ("notes.txt", b"just some text, not a recording\n", 415, "got text"),
    ("pic.png", b"\x89PNG\r\n\x1a\n" + bytes(64), 415, "PNG"),
    ("tiny.wav", b"RI", 415, "only 2 bytes"),
    ("broken.wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4, 422, "broken.wav"),
])
async def test_analyze_rejects_non_media(name: str, data: bytes, status: int, words: str) -> None:
    async with running(FakeAgent()) as (_app, http):
        r = await http.post("/api/analyze", files={"file": (name, data, "application/octet-stream")})
        assert r.status_code == status, r.text
        assert words in r.json()["detail"]


async def test_analyze_size_and_form_checks(tmp_path: Path) -> None:
    clip = write_media(tmp_path / "clip.wav", speech_clip(16_000), 16_000)
    async with running(FakeAgent(), max_upload_mb=0.01) as (_app, http):
        r = await http.post("/api/analyze", files={"file": ("clip.wav", clip.read_bytes(), "audio/wav")})
        assert r.status_code == 413 and "limit" in r.json()["detail"]
        r = await http.post("/api/analyze", content=b"raw bytes", headers={"content-type": "audio/wav"})
        assert r.status_code == 415 and "multipart" in r.json()["detail"]
        r = await http.post("/api/analyze", files={"other": ("x.wav", b"RIFF", "audio/wav")})
        assert r.status_code == 422 and "'file'" in r.json()["detail"]


def test_websocket_text_session_and_attach() -> None:
    from fastapi.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    agent = FakeAgent()
    app = create_app(lambda _s: agent, web_settings=WebSettings())
    with TestClient(app) as tc:
        with tc.websocket_connect("/ws?profile=mental_health") as ws:
            ws.send_json({"type": "chat", "text": "hello there"})
            events: list[dict[str, Any]] = []
            while not events or events[-1]["type"] != "reply":
                events.append(ws.receive_json())
            assert {"expert_scores", "emotion", "reply"} <= {e["type"] for e in events}
            assert agent.sessions[0].profile == "mental_health"
            ws.send_text("{broken")
            assert ws.receive_json()["type"] == "error"
        assert agent.sessions[0].closed  # the websocket owned its session
        chat = tc.post("/api/chat", json={"text": "hi"}).json()
        sid, token = chat["session_id"], chat["session_token"]
        with tc.websocket_connect(f"/ws/{sid}", headers={"X-Session-Token": token}) as ws:
            ws.send_json({"type": "chat", "text": "still here"})
            while ws.receive_json()["type"] != "reply":
                pass
        assert not agent.sessions[1].closed  # attached only: the chat session lives on
        with tc.websocket_connect("/ws/unknown", headers={"X-Session-Token": token}) as ws:
            assert "unknown" in ws.receive_json()["message"]
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_json()
            assert info.value.code == 4404


async def test_page_and_config_are_served() -> None:
    async with running(FakeAgent(), ice_servers=["stun:stun.example.org:3478"]) as (_app, http):
        page = await http.get("/")
        assert page.status_code == 200 and 'id="start"' in page.text and "/static/app.js" in page.text
        for asset in ("/", "/static/app.js", "/static/style.css"):
            r = await http.get(asset)
            assert r.status_code == 200
            assert not EXTERNAL_REF.search(r.text), EXTERNAL_REF.search(r.text)  # no CDN: nothing to fetch
        config = (await http.get("/api/config")).json()
        assert config == {"ice_servers": ["stun:stun.example.org:3478"], "max_upload_mb": 50.0,
                          "turn_servers": [], "auth": "anonymous"}
