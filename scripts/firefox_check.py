"""Manual check of the page in headless Firefox (not part of the test suite).

No geckodriver can be installed offline, so this talks to Firefox's Marionette port directly with
Mozilla's ``marionette_driver`` (PyPI).  Needs Debian's ``firefox-esr`` and, in a separate venv so it
does not pin the project's dependencies, ``pip install marionette_driver``.  Fake camera and
microphone come from Firefox's own generators (a tone and a test pattern).

    python -m web --fake --port 8765 &                        # or: emotion-agent serve --port 8765
    /tmp/mdenv/bin/python scripts/firefox_check.py http://127.0.0.1:8765 \\
        '{"media.peerconnection.ice.obfuscate_host_addresses": false}'

Prints the browser's status line, banners and the count of each event type the page received.
Findings on 2026-11-23 (Firefox ESR 153, aiortc 1.16): with default prefs ICE fails (Firefox offers
its host candidates as mDNS ``.local`` names, which aioice cannot resolve here); with obfuscation off
the peer connects, but no event reached the page over the data channel within 40 s.  Not solved yet.
"""

from __future__ import annotations

import json
import sys
import time

from marionette_driver.by import By
from marionette_driver.marionette import Marionette


def main() -> None:
    url = sys.argv[1]
    prefs = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    m = Marionette(host="127.0.0.1", port=2828, bin="/usr/bin/firefox-esr", headless=True,
                   prefs={"media.navigator.streams.fake": True, "media.navigator.permission.disabled": True,
                          **prefs}, startup_timeout=90)
    m.start_session()
    try:
        m.navigate(url + "/")
        m.find_element(By.ID, "start").click()
        deadline = time.time() + 40
        types: list[str] = []
        while time.time() < deadline:
            types = m.execute_script("return (window.__events || []).map(e => e.type)")
            if "reply" in types and "emotion" in types:
                break
            time.sleep(1)
        print(json.dumps({
            "ua": m.execute_script("return navigator.userAgent"),
            "status": m.find_element(By.ID, "status").text,
            "banners": [b.text for b in m.find_elements(By.CSS_SELECTOR, ".banner")],
            "events": {t: types.count(t) for t in sorted(set(types))},
        }))
    finally:
        m.delete_session()


if __name__ == "__main__":
    main()
