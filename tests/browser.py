"""Helpers for driving the page in a real browser: fake-device media files, a server thread, headless
Chromium and Firefox.

Used by ``tests/test_web_browser.py`` and ``scripts/browser_smoke.py``.  Chromium (Debian ``chromium`` +
``chromium-driver``) reads a YUV4MPEG2 file as the camera and a WAV as the microphone, looping both.
Firefox (Debian ``firefox-esr``, driven over Marionette by ``tests.marionette``) has no file-fed fake
devices, only a tone and a test pattern; to give it the same face and speech, ``use_file_media`` swaps
the page's ``getUserMedia`` for a stream built from the same files (the WAV played through Web Audio,
the face drawn on a canvas).  Everything after ``getUserMedia`` is the page's own code and Firefox's own
WebRTC stack.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists() and shutil.which(Path(path).name) is None:
            return f"{path} not found (apt-get install -y chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    return None


def write_y4m(path: Path, frame_bgr: np.ndarray, frames: int = 30, fps: int = 15) -> Path:
    """A YUV4MPEG2 (C420jpeg) file showing ``frame_bgr`` (h, w, 3; even h and w) for ``frames`` frames."""
    import cv2

    h, w = frame_bgr.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"y4m 4:2:0 needs even width and height, got {w}x{h}")
    i420 = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2YUV_I420).tobytes()  # Y plane, then U, then V
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n")
            f.write(i420)
    return path


def write_wav(path: Path, audio: np.ndarray, rate: int = 48_000) -> Path:
    """16-bit mono WAV of float32 ``audio`` (n,) at ``rate`` Hz."""
    from emotion_agent.perception.audio import float_to_int16

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(float_to_int16(audio).tobytes())
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(app: Any, port: int | None = None, timeout_s: float = 20.0) -> Iterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 in a thread; yields the base URL; stops it on exit."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout_s)


def chromium(video: Path | None, audio: Path | None, window: tuple[int, int] = (1280, 1400)) -> Any:
    """A headless Chromium (selenium WebDriver) whose camera/microphone are the given files."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--use-fake-ui-for-media-stream",
                 "--use-fake-device-for-media-stream", f"--window-size={window[0]},{window[1]}"):
        opts.add_argument(flag)
    if video is not None:
        opts.add_argument(f"--use-file-for-fake-video-capture={video}")
    if audio is not None:
        opts.add_argument(f"--use-file-for-fake-audio-capture={audio}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


def poll_page_events(run_script: Callable[[str], Any], done: Any, timeout_s: float) -> list[dict[str, Any]]:
    """Poll ``window.__events`` through ``run_script`` (a driver's execute-script call) until
    ``done(events)`` is true or the time is up; returns the events."""
    deadline = time.monotonic() + timeout_s
    events: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        events = run_script("return window.__events || [];")
        if done(events):
            break
        time.sleep(0.25)
    return events


def wait_for_events(driver: Any, done: Any, timeout_s: float) -> list[dict[str, Any]]:
    """``poll_page_events`` for a Selenium (Chromium) driver."""
    return poll_page_events(driver.execute_script, done, timeout_s)


def live_session_done(events: list[dict[str, Any]]) -> bool:
    """A final transcript, face and voice scores, a final fused emotion and a reply have all arrived."""
    return not missing_live_events(events)


def missing_live_events(events: list[dict[str, Any]]) -> list[str]:
    want = {
        "final transcript": lambda e: e["type"] == "transcript" and e.get("is_final"),
        "face scores": lambda e: e["type"] == "expert_scores" and e.get("modality") == "face",
        "voice scores": lambda e: e["type"] == "expert_scores" and e.get("modality") == "voice",
        "fused emotion": lambda e: e["type"] == "emotion" and not e.get("provisional"),
        "reply": lambda e: e["type"] == "reply",
    }
    return [name for name, test in want.items() if not any(test(e) for e in events)]


def face_frame(face_gray: np.ndarray | None, size: tuple[int, int] = (640, 480), face_px: int = 288) -> np.ndarray:
    """A BGR frame (h, w, 3): a mid-gray backdrop with ``face_gray`` (uint8 (h, w)) upscaled in the middle."""
    import cv2

    width, height = size
    frame = np.full((height, width, 3), (96, 104, 112), dtype=np.uint8)
    if face_gray is not None:
        big = cv2.resize(face_gray, (face_px, face_px), interpolation=cv2.INTER_CUBIC)
        y, x = (height - face_px) // 2, (width - face_px) // 2
        frame[y : y + face_px, x : x + face_px] = big[..., None]
    return frame


def make_fake_devices(out_dir: Path, data_dir: Path | None = None, label: str = "happy") -> dict[str, Any]:
    """Write ``face.y4m`` and ``speech.wav`` (48 kHz) for Chromium's fake camera and microphone.

    With the datasets present: a FER-2013 PublicTest face and a RAVDESS clip (actor 1, strong intensity)
    of ``label``, followed by 2 s of silence so the utterance ends before the file loops.  Without them:
    a synthetic vowel-like burst and no face.  Returns the paths and what was used.
    """
    from emotion_agent.perception.audio import resample
    from emotion_agent.perception.decode import read_audio

    out_dir.mkdir(parents=True, exist_ok=True)
    face: np.ndarray | None = None
    speech: np.ndarray | None = None
    used: dict[str, Any] = {}
    if data_dir is not None:
        from emotion_agent.core.labels import LABEL_INDEX
        from emotion_agent.training.datasets import load_fer, load_ravdess

        fer = data_dir / "fer2013" / "fer2013_train_publictest.npz"
        if fer.exists():
            images, y = load_fer(fer, "PublicTest")
            idx = int(np.flatnonzero(y == LABEL_INDEX[label])[0])
            face, used["face"] = images[idx], f"FER-2013 PublicTest #{idx} ({label})"
        ravdess = data_dir / "ravdess_speech_16k"
        if (ravdess / "manifest.csv").exists():
            clip = next(c for c in load_ravdess(ravdess, [1]) if c.label == label and c.path.stem.split("-")[3] == "02")
            speech, used["speech"] = read_audio(clip.path), f"RAVDESS {clip.path.name}"
    if speech is None:
        t = np.arange(int(1.5 * 16_000)) / 16_000
        wave_ = sum(np.sin(2 * np.pi * 140.0 * k * t) / k for k in range(1, 15)) * (1 + 0.3 * np.sin(8 * np.pi * t))
        speech, used["speech"] = (0.25 * wave_ / np.abs(wave_).max()).astype(np.float32), "synthetic vowel burst"
    used.setdefault("face", "none (gray frame)")
    audio = np.concatenate([np.zeros(8_000, np.float32), speech, np.zeros(32_000, np.float32)])
    wav = write_wav(out_dir / "speech.wav", resample(audio, 16_000, 48_000), 48_000)
    frame = face_frame(face)
    y4m = write_y4m(out_dir / "face.y4m", frame)
    png = out_dir / "face.png"
    import cv2

    cv2.imwrite(str(png), frame)
    return {"video": y4m, "audio": wav, "image": png, "used": used,
            "speech_seconds": round(len(speech) / 16_000, 2)}


# -- Firefox -----------------------------------------------------------------------------------------

FIREFOX_FAKE_PREFS: dict[str, Any] = {
    "media.navigator.streams.fake": True,          # tone + test pattern instead of real devices
    "media.navigator.permission.disabled": True,   # no permission prompt (the user said yes)
}

FIREFOX_DENY_PREFS: dict[str, Any] = {
    "media.navigator.streams.fake": True,
    "permissions.default.camera": 2,               # 2 = block: getUserMedia rejects with NotAllowedError
    "permissions.default.microphone": 2,
}

_FILE_MEDIA_JS = r"""
const [wavB64, imageUrl, fps] = arguments;
const finish = arguments[arguments.length - 1];
(async () => {
  const bytes = Uint8Array.from(atob(wavB64), (c) => c.charCodeAt(0));
  const ctx = new AudioContext();
  const buffer = await ctx.decodeAudioData(bytes.buffer);
  const img = new Image();
  img.src = imageUrl;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const g = canvas.getContext("2d");
  let tick = 0;
  const draw = () => { g.drawImage(img, 0, 0); g.fillStyle = tick++ % 2 ? "#000" : "#111"; g.fillRect(0, 0, 1, 1); };
  window.__fileMedia = { requests: [] };
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    window.__fileMedia.requests.push(JSON.stringify(constraints));
    const tracks = [];
    if (constraints.audio) {
      await ctx.resume();
      const src = ctx.createBufferSource();
      src.buffer = buffer; src.loop = true;
      const dest = ctx.createMediaStreamDestination();
      src.connect(dest); src.start();
      tracks.push(...dest.stream.getAudioTracks());
    }
    if (constraints.video) {
      draw(); setInterval(draw, 1000 / fps);
      tracks.push(...canvas.captureStream(fps).getVideoTracks());
    }
    return new MediaStream(tracks);
  };
  return `${buffer.duration.toFixed(2)} s at ${buffer.sampleRate} Hz, ${canvas.width}x${canvas.height}`;
})().then(finish, (err) => finish(`error: ${err}`));
"""


def firefox_missing() -> str | None:
    """Why the Firefox tests cannot run here (None when they can)."""
    from tests.marionette import find_firefox

    if find_firefox() is None:
        return "no firefox-esr or firefox on PATH (apt-get install -y firefox-esr)"
    return None


def use_file_media(ff: Any, audio_wav: Path, image: Path, fps: int = 15) -> str:
    """Make the page's ``getUserMedia`` return the WAV (looped) and the image (as a ``fps`` video).

    Call after navigating and before pressing Start.  Returns what was loaded, e.g. "6.50 s at 48000 Hz,
    640x480"; raises ``RuntimeError`` when the page could not decode the files.
    """
    import base64

    wav_b64 = base64.b64encode(audio_wav.read_bytes()).decode()
    image_url = "data:image/png;base64," + base64.b64encode(image.read_bytes()).decode()
    loaded = str(ff.execute_async(_FILE_MEDIA_JS, wav_b64, image_url, fps))
    if loaded.startswith("error"):
        raise RuntimeError(f"the page could not load the fake media: {loaded}")
    return loaded


def wait_for_page_events(ff: Any, done: Any, timeout_s: float) -> list[dict[str, Any]]:
    """``poll_page_events`` for a ``tests.marionette.Firefox``."""
    return poll_page_events(ff.execute, done, timeout_s)
