"""Issue 15, "more than one box": ``deploy/nginx.conf`` in front of two workers, as in production but on
local ports.  Sessions are pinned to their worker by the session token; the page runs in Chromium
through the proxy with a host token; one worker is killed and the other worker's sessions go on.

Each test starts its own nginx (Debian's, with a configuration rendered from ``deploy/nginx.conf`` into
``tmp_path``) and two ``tests.serve_fake`` workers (the fake agent, a shared secret, ids w1 and w2).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect as ws_connect
from websockets.typing import Origin, Subprotocol

from emotion_agent.web.tokens import mint_host_token
from tests.browser import chromium, chromium_missing, make_fake_devices, wait_for_events
from tests.workers import Nginx, Worker, nginx_missing, start_nginx, start_worker

SECRET = "proxy-test-secret-" + "z" * 32


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Nginx, dict[str, Worker]]]:
    reason = nginx_missing()
    if reason:
        pytest.skip(reason)
    workers: dict[str, Worker] = {}
    nginx: Nginx | None = None
    try:
        for name in ("w1", "w2"):
            workers[name] = start_worker(tmp_path / name, env={"EMOTION_AGENT_SECRET": SECRET}, worker_id=name)
        nginx = start_nginx(tmp_path, {name: w.port for name, w in workers.items()})
        yield nginx, workers
    finally:
        if nginx is not None:
            nginx.stop()
        for w in workers.values():
            w.stop()


def host_token(nginx: Nginx) -> str:
    return mint_host_token(SECRET, nginx.url, ttl_s=300)


def new_chat(nginx: Nginx, text: str = "hello") -> dict[str, Any]:
    r = httpx.post(nginx.url + "/api/chat", json={"text": text}, timeout=20,
                   headers={"Authorization": f"Bearer {host_token(nginx)}", "Origin": nginx.url})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def chats_on_both_workers(nginx: Nginx) -> dict[str, dict[str, Any]]:
    """New REST chat sessions through the proxy until each worker holds one; keyed by worker id."""
    found: dict[str, dict[str, Any]] = {}
    for _ in range(12):
        body = new_chat(nginx)
        found.setdefault(body["session_token"].split(".", 1)[0], body)
        if len(found) == 2:
            return found
    raise AssertionError(f"the proxy sent every new session to {list(found)}")


def ws_events(nginx: Nginx, session: dict[str, Any]) -> Any:
    """Attach to ``session`` through the proxy the browser's way: the token as a websocket subprotocol."""
    url = nginx.url.replace("http://", "ws://") + f"/ws/{session['session_id']}"
    return ws_connect(url, subprotocols=[Subprotocol("emotion-agent"), Subprotocol(f"token.{session['session_token']}")],
                      origin=Origin(nginx.url), open_timeout=10)


def test_sessions_are_pinned_to_their_worker_through_the_proxy(cluster: tuple[Nginx, dict[str, Worker]]) -> None:
    nginx, workers = cluster
    sessions = chats_on_both_workers(nginx)
    for _ in range(3):  # every follow-up reaches the worker that holds the session
        for name, s in sessions.items():
            r = httpx.post(nginx.url + "/api/chat", json={"text": "again", "session_id": s["session_id"]},
                           headers={"X-Session-Token": s["session_token"], "Origin": nginx.url}, timeout=20)
            assert r.status_code == 200, (name, r.text)
    for name, s in sessions.items():
        with ws_events(nginx, s) as ws:
            ws.send(json.dumps({"type": "chat", "text": f"over the websocket to {name}"}))
            kinds: list[str] = []
            while not kinds or kinds[-1] != "reply":
                kinds.append(json.loads(ws.recv(timeout=10))["type"])
        worker_stats = httpx.get(workers[name].url + "/metrics?format=json", timeout=10,
                                 headers={"Authorization": "Bearer " + mint_host_token(SECRET, scope="admin")}).json()
        assert worker_stats["by_kind"]["chat"] >= 1
    # The proxy's log keeps no tokens (no query strings, no headers).
    log = (nginx.prefix / "access.log").read_text()
    assert "/api/chat" in log and not any(s["session_token"] in log for s in sessions.values())
    # Without a host token, nobody opens a session through the proxy.
    assert httpx.post(nginx.url + "/api/chat", json={"text": "hi"}, timeout=10).status_code == 401


