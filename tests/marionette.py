"""A minimal client for Firefox's Marionette protocol, enough to drive the page in headless Firefox.

geckodriver is not packaged by Debian and cannot be fetched offline, and Mozilla's ``marionette_driver``
pins its own dependencies, so the browser tests talk Marionette directly: length-prefixed JSON over
TCP, ``[0, id, command, params]`` out and ``[1, id, error, result]`` back
(https://firefox-source-docs.mozilla.org/testing/marionette/Protocol.html).

    with Firefox(prefs={"media.navigator.streams.fake": True}) as ff:
        ff.navigate("http://127.0.0.1:8000/")
        ff.click("#start")
        ff.execute("return window.__events.length")
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

FIREFOX_CANDIDATES = ("firefox-esr", "firefox")
ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"

# Keep a test profile quiet and offline (a subset of what Mozilla's own harness sets).
BASE_PREFS: dict[str, Any] = {
    "app.update.disabledForTesting": True,
    "app.normandy.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.startup.page": 0,
    "browser.tabs.warnOnClose": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "extensions.update.enabled": False,
    "media.autoplay.default": 0,
    "media.autoplay.block-webaudio": False,
}


class MarionetteError(RuntimeError):
    """Firefox reported an error for a command (``error`` and ``message`` from the response)."""


def find_firefox() -> str | None:
    for name in FIREFOX_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Firefox:
    """A headless Firefox with a throw-away profile and a Marionette session on it."""

    def __init__(self, prefs: dict[str, Any] | None = None, binary: str | None = None,
                 size: tuple[int, int] = (1280, 1400), startup_timeout_s: float = 90.0) -> None:
        binary = binary or find_firefox()
        if binary is None:
            raise FileNotFoundError("no firefox-esr or firefox on PATH (apt-get install -y firefox-esr)")
        self.port = _free_port()
        self.profile = Path(tempfile.mkdtemp(prefix="ea-firefox-"))
        all_prefs = {**BASE_PREFS, **(prefs or {}), "marionette.port": self.port}
        (self.profile / "user.js").write_text(
            "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in all_prefs.items()))
        env = {**os.environ, "MOZ_HEADLESS": "1", "MOZ_HEADLESS_WIDTH": str(size[0]),
               "MOZ_HEADLESS_HEIGHT": str(size[1])}
        self.log_path = self.profile / "firefox.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(
            [binary, "--headless", "--marionette", "--no-remote", "--profile", str(self.profile), "about:blank"],
            stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self._sock: socket.socket | None = None
        self._buf = b""
        self._next_id = 0
        try:
            self._connect(startup_timeout_s)
            self.command("WebDriver:NewSession", {"strictFileInteractability": True})
            self.command("WebDriver:SetTimeouts", {"script": 60_000, "pageLoad": 60_000})
        except BaseException:
            self.close()
            raise

    # -- protocol ------------------------------------------------------------------------------------

    def _connect(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"firefox exited with {self.proc.returncode}: {self._log_tail()}")
            try:
                self._sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"Marionette did not listen on port {self.port} within {timeout_s:.0f} s: "
                                       f"{self._log_tail()}") from None
                time.sleep(0.25)
        self._sock.settimeout(120)
        hello = self._receive()
        if not isinstance(hello, dict) or hello.get("marionetteProtocol") != 3:
            raise RuntimeError(f"unexpected Marionette greeting: {hello!r}")

    def _receive(self) -> Any:
        assert self._sock is not None
        while b":" not in self._buf:
            self._fill()
        head, _, self._buf = self._buf.partition(b":")
        size = int(head)
        while len(self._buf) < size:
            self._fill()
        body, self._buf = self._buf[:size], self._buf[size:]
        return json.loads(body)

    def _fill(self) -> None:
        assert self._sock is not None
        chunk = self._sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError(f"Marionette closed the connection: {self._log_tail()}")
        self._buf += chunk

    def command(self, name: str, params: dict[str, Any] | None = None) -> Any:
        """Send one command and return its result (raises ``MarionetteError`` on an error reply)."""
        if self._sock is None:
            raise RuntimeError("the Marionette session is closed")
        self._next_id += 1
        data = json.dumps([0, self._next_id, name, params or {}]).encode()
        self._sock.sendall(str(len(data)).encode() + b":" + data)
        while True:
            reply = self._receive()
            if isinstance(reply, list) and len(reply) == 4 and reply[0] == 1 and reply[1] == self._next_id:
                break
        _, _, error, result = reply
        if error:
            raise MarionetteError(f"{name}: {error.get('error')}: {error.get('message')}")
        return result

    # -- WebDriver-style helpers ---------------------------------------------------------------------

    def navigate(self, url: str) -> None:
        self.command("WebDriver:Navigate", {"url": url})

    def execute(self, script: str, *args: Any) -> Any:
        """Run ``script`` in the page (its globals visible, as with geckodriver); returns its value."""
        result = self.command("WebDriver:ExecuteScript", {"script": script, "args": list(args)})
        return result.get("value") if isinstance(result, dict) else result

    def execute_async(self, script: str, *args: Any) -> Any:
        """Like ``execute``, but the script calls ``arguments[arguments.length - 1](value)`` to finish."""
        result = self.command("WebDriver:ExecuteAsyncScript", {"script": script, "args": list(args)})
        return result.get("value") if isinstance(result, dict) else result

    def find(self, css: str) -> str:
        """The element reference for the first match of ``css``."""
        found = self.command("WebDriver:FindElement", {"using": "css selector", "value": css})
        ref = found.get("value", found)
        return str(ref[ELEMENT_KEY])

    def click(self, css: str) -> None:
        """A real (trusted) click on the first match of ``css``."""
        self.command("WebDriver:ElementClick", {"id": self.find(css)})

    def send_keys(self, css: str, text: str) -> None:
        self.command("WebDriver:ElementSendKeys", {"id": self.find(css), "text": text})

    def text(self, css: str) -> str:
        return str(self.execute("const e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
                                css))

    def screenshot_png(self) -> bytes:
        import base64

        data = self.command("WebDriver:TakeScreenshot", {"full": True})
        return base64.b64decode(data.get("value", data) if isinstance(data, dict) else data)

    # -- lifecycle -----------------------------------------------------------------------------------

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return ""

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError, MarionetteError, RuntimeError):
                self.command("Marionette:Quit", {"flags": ["eForceQuit"]})
            self._sock.close()
            self._sock = None
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Firefox:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
