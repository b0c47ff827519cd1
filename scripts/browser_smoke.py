"""Drive the live page in headless Chromium and save a screenshot of it mid-session.

    python scripts/browser_smoke.py                 # fake agent (no models): proves the plumbing
    python scripts/browser_smoke.py --real          # the real EmotionAwareAgent with the trained weights
    python scripts/browser_smoke.py --out docs/screenshot.png

Camera: a FER-2013 face upscaled on a backdrop (y4m); microphone: a RAVDESS clip at 48 kHz (wav); both
looped by Chromium.  Waits for a final transcript, face and voice scores, a fused emotion and a reply
over the data channel, types one chat message, analyzes the same clip through the upload form, then
takes the screenshot.  Prints the event counts and timings; exits 1 when something did not arrive.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def make_agent(real: bool) -> Any:
    if not real:
        from tests.fakes import FakeAgent

        return FakeAgent(reply_delay_s=0.05)
    from agent import EmotionAwareAgent

    agent = EmotionAwareAgent(max_sessions=2)
    started = time.perf_counter()
    agent.warm_up()
    print(f"models loaded in {time.perf_counter() - started:.1f} s")
    return agent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", action="store_true", help="use agent.EmotionAwareAgent (needs the weights)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the live events")
    parser.add_argument("--label", default="happy", help="emotion of the face and the clip")
    args = parser.parse_args(argv)

    from emotion_agent.settings import get_settings
    from web.app import create_app
    from web.config import WebSettings
    from web.testing import (
        chromium,
        chromium_missing,
        make_fake_devices,
        missing_live_events,
        serve,
        wait_for_events,
    )

    reason = chromium_missing()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    data_dir = get_settings().data_dir
    with tempfile.TemporaryDirectory(prefix="browser-smoke-") as tmp:
        devices = make_fake_devices(Path(tmp), data_dir if data_dir.exists() else None, args.label)
        print("fake devices:", json.dumps(devices["used"]))
        agent = make_agent(args.real)
        app = create_app(lambda _s: agent, web_settings=WebSettings())
        driver = chromium(devices["video"], devices["audio"], window=(1280, 1180))
        try:
            with serve(app, timeout_s=120) as url:
                driver.get(url + "/")
                started = time.perf_counter()
                driver.find_element("id", "start").click()
                events = wait_for_events(driver, lambda ev: not missing_live_events(ev), args.timeout)
                elapsed = time.perf_counter() - started
                missing = missing_live_events(events)
                upload_status = ""
                if not missing:
                    driver.find_element("id", "chat-input").send_keys("Thanks, that made my day!")
                    driver.find_element("css selector", "#chat-form button").click()
                    replies = sum(e["type"] == "reply" for e in events)
                    wait_for_events(driver, lambda ev: sum(e["type"] == "reply" for e in ev) > replies, 60)
                    driver.find_element("id", "upload-file").send_keys(str(devices["audio"]))
                    driver.find_element("css selector", "#upload-form button").click()
                    deadline = time.monotonic() + 90
                    while time.monotonic() < deadline and not any(
                            w in driver.find_element("id", "upload-status").text for w in ("utterance", "could not")):
                        time.sleep(0.3)
                    upload_status = driver.find_element("id", "upload-status").text
                    time.sleep(0.5)  # let the canvas and bars settle
                events = driver.execute_script("return window.__events;")
                args.out.parent.mkdir(parents=True, exist_ok=True)
                driver.execute_script("window.scrollTo(0, 0);")
                driver.save_screenshot(str(args.out))
                metrics = _get_metrics(url)
        finally:
            driver.quit()
    counts = Counter(e["type"] for e in events)
    print(f"live events after {elapsed:.1f} s: {dict(counts)}")
    print(f"upload: {upload_status!r}; screenshot: {args.out}")
    if metrics:
        print("server metrics:", json.dumps({k: metrics[k] for k in ("sessions", "stage_ms", "track_lag_s",
                                                                     "offer_ms") if k in metrics}))
    if missing:
        print(f"MISSING: {missing}", file=sys.stderr)
        return 1
    return 0


def _get_metrics(url: str) -> dict[str, Any] | None:
    import httpx

    try:
        data: dict[str, Any] = httpx.get(url + "/metrics", timeout=5).json()
    except httpx.HTTPError:
        return None
    return data


if __name__ == "__main__":
    raise SystemExit(main())
