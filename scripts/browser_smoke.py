"""Drive the live page in headless Chromium or Firefox and save a screenshot of it mid-session.

    python scripts/browser_smoke.py                 # fake agent (no models): proves the plumbing
    python scripts/browser_smoke.py --real          # the real EmotionAwareAgent with the trained weights
    python scripts/browser_smoke.py --real --browser firefox --out /tmp/firefox.png
    python scripts/browser_smoke.py --out docs/screenshot.png

Camera: a FER-2013 face upscaled on a backdrop; microphone: a RAVDESS clip at 48 kHz; both looped
(Chromium reads them as fake devices from a y4m and a wav; in Firefox the page's getUserMedia is
swapped for a stream of the same files, see ``tests.browser.use_file_media``).  Waits for a final
transcript, face and voice scores, a fused emotion and a reply over the data channel, types one chat
message, analyzes the same clip through the upload form, then takes the screenshot.  Prints the event
counts and timings; exits 1 when something did not arrive.
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
    from emotion_agent.agent import EmotionAwareAgent

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
    parser.add_argument("--browser", choices=("chromium", "firefox"), default="chromium")
    args = parser.parse_args(argv)

    from emotion_agent.core.settings import get_settings
    from emotion_agent.web.app import create_app
    from emotion_agent.web.config import WebSettings
    from tests.browser import chromium_missing, firefox_missing, make_fake_devices, missing_live_events, serve

    reason = chromium_missing() if args.browser == "chromium" else firefox_missing()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    data_dir = get_settings().data_dir
    with tempfile.TemporaryDirectory(prefix="browser-smoke-") as tmp:
        devices = make_fake_devices(Path(tmp), data_dir if data_dir.exists() else None, args.label)
        print("fake devices:", json.dumps(devices["used"]))
        agent = make_agent(args.real)
        app = create_app(lambda _s: agent, web_settings=WebSettings())
        page = open_page(args.browser, devices)
        try:
            with serve(app, timeout_s=120) as url:
                page.open(url + "/")
                print("browser:", page.run("return navigator.userAgent;"))
                started = time.perf_counter()
                page.click("#start")
                events = page.wait(lambda ev: not missing_live_events(ev), args.timeout)
                elapsed = time.perf_counter() - started
                missing = missing_live_events(events)
                upload_status = ""
                if not missing:
                    page.type("#chat-input", "Thanks, that made my day!")
                    page.click("#chat-form button")
                    replies = sum(e["type"] == "reply" for e in events)
                    page.wait(lambda ev: sum(e["type"] == "reply" for e in ev) > replies, 60)
                    page.type("#upload-file", str(devices["audio"]))
                    page.click("#upload-form button")
                    deadline = time.monotonic() + 90
                    while time.monotonic() < deadline and not any(
                            w in page.text("#upload-status") for w in ("utterance", "could not")):
                        time.sleep(0.3)
                    upload_status = page.text("#upload-status")
                    time.sleep(0.5)  # let the canvas and bars settle
                events = page.run("return window.__events;")
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.run("window.scrollTo(0, 0);")
                page.screenshot(args.out)
                metrics = _get_metrics(url)
        finally:
            page.close()
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


class Page:
    """The few page actions the smoke run needs, over Selenium (Chromium) or Marionette (Firefox)."""

    def __init__(self, browser: str, driver: Any, files: dict[str, Any]) -> None:
        self.browser, self.driver, self.files = browser, driver, files

    def open(self, url: str) -> None:
        if self.browser == "chromium":
            self.driver.get(url)
            return
        from tests.browser import use_file_media

        self.driver.navigate(url)
        print("firefox media:", use_file_media(self.driver, self.files["audio"], self.files["image"]))

    def click(self, css: str) -> None:
        if self.browser == "chromium":
            self.driver.find_element("css selector", css).click()
        else:
            self.driver.click(css)

    def type(self, css: str, text: str) -> None:
        if self.browser == "chromium":
            self.driver.find_element("css selector", css).send_keys(text)
        else:
            self.driver.send_keys(css, text)

    def text(self, css: str) -> str:
        return str(self.run("const e = document.querySelector(arguments[0]); return e ? e.innerText : '';", css))

    def run(self, script: str, *args: Any) -> Any:
        if self.browser == "chromium":
            return self.driver.execute_script(script, *args)
        return self.driver.execute(script, *args)

    def wait(self, done: Any, timeout_s: float) -> list[dict[str, Any]]:
        from tests.browser import poll_page_events

        return poll_page_events(self.run, done, timeout_s)

    def screenshot(self, path: Path) -> None:
        if self.browser == "chromium":
            self.driver.save_screenshot(str(path))
        else:
            path.write_bytes(self.driver.screenshot_png())

    def close(self) -> None:
        if self.browser == "chromium":
            self.driver.quit()
        else:
            self.driver.close()


def open_page(browser: str, devices: dict[str, Any]) -> Page:
    if browser == "chromium":
        from tests.browser import chromium

        return Page(browser, chromium(devices["video"], devices["audio"], window=(1280, 1180)), devices)
    from tests.browser import FIREFOX_FAKE_PREFS
    from tests.marionette import Firefox

    prefs = {**FIREFOX_FAKE_PREFS, "media.cubeb.force_mock_context": True}
    return Page(browser, Firefox(prefs=prefs, size=(1280, 1180)), devices)


def _get_metrics(url: str) -> dict[str, Any] | None:
    import httpx

    try:
        data: dict[str, Any] = httpx.get(url + "/metrics?format=json", timeout=5).json()
    except httpx.HTTPError:
        return None
    return data


if __name__ == "__main__":
    raise SystemExit(main())