def test_page_through_the_proxy_survives_the_other_worker_being_killed(
        cluster: tuple[Nginx, dict[str, Worker]], tmp_path: Path, data_dir: Path) -> None:
    reason = chromium_missing()
    if reason:
        pytest.skip(f"no headless Chromium: {reason}")
    nginx, workers = cluster
    devices = make_fake_devices(tmp_path / "devices", data_dir if data_dir.exists() else None)
    driver = chromium(devices["video"], devices["audio"])
    try:
        # The host hands the page a short-lived token in the URL fragment (never sent to a server).
        driver.get(f"{nginx.url}/#token={host_token(nginx)}")
        assert "#token" not in driver.current_url  # the page took it out of the address bar
        driver.find_element("id", "start").click()
        events = wait_for_events(driver, lambda ev: any(e["type"] == "reply" for e in ev), 45)
        banners = [b.text for b in driver.find_elements("css selector", ".banner")]
        assert any(e["type"] == "reply" for e in events), (banners, [e["type"] for e in events])
        assert "running on" in driver.find_element("id", "privacy-state").text
        page_worker = driver.execute_script("return window.__app.sessionToken").split(".", 1)[0]
        other = "w2" if page_worker == "w1" else "w1"
        # A session on the other worker, followed over a websocket through the proxy.
        sessions = chats_on_both_workers(nginx)
        doomed = ws_events(nginx, sessions[other])
        survivor = ws_events(nginx, sessions[page_worker])

        workers[other].kill()

        with pytest.raises(Exception):  # noqa: B017 (the socket just dies: any websockets error)
            doomed.recv(timeout=10)
        doomed.close()
        # The page's session streams on: more live events, and a typed turn over its data channel.
        before = len(driver.execute_script("return window.__events"))
        driver.find_element("id", "chat-input").send_keys("still there?")
        driver.find_element("css selector", "#chat-form button").click()
        events = wait_for_events(driver, lambda ev: len(ev) > before + 5 and any(
            e["type"] == "reply" and "happy" in e["text"] for e in ev[before:]), 20)
        assert len(events) > before + 5
        assert driver.find_element("id", "status").text == "live"
        # The other session on the surviving worker too; new sessions land on it.
        survivor.send(json.dumps({"type": "chat", "text": "and me?"}))
        kinds: list[str] = []
        while not kinds or kinds[-1] != "reply":
            kinds.append(json.loads(survivor.recv(timeout=10))["type"])
        survivor.close()
        for _ in range(3):
            assert new_chat(nginx)["session_token"].startswith(page_worker + ".")
        driver.find_element("id", "stop").click()
    finally:
        driver.quit()
    deadline = time.monotonic() + 10
    admin = {"Authorization": "Bearer " + mint_host_token(SECRET, scope="admin")}
    while time.monotonic() < deadline:
        stats = httpx.get(workers[page_worker].url + "/metrics?format=json", headers=admin, timeout=10).json()
        if stats["by_kind"]["webrtc"] == 0:
            break
        time.sleep(0.2)
    assert stats["by_kind"]["webrtc"] == 0, "Stop (DELETE) should end the page's session"


async def test_coturn_settings_accept_the_workers_short_lived_credentials(tmp_path: Path) -> None:
    """``deploy/turnserver.conf`` (coturn from Debian) with the TURN REST scheme the workers hand out in
    /api/config: their credentials get a relay allocation; a wrong or expired password does not."""
    import asyncio

    import aioice.turn
    from aioice.stun import TransactionFailed

    from emotion_agent.web.tokens import turn_credentials
    from tests.workers import coturn_missing, start_coturn

    reason = coturn_missing()
    if reason:
        pytest.skip(reason)
    secret = "turn-test-secret-" + "t" * 20
    server = start_coturn(tmp_path / "coturn", secret)

    async def allocate(user: str, password: str) -> tuple[str, int]:
        transport, _ = await asyncio.wait_for(aioice.turn.create_turn_endpoint(
            asyncio.DatagramProtocol, ("127.0.0.1", server.port), user, password, lifetime=60), 10)
        relayed: tuple[str, int] = transport.get_extra_info("sockname")
        transport.close()
        return relayed

    try:
        user, password = turn_credentials(secret, ttl_s=600)
        _host, port = await allocate(user, password)
        assert port > 0
        with pytest.raises(TransactionFailed, match="401"):
            await allocate(user, "not-the-password")
        with pytest.raises(TransactionFailed, match="401"):
            await allocate(*turn_credentials(secret, ttl_s=-60))  # expired
    finally:
        server.stop()
