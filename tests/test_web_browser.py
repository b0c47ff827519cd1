"""The page in real headless Chromium and Firefox: WebRTC from the browser to the app under uvicorn.

Chromium's camera is a y4m of a FER-2013 face upscaled on a backdrop and its microphone a RAVDESS clip
resampled to 48 kHz (synthetic stand-ins when the datasets are absent).  Firefox has no file-fed fake
devices, so its ``getUserMedia`` is swapped for a stream of the same two files (``tests.browser.
use_file_media``); its own fake devices (a tone and a test pattern) are used where the content does not
matter, and with Firefox's default prefs, so its mDNS-hidden host candidates are exercised.  The tests
read ``window.__events`` (every event the page received) and assert that a final transcript, face and
voice expert scores, a fused emotion and a reply all arrived over the data channel.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emotion_agent.web.app import create_app
from emotion_agent.web.config import WebSettings
from tests.browser import (
    FIREFOX_DENY_PREFS,
    FIREFOX_FAKE_PREFS,
    chromium,
    chromium_missing,
    firefox_missing,
    make_fake_devices,
    missing_live_events,
    serve,
    use_file_media,
    wait_for_events,
    wait_for_page_events,
)
from tests.fakes import FakeAgent
from tests.marionette import Firefox

pytestmark = pytest.mark.browser

WAIT_S = 60.0
"""How long a step may take before the test fails.  These are waits, not speed checks: each returns as
soon as the page gets there (usually a second or two), but on a loaded two-core machine a browser can
take tens of seconds to start its media, and a tight bound made the tests flaky."""


@pytest.fixture(scope="module")
def media_files(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> dict[str, Any]:
    return make_fake_devices(tmp_path_factory.mktemp("fake-devices"), data_dir if data_dir.exists() else None)


@pytest.fixture(scope="module")
def devices(media_files: dict[str, Any]) -> dict[str, Any]:
    reason = chromium_missing()
    if reason:
        pytest.skip(f"no headless Chromium: {reason}")
    return media_files


@pytest.fixture
def driver(devices: dict[str, Any]) -> Iterator[Any]:
    d = chromium(devices["video"], devices["audio"])
    try:
        yield d
    finally:
        d.quit()


def run_live_page(driver: Any, url: str, within: float) -> list[dict[str, Any]]:
    driver.get(url + "/")
    driver.find_element("id", "start").click()
    events = wait_for_events(driver, lambda ev: not missing_live_events(ev), within)
    missing = missing_live_events(events)
    banners = [b.text for b in driver.find_elements("css selector", ".banner")]
    assert not missing, f"missing {missing}; got {[e['type'] for e in events]}; banners {banners}"
    return events


def test_live_session_in_chromium_with_fake_agent(driver: Any) -> None:
    agent = FakeAgent()
    app = create_app(lambda _s: agent, web_settings=WebSettings())
    with serve(app) as url:
        events = run_live_page(driver, url, within=WAIT_S)
        assert driver.find_element("id", "status").text == "live"
        assert driver.find_element("id", "fused-label").text.lower() == "happy"
        assert driver.find_elements("css selector", "#finals li")
        assert "I hear you" in driver.find_element("id", "chat-log").text
        # Typed chat goes over the same data channel.
        driver.find_element("id", "chat-input").send_keys("I feel sad now")
        driver.find_element("css selector", "#chat-form button").click()
        wait_for_events(driver, lambda ev: any(e["type"] == "reply" and "sad" in e["text"] for e in ev), WAIT_S)
        assert agent.sessions[0].texts == ["I feel sad now"]
        assert {e["modality"] for e in events if e["type"] == "expert_scores"} >= {"face", "voice"}
        driver.find_element("id", "stop").click()
        deadline = time.monotonic() + WAIT_S
        while app.state.web.registry.entries and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not app.state.web.registry.entries, "server kept the peer after the page stopped"


def test_denied_camera_still_chats(devices: dict[str, Any]) -> None:
    # ``=deny`` makes Chromium's fake permission UI refuse camera and microphone.
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from tests.browser import CHROMEDRIVER, CHROMIUM

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream=deny"):
        opts.add_argument(flag)
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    agent = FakeAgent()
    try:
        with serve(create_app(lambda _s: agent, web_settings=WebSettings())) as url:
            d.get(url + "/")
            d.find_element("id", "start").click()
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline and d.find_element("id", "status").text != "live (text only)":
                time.sleep(0.2)
            banners = " ".join(b.text for b in d.find_elements("css selector", ".banner"))
            assert "permission was denied" in banners
            assert d.find_element("id", "status").text == "live (text only)"
            d.find_element("id", "chat-input").send_keys("hello")
            d.find_element("css selector", "#chat-form button").click()
            events = wait_for_events(d, lambda ev: any(e["type"] == "reply" for e in ev), WAIT_S)
            assert any(e["type"] == "reply" for e in events)
    finally:
        d.quit()


@pytest.mark.models
def test_live_session_in_chromium_with_real_agent(driver: Any) -> None:
    """The same page against ``agent.EmotionAwareAgent`` with the committed weights: real Whisper,
    the three trained experts, the attention fuser and the offline reply model (about 30 s)."""
    from emotion_agent.agent import EmotionAwareAgent

    agent = EmotionAwareAgent(max_sessions=2)
    agent.warm_up()
    app = create_app(lambda _s: agent, web_settings=WebSettings())
    with serve(app, timeout_s=120) as url:
        events = run_live_page(driver, url, within=120)
    finals = [e for e in events if e["type"] == "transcript" and e.get("is_final")]
    assert any(e["text"].strip() for e in finals), finals
    fused = [e for e in events if e["type"] == "emotion" and not e.get("provisional")]
    assert all(abs(sum(e["weights"].values()) - 1) < 1e-3 for e in fused), fused
    assert any(e["type"] == "reply" and e["text"].strip() for e in events)
    face = [e for e in events if e["type"] == "expert_scores" and e["modality"] == "face"]
    assert face and all(set(e["probs"]) == {"neutral", "happy", "sad", "angry", "fearful", "disgusted",
                                            "surprised"} for e in face)


# -- Firefox -----------------------------------------------------------------------------------------


@pytest.fixture
def firefox_ok() -> None:
    reason = firefox_missing()
    if reason:
        pytest.skip(f"no headless Firefox: {reason}")


def wait_closed(app: Any, within: float = WAIT_S) -> None:
    deadline = time.monotonic() + within
    while app.state.web.registry.entries and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not app.state.web.registry.entries, "server kept the peer after the page stopped"


@pytest.mark.usefixtures("firefox_ok")
def test_firefox_with_default_webrtc_prefs_and_its_fake_devices() -> None:
    """Firefox hides its host addresses behind mDNS names by default; the peer must still connect.
    Its fake devices (a tone and a test pattern) feed the fake agent; typed chat uses the data channel."""
    agent = FakeAgent()
    app = create_app(lambda _s: agent, web_settings=WebSettings())
    with serve(app) as url, Firefox(prefs=FIREFOX_FAKE_PREFS) as ff:
        ff.navigate(url + "/")
        ff.click("#start")
        events = wait_for_page_events(ff, lambda ev: any(e["type"] == "metrics" for e in ev), WAIT_S)
        kinds = {e["type"] for e in events}
        assert {"speech", "face", "metrics"} <= kinds, (kinds, ff.text("#banners"))
        assert ff.text("#status") == "live"
        assert ff.execute("return window.__app.pc.connectionState") == "connected"
        ff.send_keys("#chat-input", "I feel sad now")
        ff.click("#chat-form button")
        events = wait_for_page_events(ff, lambda ev: any(e["type"] == "reply" for e in ev), WAIT_S)
        assert [e["text"] for e in events if e["type"] == "reply"] == ["I hear you (sad)."]
        assert agent.sessions[0].texts == ["I feel sad now"]
        ff.click("#stop")
        wait_closed(app)


@pytest.mark.usefixtures("firefox_ok")
def test_firefox_denied_camera_still_chats() -> None:
    agent = FakeAgent()
    with serve(create_app(lambda _s: agent, web_settings=WebSettings())) as url, \
            Firefox(prefs=FIREFOX_DENY_PREFS) as ff:
        ff.navigate(url + "/")
        ff.click("#start")
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and ff.text("#status") != "live (text only)":
            time.sleep(0.2)
        assert "permission was denied" in ff.text("#banners")
        assert ff.text("#status") == "live (text only)"
        ff.send_keys("#chat-input", "hello")
        ff.click("#chat-form button")
        events = wait_for_page_events(ff, lambda ev: any(e["type"] == "reply" for e in ev), WAIT_S)
        assert any(e["type"] == "reply" for e in events)


@pytest.mark.models
@pytest.mark.usefixtures("firefox_ok")
def test_live_session_in_firefox_with_real_agent(media_files: dict[str, Any]) -> None:
    """The Chromium real-agent test in Firefox: the same face and clip (through ``use_file_media``),
    real Whisper, the trained experts, the attention fuser and the offline reply model."""
    from emotion_agent.agent import EmotionAwareAgent

    agent = EmotionAwareAgent(max_sessions=2)
    agent.warm_up()
    app = create_app(lambda _s: agent, web_settings=WebSettings())
    # The mock audio backend lets Web Audio run without a sound card (headless CI has none).
    with serve(app, timeout_s=120) as url, \
            Firefox(prefs={**FIREFOX_FAKE_PREFS, "media.cubeb.force_mock_context": True}) as ff:
        ff.navigate(url + "/")
        loaded = use_file_media(ff, media_files["audio"], media_files["image"])
        ff.click("#start")
        events = wait_for_page_events(ff, lambda ev: not missing_live_events(ev), 120)
        missing = missing_live_events(events)
        assert not missing, f"missing {missing}; got {[e['type'] for e in events]}; {loaded}; {ff.text('#banners')}"
        assert "Firefox" in ff.execute("return navigator.userAgent")
        ff.click("#stop")
        wait_closed(app)
    finals = [e for e in events if e["type"] == "transcript" and e.get("is_final")]
    if "RAVDESS" in media_files["used"]["speech"]:  # "Kids are talking by the door."
        assert any("door" in e["text"].lower() for e in finals), finals
    fused = [e for e in events if e["type"] == "emotion" and not e.get("provisional")]
    assert all(abs(sum(e["weights"].values()) - 1) < 1e-3 for e in fused), fused
    face = [e for e in events if e["type"] == "expert_scores" and e["modality"] == "face"]
    assert face, "no face scores: the canvas video did not reach the face expert"


def test_busy_server_shows_connection_failed_in_both_browsers(devices: dict[str, Any]) -> None:
    """The one session slot is taken: the offer gets 503 and the page says the connection failed and why."""
    import httpx

    def check(run: Any, name: str) -> None:
        deadline = time.monotonic() + WAIT_S
        banners = ""
        while time.monotonic() < deadline and "Connection failed" not in banners:
            time.sleep(0.2)
            banners = run("return document.getElementById('banners').innerText")
        assert "Connection failed: server busy" in banners and "limit" in banners, (name, banners)
        assert run("return document.getElementById('status').innerText") == "connection failed"

    async def offer_sdp() -> str:
        from aiortc import RTCPeerConnection

        pc = RTCPeerConnection()
        pc.createDataChannel("events")
        await pc.setLocalDescription(await pc.createOffer())
        sdp: str = pc.localDescription.sdp
        await pc.close()
        return sdp

    import asyncio

    agent = FakeAgent()
    # REST chats no longer take live slots (issue 15): an offer that never connects holds the one slot.
    web = WebSettings(max_sessions=1, connect_timeout_s=120)
    with serve(create_app(lambda _s: agent, web_settings=web)) as url:
        r = httpx.post(url + "/offer", json={"sdp": asyncio.run(offer_sdp()), "type": "offer"}, timeout=10)
        assert r.status_code == 200, r.text
        d = chromium(devices["video"], devices["audio"])
        try:
            d.get(url + "/")
            d.find_element("id", "start").click()
            check(d.execute_script, "chromium")
        finally:
            d.quit()
        if firefox_missing() is None:
            with Firefox(prefs=FIREFOX_FAKE_PREFS) as ff:
                ff.navigate(url + "/")
                ff.click("#start")
                check(ff.execute, "firefox")
