"""The agent's voice on the real page in headless Chromium (browser TTS, the default).

Chromium's fake microphone loops a WAV: half a second of silence, a held-out RAVDESS utterance (actor
17; a synthetic burst without the datasets), then a pause.  The first utterance gets a reply that the
page speaks; a later loop of the utterance starts while the page is still speaking: a barge-in.

What the page does is observed through the browser's own APIs, installed before any page script runs
(CDP ``Page.addScriptToEvaluateOnNewDocument``): ``window.speechSynthesis`` is wrapped so every
``speak`` (with the utterance's rate, pitch and volume) and ``cancel`` is logged, data-channel
messages are logged with their arrival time, and ``getUserMedia``'s constraints are recorded.  Headless Chromium here has no speech engine (``speak``
fails at once with ``synthesis-failed``), so the wrapper plays each utterance for its natural length
(14 characters a second at rate 1) and fires the standard ``start`` / ``end`` / ``error`` events;
everything else is the page's own code.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from emotion_agent.agent.facade import EmotionAwareAgent
from emotion_agent.core.settings import Settings
from emotion_agent.responders.prosody import prosody_for
from emotion_agent.web.app import create_app
from emotion_agent.web.config import WebSettings
from tests.agent_fakes import EchoResponder, fake_components
from tests.browser import chromium, chromium_missing, face_frame, serve, write_wav, write_y4m
from tests.conftest import speechlike

pytestmark = pytest.mark.browser

OBSERVE_JS = r"""
(() => {
  const real = window.speechSynthesis;
  const log = (window.__ttsLog = []);
  const messages = (window.__dcLog = []);
  let queue = [], current = null, timer = null;
  const fire = (u, type, error) => u.dispatchEvent(type === "error"
    ? new SpeechSynthesisErrorEvent("error", { utterance: u, error })
    : new SpeechSynthesisEvent(type, { utterance: u }));
  const next = () => {
    current = queue.shift() || null;
    if (!current) return;
    const u = current;
    fire(u, "start");
    const ms = Math.max(300, (u.text.length / 14) * 1000 / (u.rate || 1));
    timer = setTimeout(() => { current = null; log.push({ call: "end", text: u.text, t: Date.now() }); fire(u, "end"); next(); }, ms);
  };
  const engine = {
    speak(u) {
      log.push({ call: "speak", text: u.text, rate: u.rate, pitch: u.pitch, volume: u.volume, t: Date.now() });
      queue.push(u);
      if (!current) next();
    },
    cancel() {
      log.push({ call: "cancel", speaking: !!current, queued: queue.length, t: Date.now() });
      clearTimeout(timer);
      const c = current, q = queue;
      current = null; queue = [];
      if (c) fire(c, "error", "interrupted");
      for (const u of q) fire(u, "error", "canceled");
    },
    pause() {}, resume() {},
    getVoices() { return real ? real.getVoices() : []; },
    get speaking() { return !!current; }, get pending() { return queue.length > 0; }, get paused() { return false; },
    addEventListener() {}, removeEventListener() {},
  };
  Object.defineProperty(window, "speechSynthesis", { value: engine, configurable: true });
  window.__gumLog = [];
  if (navigator.mediaDevices) {  // secure pages only
    const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = (c) => { window.__gumLog.push(JSON.parse(JSON.stringify(c))); return gum(c); };
  }
  const create = RTCPeerConnection.prototype.createDataChannel;
  RTCPeerConnection.prototype.createDataChannel = function (...args) {
    const ch = create.apply(this, args);
    ch.addEventListener("message", (e) => {
      try { messages.push({ type: JSON.parse(e.data).type, t: Date.now() }); } catch (err) { /* not JSON */ }
    });
    return ch;
  };
})();
"""


def camera_y4m(out: Path, data_dir: Path) -> Path | None:
    """The fake camera: a FER-2013 PublicTest "sad" face (held out), or None (Chromium's own pattern)."""
    from emotion_agent.core.labels import LABEL_INDEX
    from emotion_agent.training.datasets import load_fer

    fer = data_dir / "fer2013" / "fer2013_train_publictest.npz"
    if not fer.exists():
        return None
    images, y = load_fer(fer, "PublicTest")
    return write_y4m(out / "face.y4m", face_frame(images[int(np.flatnonzero(y == LABEL_INDEX["sad"])[0])]))


def mic_wav(out: Path, data_dir: Path) -> tuple[Path, str]:
    """The fake microphone: 0.5 s silence, a held-out utterance, 3 s pause (48 kHz WAV; Chromium loops it)."""
    from emotion_agent.perception.audio import resample
    from emotion_agent.perception.decode import read_audio

    clip = data_dir / "ravdess_speech_16k" / "Actor_17" / "03-01-04-02-01-01-17.flac"  # sad, "Kids are talking…"
    if clip.exists():
        speech, used = read_audio(clip), f"RAVDESS {clip.name} (actor 17, held out)"
    else:
        speech, used = speechlike(1.5, amp=0.3), "synthetic vowel burst"
    audio = np.concatenate([np.zeros(8_000, np.float32), speech, np.zeros(48_000, np.float32)])
    return write_wav(out / "mic.wav", resample(audio, 16_000, 48_000), 48_000), used


@pytest.fixture(scope="module")
def mic(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, str, Path | None]:
    reason = chromium_missing()
    if reason:
        pytest.skip(f"no headless Chromium: {reason}")
    out = tmp_path_factory.mktemp("speech-devices")
    return (*mic_wav(out, data_dir), camera_y4m(out, data_dir))


@pytest.fixture
def driver(mic: tuple[Path, str, Path | None]) -> Iterator[Any]:
    d = chromium(mic[2], mic[0])
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": OBSERVE_JS})
    try:
        yield d
    finally:
        d.quit()


def poll(driver: Any, script: str, done: Any, within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    value = None
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if done(value):
            return value
        time.sleep(0.2)
    events = driver.execute_script("return (window.__events || []).map((e) => e.type)")
    banners = [b.text for b in driver.find_elements("css selector", ".banner")]
    raise AssertionError(f"timed out waiting for {what}; events {events}; banners {banners}; last {value}")


def speak_until_barge_in(driver: Any, url: str, within: float) -> dict[str, Any]:
    """Open the page, press Start (live voice), wait for a barge-in; returns what the page saw."""
    driver.get(url + "/")
    assert driver.find_element("id", "speaker").text == "Voice: off"  # typed chat: off by default
    driver.find_element("id", "start").click()
    poll(driver, "return document.getElementById('speaker').getAttribute('aria-pressed')", lambda v: v == "true",
         15, "the speaker to come on for live voice")
    poll(driver, "return window.__ttsLog.filter((x) => x.call === 'speak').length", lambda n: n > 0, within,
         "speechSynthesis.speak")
    speaking_shot = os.environ.get("SPEAKING_SCREENSHOT")
    if speaking_shot:  # docs/screenshot-speaking.png
        poll(driver, "return document.getElementById('agent-voice').textContent", lambda t: t == "agent speaking",
             10, "the speaking indicator")
        driver.save_screenshot(speaking_shot)
    poll(driver, "return window.__events.some((e) => e.type === 'speech_out_stopped' && e.reason === 'interrupted')",
         bool, within, "a barge-in (speech_out_stopped interrupted)")
    time.sleep(0.5)
    return driver.execute_script("return {events: window.__events, tts: window.__ttsLog, dc: window.__dcLog, "
                                 "voice: document.getElementById('agent-voice').textContent, gum: window.__gumLog}")


def check_speech_and_barge_in(seen: dict[str, Any], profile: str = "default") -> dict[str, float]:
    events, tts, dc = seen["events"], seen["tts"], seen["dc"]
    assert seen["gum"] and seen["gum"][0]["audio"]["echoCancellation"] is True  # the agent must not hear itself
    replies: dict[int, str] = {}  # the reply text streamed so far, per turn
    for e in events:
        if e["type"] == "reply_delta":
            replies[e["turn"]] = replies.get(e["turn"], "") + e["text"]
    emotions = {e["turn"]: e for e in events if e["type"] == "emotion" and not e["provisional"]}
    speaks = [x for x in tts if x["call"] == "speak"]
    assert speaks and replies
    for call in speaks:  # every sentence spoken with the row of the table for its turn's fused emotion
        turn = next(t for t, text in replies.items() if call["text"] in text)
        emotion = emotions[turn]
        want = prosody_for(emotion["label"], profile, emotion["uncertain"])
        assert (call["rate"], call["pitch"], call["volume"]) == pytest.approx((want.rate, want.pitch, want.volume),
                                                                              abs=1e-6), (call, emotion["label"])
    started = [e for e in events if e["type"] == "speech_out_started"]
    assert started and started[0]["source"] == "browser"
    assert started[0]["prosody"]["rate"] == pytest.approx(speaks[0]["rate"])
    # Barge-in: the user's speech start arrived while the page spoke; the server answered with
    # speech_out_stopped (interrupted) and the page cancelled its speech.
    kinds = [e["type"] for e in events]
    stop_at = next(i for i, e in enumerate(events) if e["type"] == "speech_out_stopped" and e["reason"] == "interrupted")
    assert "speech" in kinds[:stop_at] and events[stop_at]["source"] == "browser"
    cancels = [x for x in tts if x["call"] == "cancel" and x["speaking"]]
    assert cancels, tts
    stops = [m for m in dc if m["type"] == "speech_out_stopped"]
    speech_starts = [m for m in dc if m["type"] == "speech" and m["t"] <= stops[-1]["t"]]
    cancel_ms = cancels[-1]["t"] - speech_starts[-1]["t"]
    assert 0 <= cancel_ms < 200, (cancel_ms, dc)
    assert seen["voice"] == "agent quiet"
    return {"speech_event_to_cancel_ms": cancel_ms, "server_barge_in_ms": events[stop_at]["barge_in_ms"],
            "speaks": len(speaks)}


def test_page_speaks_with_the_mapped_prosody_and_stops_on_barge_in(driver: Any) -> None:
    """The real session code (VAD, barge-in, echo guard) with fake experts (everything says "sad")
    and a canned three-sentence reply: no models, about 20 s."""
    settings = Settings(tts="browser")
    reply = ["I am sorry you feel that way.", " I am here with you.",
             " Take all the time you need, and tell me what happened today."]
    comps = fake_components(settings, responder=EchoResponder(reply), face="sad", voice="sad", text="sad")
    agent = EmotionAwareAgent(settings, components=comps)
    with serve(create_app(lambda _s: agent, settings=settings, web_settings=WebSettings())) as url:
        seen = speak_until_barge_in(driver, url, within=60)
    timings = check_speech_and_barge_in(seen)
    speaks = [x for x in seen["tts"] if x["call"] == "speak"]
    sad = prosody_for("sad")
    assert speaks[0]["rate"] == pytest.approx(sad.rate) and sad.rate < 1 and sad.volume < 0.9  # slower, softer
    assert [s["text"] for s in speaks[:3]] == [r.strip() for r in reply]  # one utterance per sentence
    print(f"\n{timings}")


@pytest.mark.models
def test_real_agent_page_speaks_the_reply_and_barge_in_cancels_it(driver: Any, mic: tuple[Path, str, Any]) -> None:
    """The page against the real agent: Whisper, the trained experts, the attention fuser and SmolLM2
    answer the held-out utterance; the page speaks the reply with the table's rate and pitch for the
    fused emotion, and the next loop of the utterance, starting while it speaks, cancels it."""
    agent = EmotionAwareAgent(Settings(tts="browser"), max_sessions=2)
    agent.warm_up()
    app = create_app(lambda _s: agent, settings=agent.settings, web_settings=WebSettings())
    with serve(app, timeout_s=120) as url:
        seen = speak_until_barge_in(driver, url, within=150)
    timings = check_speech_and_barge_in(seen)
    fused = [e["label"] for e in seen["events"] if e["type"] == "emotion" and not e["provisional"]]
    print(f"\nmic: {mic[1]}; fused {fused}; {timings}")


def test_server_voice_plays_on_the_page_and_stop_cuts_it(driver: Any) -> None:
    """``EMOTION_AGENT_TTS=server`` with a tone for a voice (no models): the page offers a receive-only
    audio line, plays the track the server sends, shows the speaking state from the server's events,
    and its Stop control cuts the server's voice."""
    from tests.test_speech import ToneVoice

    settings = Settings(tts="server")
    comps = fake_components(settings, responder=EchoResponder(["Here is a long answer for you to hear.",
                                                               " It goes on for a good while, sentence after sentence.",
                                                               " And then a little more, to be sure."]))
    comps.voice = ToneVoice(ms_per_char=90)
    agent = EmotionAwareAgent(settings, components=comps)
    with serve(create_app(lambda _s: agent, settings=settings, web_settings=WebSettings())) as url:
        driver.get(url + "/")
        driver.find_element("id", "start").click()
        poll(driver, "return window.__events.some((e) => e.type === 'speech_out_started' && e.source === 'server')",
             bool, 60, "the server's voice")
        assert driver.find_element("id", "agent-voice").text == "agent speaking"
        assert not [x for x in driver.execute_script("return window.__ttsLog") if x["call"] == "speak"]
        energy = poll(driver, """
            const a = document.getElementById('agent-audio');
            if (!a.srcObject || !a.srcObject.getAudioTracks().length) return 0;
            return window.__app.pc.getStats().then((r) => {
              let e = 0; r.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') e += s.totalAudioEnergy || 0; });
              return e; });""", lambda e: e and e > 0, 15, "audio energy on the received track")
        assert energy > 0
        driver.find_element("id", "speech-stop").click()
        # The Stop control's cut has no barge_in_ms (a barge-in by the looping microphone would).
        poll(driver, "return window.__events.some((e) => e.type === 'speech_out_stopped' && e.source === 'server' "
             "&& e.reason === 'interrupted' && e.barge_in_ms === null)", bool, 10,
             "the Stop control to cut the server's voice")
        poll(driver, "return document.getElementById('agent-voice').textContent", lambda t: t == "agent quiet", 5,
             "the indicator to go quiet")
        session = next(iter(agent.sessions.values()))
        assert session.speech.playout is not None and session.speech.playout.turn is None
