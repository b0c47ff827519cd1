"""Issue 15: one test per finding of the security review, plus the guards built for them.

In-process tests run the app through httpx's ASGI transport (as ``tests/test_web.py``); the ones about
sockets (a websocket client that never reads, a chunked upload over TCP, refusing to start) run a real
uvicorn worker in its own process (``tests.serve_fake``) so its memory and temp files can be measured.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import pytest
from aiortc import RTCSessionDescription
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from emotion_agent.web.app import create_app
from emotion_agent.web.config import WebSettings
from emotion_agent.web.security import InsecureBindError
from emotion_agent.web.sessions import SessionEntry
from emotion_agent.web.tokens import mint_host_token, turn_credentials
from tests.fakes import FakeAgent, FakeSession, speech_clip
from tests.media import face_frame, write_media
from tests.rawws import ws_connect, ws_frame, ws_read_until_close
from tests.test_web import Client, has, running, wait_until
from tests.workers import ROOT, Worker, start_worker

SECRET = "s3cr3t-" + "x" * 40
ORIGIN = "https://shop.example"
MB = 1_000_000


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def chat(http: httpx.AsyncClient, text: str = "hello", **kw: Any) -> dict[str, Any]:
    r = await http.post("/api/chat", json={"text": text}, **kw)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# -- 1. session isolation ------------------------------------------------------------------------------


async def test_hijack_refused_without_the_token_and_with_another_sessions_token() -> None:
    agent = FakeAgent()
    async with running(agent) as (_app, http):
        alice, mallory = await chat(http, "my private words"), await chat(http, "hi")
        assert len(alice["session_token"]) >= 32  # 192 random bits, URL-safe base64
        assert alice["session_token"] != mallory["session_token"]
        sid = alice["session_id"]
        # REST: continue Alice's session without a token, then with Mallory's.
        r = await http.post("/api/chat", json={"text": "injected", "session_id": sid})
        assert r.status_code == 401
        r = await http.post("/api/chat", json={"text": "injected", "session_id": sid},
                            headers={"X-Session-Token": mallory["session_token"]})
        assert r.status_code == 404
        assert "injected" not in agent.sessions[0].texts
        # DELETE and consent need the token too.
        for method, path in (("DELETE", f"/api/sessions/{sid}"), ("POST", f"/api/sessions/{sid}/consent")):
            assert (await http.request(method, path, json={})).status_code == 401
            r = await http.request(method, path, json={}, headers={"X-Session-Token": mallory["session_token"]})
            assert r.status_code == 404
        # /metrics lists no session ids.
        text = (await http.get("/metrics")).text
        assert sid not in text and mallory["session_id"] not in text and "emotion_agent_sessions" in text
        assert not agent.sessions[0].closed
    # websockets: the same (TestClient runs its own loop).
    agent = FakeAgent()
    with TestClient(create_app(lambda _s: agent, web_settings=WebSettings())) as tc:
        a = tc.post("/api/chat", json={"text": "hello"}).json()
        m = tc.post("/api/chat", json={"text": "hello"}).json()
        for headers, code in (({}, 4401), ({"X-Session-Token": m["session_token"]}, 4404)):
            with tc.websocket_connect(f"/ws/{a['session_id']}", headers=headers) as ws:
                ws.receive_json()
                with pytest.raises(WebSocketDisconnect) as info:
                    ws.receive_json()
                assert info.value.code == code
        # The browser's way: the token as a subprotocol.
        with tc.websocket_connect(f"/ws/{a['session_id']}",
                                  subprotocols=["emotion-agent", f"token.{a['session_token']}"]) as ws:
            assert ws.accepted_subprotocol == "emotion-agent"
            ws.send_json({"type": "chat", "text": "it is me"})
            while ws.receive_json()["type"] != "reply":
                pass
        assert agent.sessions[0].texts == ["hello", "it is me"]


async def test_offer_answer_carries_the_session_token_and_delete_ends_the_session() -> None:
    agent = FakeAgent()
    async with running(agent) as (app, http):
        client = Client()
        r = await http.post("/offer", json=await client.offer())
        assert r.status_code == 200
        body = r.json()
        assert len(body["session_token"]) >= 32 and body["consent"] == {"face": True, "voice": True, "text": True}
        await client.pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type=body["type"]))
        await client.channel_open()
        r = await http.delete(f"/api/sessions/{body['session_id']}", headers={"X-Session-Token": body["session_token"]})
        assert r.status_code == 204
        assert not app.state.web.registry.entries and agent.sessions[0].closed
        await wait_until(lambda: not app.state.web.registry.peers)
        r = await http.delete(f"/api/sessions/{body['session_id']}", headers={"X-Session-Token": body["session_token"]})
        assert r.status_code == 404
        await client.pc.close()


def test_delete_drops_the_real_agents_session_state() -> None:
    from emotion_agent.agent import EmotionAwareAgent

    agent = EmotionAwareAgent(max_sessions=2)
    session = agent.new_session()
    assert session.id in agent.sessions
    asyncio.run(session.close())
    agent.drop_session(session.id)
    assert session.id not in agent.sessions


# -- 2. host authentication ---------------------------------------------------------------------------


async def test_host_token_required_and_expiry_enforced() -> None:
    async with running(FakeAgent(), secret=SECRET, allowed_origins=[ORIGIN]) as (_app, http):
        r = await http.post("/api/chat", json={"text": "hi"})
        assert r.status_code == 401 and "host token" in r.json()["detail"]
        assert (await http.post("/offer", json=await Client().offer())).status_code == 401
        ok = mint_host_token(SECRET, ORIGIN, ttl_s=60)
        body = await chat(http, headers={**bearer(ok), "Origin": ORIGIN})
        # The session token, not the host token, reaches the session afterwards.
        r = await http.post("/api/chat", json={"text": "again", "session_id": body["session_id"]},
                            headers={"X-Session-Token": body["session_token"], "Origin": ORIGIN})
        assert r.status_code == 200
        expired = mint_host_token(SECRET, ORIGIN, ttl_s=60, now=time.time() - 600)
        r = await http.post("/api/chat", json={"text": "hi"}, headers=bearer(expired))
        assert r.status_code == 401 and "expired" in r.json()["detail"]
        too_long = mint_host_token(SECRET, ORIGIN, ttl_s=7 * 86400)
        r = await http.post("/api/chat", json={"text": "hi"}, headers=bearer(too_long))
        assert r.status_code == 401 and "limit" in r.json()["detail"]
        forged = mint_host_token("another-secret-" + "y" * 40, ORIGIN)
        assert (await http.post("/api/chat", json={"text": "hi"}, headers=bearer(forged))).status_code == 401
        # A token minted for another site's page is refused on this one.
        other = mint_host_token(SECRET, "https://other.example", ttl_s=60)
        r = await http.post("/api/chat", json={"text": "hi"}, headers={**bearer(other), "Origin": ORIGIN})
        assert r.status_code == 403
        # /metrics and /docs: admin tokens only.
        for path in ("/metrics", "/docs", "/openapi.json"):
            assert (await http.get(path)).status_code == 401, path
            assert (await http.get(path, headers=bearer(ok))).status_code == 403, path
            admin = mint_host_token(SECRET, scope="admin", ttl_s=60)
            assert (await http.get(path, headers=bearer(admin))).status_code == 200, path


def test_host_token_on_websockets_as_subprotocol() -> None:
    app = create_app(lambda _s: FakeAgent(), web_settings=WebSettings(secret=SECRET))
    with TestClient(app) as tc:
        with tc.websocket_connect("/ws") as ws:
            assert "host token" in ws.receive_json()["message"]
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_json()
            assert info.value.code == 4401
        token = mint_host_token(SECRET, ttl_s=60)
        with tc.websocket_connect("/ws", subprotocols=["emotion-agent", f"bearer.{token}"]) as ws:
            ws.send_json({"type": "chat", "text": "hello"})
            while ws.receive_json()["type"] != "reply":
                pass


def test_serving_beyond_localhost_without_a_secret_refuses_to_start() -> None:
    with pytest.raises(InsecureBindError, match="EMOTION_AGENT_SECRET"):
        create_app(lambda _s: FakeAgent(), web_settings=WebSettings(), bind_host="0.0.0.0")
    with pytest.raises(InsecureBindError, match="too short"):
        create_app(lambda _s: FakeAgent(), web_settings=WebSettings(secret="short"), bind_host="0.0.0.0")
    create_app(lambda _s: FakeAgent(), web_settings=WebSettings(secret=SECRET), bind_host="0.0.0.0")
    create_app(lambda _s: FakeAgent(), web_settings=WebSettings(), bind_host="127.0.0.1")
    env = {k: v for k, v in os.environ.items() if k != "EMOTION_AGENT_SECRET"}
    done = subprocess.run([sys.executable, "-m", "emotion_agent.web", "--host", "0.0.0.0", "--port", "9"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "refusing to serve on '0.0.0.0' without a secret" in lines[0], done.stderr


async def test_anonymous_access_is_for_loopback_clients_only() -> None:
    app = create_app(lambda _s: FakeAgent(), web_settings=WebSettings())
    async with app.router.lifespan_context(app):
        remote = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=remote, base_url="http://test") as http:
            r = await http.post("/api/chat", json={"text": "hi"})
            assert r.status_code == 403 and "localhost" in r.json()["detail"]
            assert (await http.get("/")).status_code == 403
            assert (await http.get("/healthz")).status_code == 200


async def test_origin_refused_on_websockets_and_uploads(tmp_path: Path) -> None:
    clip = write_media(tmp_path / "clip.wav", speech_clip(16_000), 16_000)
    agent = FakeAgent()
    async with running(agent, allowed_origins=[ORIGIN]) as (app, http):
        evil = {"Origin": "https://evil.example"}
        r = await http.post("/api/analyze", files={"file": ("clip.wav", clip.read_bytes(), "audio/wav")}, headers=evil)
        assert r.status_code == 403 and r.json()["detail"] == "origin not allowed"
        assert not agent.analyzed
        assert (await http.post("/api/chat", json={"text": "hi"}, headers=evil)).status_code == 403
        assert (await http.post("/api/chat", json={"text": "hi"}, headers={"Origin": "null"})).status_code == 403
        # The page's own origin and the allowlisted one pass.
        for origin in ("http://test", ORIGIN):
            r = await http.post("/api/analyze", files={"file": ("clip.wav", clip.read_bytes(), "audio/wav")},
                                headers={"Origin": origin})
            assert r.status_code == 200, r.text
        assert app.state.web.refused["origin"] == 3
    app = create_app(lambda _s: FakeAgent(), web_settings=WebSettings(allowed_origins=[ORIGIN]))
    with TestClient(app) as tc:
        with pytest.raises(WebSocketDisconnect) as info, \
                tc.websocket_connect("/ws", headers={"Origin": "https://evil.example"}):
            pass
        assert info.value.code == 4403  # refused before the handshake completes: HTTP 403 on the wire
        with tc.websocket_connect("/ws", headers={"Origin": ORIGIN}) as ws:
            ws.send_json({"type": "chat", "text": "hello"})
            assert ws.receive_json()["type"] == "expert_scores"


# -- 3. bounded everything ---------------------------------------------------------------------------


async def test_four_anonymous_chats_then_a_webrtc_offer_still_succeeds() -> None:
    async with running(FakeAgent()) as (app, http):  # max_sessions=4 live slots (the default)
        for _ in range(4):
            await chat(http)
        client = Client()
        await client.connect(http)
        await client.channel_open()
        assert client.channel is not None
        client.channel.send(json.dumps({"type": "chat", "text": "hello"}))
        await client.wait_for(has("reply"))
        kinds = sorted(e.kind for e in app.state.web.registry.entries.values())
        assert kinds == ["chat", "chat", "chat", "chat", "webrtc"]
        await client.pc.close()


async def test_rest_chats_are_evicted_by_a_timer_and_when_the_text_pool_is_full() -> None:
    agent = FakeAgent()
    async with running(agent, chat_session_ttl_s=0.3, max_text_sessions=2) as (app, http):
        await chat(http)
        registry = app.state.web.registry
        await wait_until(lambda: not registry.entries, within=3)  # no later request needed
        assert agent.sessions[0].closed
    async with running(FakeAgent(), max_text_sessions=2) as (app, http):
        first = await chat(http)
        await chat(http)
        await chat(http)  # the pool is full: the least recently used idle chat makes room
        registry = app.state.web.registry
        assert len(registry.entries) == 2 and first["session_id"] not in registry.entries
        assert registry.evicted == 1


def test_subscriber_queue_is_bounded() -> None:
    async def run() -> tuple[int, bool, int]:
        entry = SessionEntry(FakeSession(), "ws")
        entry.queue_limit = 100
        q = entry.subscribe()
        for i in range(10_000):  # nobody reads
            entry._dispatch({"type": "error", "message": f"junk {i}", "where": "web"})
        return q.qsize(), q.overflowed, entry.slow_readers

    size, overflowed, slow = asyncio.run(run())
    assert size == 1 and overflowed and slow == 1  # freed, with only the end marker left


def test_websocket_junk_closes_the_connection_after_a_few_bad_messages() -> None:
    app = create_app(lambda _s: FakeAgent(), web_settings=WebSettings(max_bad_messages=5))
    with TestClient(app) as tc, tc.websocket_connect("/ws") as ws:
        for _ in range(10):
            ws.send_text("{junk")
        with pytest.raises(WebSocketDisconnect) as info:
            while True:
                ws.receive_json()
        assert info.value.code == 1008


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """A real uvicorn worker in its own process: junk never closes the connection by itself (so the
    queue bound is what acts), small event queues, its temp files in a folder of its own."""
    w = start_worker(tmp_path_factory.mktemp("worker"),
                     env={"EMOTION_AGENT_MAX_BAD_MESSAGES": "100000000", "EMOTION_AGENT_SUBSCRIBER_QUEUE": "200"})
    try:
        yield w
    finally:
        w.stop()


def test_websocket_client_that_never_reads_keeps_server_memory_bounded(worker: Worker) -> None:
    """The review's probe: junk frames, each answered by an error event, from a client that never reads.
    Before: +340 MB for 7 MB sent.  Now the server cuts the reader off (1008) and its memory stays flat."""
    server = psutil.Process(worker.pid)
    before = server.memory_info().rss
    sock, status = ws_connect("127.0.0.1", worker.port, "/ws")
    assert " 101 " in status, status
    junk = ws_frame(b"not json!") * 1000
    sent, peak = 0, before
    try:
        while sent < 7 * MB:
            sock.sendall(junk)
            sent += len(junk)
            peak = max(peak, server.memory_info().rss)
    except OSError:
        pass  # the server closed the connection: also fine
    time.sleep(1.0)
    peak = max(peak, server.memory_info().rss)
    frames, code, reason = ws_read_until_close(sock)
    sock.close()
    assert code == 1008 and "not being read" in reason, (frames, code, reason)
    growth_mb = (peak - before) / MB
    assert growth_mb < 40, f"server RSS grew {growth_mb:.0f} MB"
    stats = httpx.get(worker.url + "/metrics?format=json", timeout=10).json()
    assert stats["slow_readers"] >= 1 and stats["sessions"] == 0


async def test_chunked_300mb_upload_rejected_before_60mb_with_no_large_temp_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    sent = 0
    biggest = 0
    boundary = "----emotionagentboundary"

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent, biggest
        yield (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
               "Content-Type: audio/wav\r\n\r\n").encode() + b"RIFF\x00\x00\x00\x00WAVEfmt "
        chunk = bytes(1 << 20)
        while sent < 300 * MB:
            biggest = max([biggest, *(f.stat().st_size for f in os.scandir(tmp_path))])
            sent += len(chunk)
            yield chunk

    agent = FakeAgent()
    async with running(agent) as (_app, http):  # the default 50 MB limit
        r = await http.post("/api/analyze", content=body(),
                            headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413 and "50 MB limit" in r.json()["detail"]
    assert sent < 60 * MB, f"read {sent / MB:.0f} MB before refusing"
    assert biggest <= 50 * MB and not os.listdir(tmp_path)  # nothing over the limit; nothing left
    assert not agent.analyzed


def test_chunked_upload_over_tcp_is_cut_off_while_streaming(worker: Worker) -> None:
    """The same against uvicorn over a socket: the 413 arrives while the client is still sending."""
    sock = socket.create_connection(("127.0.0.1", worker.port), timeout=30)
    boundary = "b0undary"
    sock.sendall((f"POST /api/analyze HTTP/1.1\r\nHost: 127.0.0.1:{worker.port}\r\n"
                  f"Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n"
                  ).encode())
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n\r\n'
            ).encode() + b"RIFF\x00\x00\x00\x00WAVEfmt "
    sock.sendall(b"%x\r\n%s\r\n" % (len(head), head))
    chunk = bytes(1 << 20)
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    sent, answer = 0, b""
    sock.setblocking(False)
    while sent < 300 * MB and not answer:
        readable, writable, _ = select.select([sock], [sock], [], 5)
        if readable:
            answer = sock.recv(4096)
            break
        if writable:
            try:
                sent += sock.send(framed)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                break
    sock.setblocking(True)
    sock.settimeout(10)
    try:
        while b"\r\n\r\n" not in answer:
            more = sock.recv(4096)
            if not more:
                break
            answer += more
    except OSError:
        pass
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 60 * MB, f"sent {sent / MB:.0f} MB before the 413"
    assert not list(worker.log.parent.glob("emotion-agent-upload-*"))  # the worker's TMPDIR: nothing left


async def test_rate_limit_answers_429() -> None:
    async with running(FakeAgent(), rate_chat_per_min=3, rate_offer_per_min=2, rate_analyze_per_min=1,
                       rate_burst=3) as (_app, http):
        for _ in range(3):
            await chat(http)
        r = await http.post("/api/chat", json={"text": "one more"})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert "too many requests" in r.json()["detail"]
        bad_sdp = {"sdp": "v=0 but not really", "type": "offer"}
        assert [(await http.post("/offer", json=bad_sdp)).status_code for _ in range(3)] == [400, 400, 429]
        codes = [(await http.post("/api/analyze", files={"file": ("a.txt", b"hello", "text/plain")})).status_code
                 for _ in range(2)]
        assert codes == [415, 429]
        metrics = (await http.get("/metrics")).text
        assert 'emotion_agent_rate_limited_total{route="chat"} 1.0' in metrics


# -- 4. errors that never crash or leak ----------------------------------------------------------------


async def test_lone_surrogate_gives_4xx_not_500() -> None:
    agent = FakeAgent()
    async with running(agent) as (_app, http):
        json_headers = {"content-type": "application/json"}
        cases = [("/api/chat", b'{"text": "\\udfff"}'),
                 ("/api/chat", b'{"text": "hi \\ud83d there"}'),
                 ("/api/chat", b'{"text": "hi", "session_id": "\\udfff"}'),
                 ("/offer", b'{"sdp": "\\udfff", "type": "offer"}'),
                 ("/offer", b'{"sdp": "v=0\\r\\n\\udfff", "type": "\\udfff"}')]
        for path, raw in cases:
            r = await http.post(path, content=raw, headers=json_headers)
            assert r.status_code == 422, (path, raw, r.status_code, r.text)
            r.json()  # a valid JSON body
            assert r.content.decode("utf-8")  # valid UTF-8
        assert not agent.sessions
        # A valid surrogate pair (an emoji) is fine.
        r = await http.post("/api/chat", content=b'{"text": "hi \\ud83d\\ude00"}', headers=json_headers)
        assert r.status_code == 200
    with TestClient(create_app(lambda _s: FakeAgent(), web_settings=WebSettings())) as tc, \
            tc.websocket_connect("/ws") as ws:
        ws.send_text('{"type": "chat", "text": "\\udfff"}')
        event = ws.receive_json()
        assert event["type"] == "error" and "surrogate" in event["message"]


async def test_5mb_bad_sdp_gets_a_short_4xx_body() -> None:
    async with running(FakeAgent()) as (_app, http):
        for size, status in ((5 * MB, 413), (300_000, 422), (150_000, 400)):
            sdp = "v=0\r\n" + "a=" + "x" * size
            r = await http.post("/offer", json={"sdp": sdp, "type": "offer"})
            assert r.status_code == status, (size, r.status_code)
            assert len(r.content) < 1000, (size, len(r.content))
            r.json()
        r = await http.post("/offer", content=b"{" + b"x" * 100_000, headers={"content-type": "application/json"})
        assert r.status_code == 422 and len(r.content) < 1000


async def test_analysis_errors_are_user_facing(tmp_path: Path) -> None:
    async with running(FakeAgent()) as (_app, http):
        broken = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4
        r = await http.post("/api/analyze", files={"file": ("broken.wav", broken, "audio/wav")})
        assert r.status_code == 422
        detail = r.json()["detail"]
        assert detail.startswith("could not analyze broken.wav:"), detail
        for leak in ("Errno", "errno", "Invalid data", "/tmp", "emotion-agent-upload", "ffmpeg", "av."):
            assert leak not in detail, detail


# -- 5. headers and privacy ----------------------------------------------------------------------------


async def test_security_headers() -> None:
    async with running(FakeAgent(), frame_ancestors=["https://shop.example"]) as (_app, http):
        for path in ("/", "/static/app.js", "/api/config", "/healthz"):
            r = await http.get(path)
            csp = r.headers["content-security-policy"]
            assert "default-src 'self'" in csp and "frame-ancestors https://shop.example" in csp, path
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "no-referrer"
        assert (await http.get("/api/config")).headers["cache-control"] == "no-store"
        page = (await http.get("/")).text
        assert 'id="privacy-notice"' in page and 'id="consent-face"' in page and 'id="consent-voice"' in page
        assert "Emotion recognition" in page and "/static/security.js" in page


async def test_camera_consent_off_means_no_face_is_scored_while_chat_works() -> None:
    agent = FakeAgent()
    async with running(agent) as (app, http):
        client = Client(audio=speech_clip(), video=face_frame(np.full((48, 48), 128, np.uint8)))
        offer = await client.offer()
        r = await http.post("/offer", json={**offer, "consent": {"face": False}})
        assert r.status_code == 200 and r.json()["consent"]["face"] is False
        body = r.json()
        await client.pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type=body["type"]))
        await client.wait_for(has("reply"), within=20)  # the spoken turn
        assert client.channel is not None
        client.channel.send(json.dumps({"type": "chat", "text": "typed words still work"}))
        await client.wait_for(lambda ev: sum(e["type"] == "reply" for e in ev) >= 2)
        session = agent.sessions[0]
        assert session.video_frames == 0  # not one frame reached the session
        assert not any(e["type"] == "face" or e.get("modality") == "face" for e in client.events)
        entry = app.state.web.registry.entries[body["session_id"]]
        assert entry.media.summary()["tracks"]  # the browser did send video; the server dropped it
        # Switching the camera on (with the session token) lets frames through from then on.
        r = await http.post(f"/api/sessions/{body['session_id']}/consent", json={"face": True},
                            headers={"X-Session-Token": body["session_token"]})
        assert r.json() == {"face": True, "voice": True, "text": True}
        await wait_until(lambda: session.video_frames > 0, within=10)
        await client.pc.close()


def test_turn_credentials_follow_the_turn_rest_scheme() -> None:
    import base64
    import hashlib
    import hmac

    user, password = turn_credentials("turn-secret", 3600, now=1_000_000)
    assert user == "1003600:emotion-agent"
    assert password == base64.b64encode(hmac.new(b"turn-secret", user.encode(), hashlib.sha1).digest()).decode()
    app = create_app(lambda _s: FakeAgent(), web_settings=WebSettings(
        secret=SECRET, turn_urls=["turn:turn.example.org:3478"], turn_secret="turn-secret"))
    with TestClient(app) as tc:
        assert tc.get("/api/config").json()["turn_servers"] == []  # no host token: no TURN credentials
        config = tc.get("/api/config", headers=bearer(mint_host_token(SECRET, ttl_s=60))).json()
        assert config["auth"] == "host-token" and config["turn_servers"][0]["urls"] == ["turn:turn.example.org:3478"]


@pytest.mark.browser
def test_page_notice_and_camera_toggle_in_chromium(tmp_path: Path, data_dir: Path) -> None:
    """The notice says emotion recognition is running and on what; with the camera switched off the page
    does not open it, the server scores no face, and the voice and typed chat still work."""
    from tests.browser import chromium, chromium_missing, make_fake_devices, serve, wait_for_events

    reason = chromium_missing()
    if reason:
        pytest.skip(f"no headless Chromium: {reason}")
    devices = make_fake_devices(tmp_path, data_dir if data_dir.exists() else None)
    agent = FakeAgent()
    driver = chromium(devices["video"], devices["audio"])
    try:
        with serve(create_app(lambda _s: agent, web_settings=WebSettings())) as url:
            driver.get(url + "/")
            notice = driver.find_element("id", "privacy-state").text
            assert "Emotion recognition starts when you press Start" in notice and "your face" in notice
            driver.find_element("id", "consent-face").click()  # camera off
            driver.find_element("id", "start").click()
            events = wait_for_events(driver, lambda ev: any(e["type"] == "reply" for e in ev), 45)
            assert any(e["type"] == "reply" for e in events), [e["type"] for e in events]
            notice = driver.find_element("id", "privacy-state").text
            assert "Emotion recognition is running on your voice (microphone), your typed words" in notice, notice
            driver.find_element("id", "chat-input").send_keys("typed while the camera is off")
            driver.find_element("css selector", "#chat-form button").click()
            wait_for_events(driver, lambda ev: sum(e["type"] == "reply" for e in ev) >= 2, 15)
            assert not any(e["type"] == "face" or e.get("modality") == "face"
                           for e in driver.execute_script("return window.__events"))
            assert agent.sessions[0].video_frames == 0
            assert driver.execute_script("return window.__app.stream.getVideoTracks().length") == 0
            driver.find_element("id", "stop").click()
    finally:
        driver.quit()
