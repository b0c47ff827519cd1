"""Alerting a human when the risk screen fires: a host callback and an optional webhook.

Neither carries the user's words: the payload is the session id, kind, severity, the rule or model
score that fired and a timestamp (``alert_payload``).  The webhook POSTs JSON from a worker thread
with a short timeout; a failing webhook is logged (without payload text) and never blocks a turn.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from emotion_agent.core.frames import EscalationFrame

log = logging.getLogger(__name__)

EscalationHook = Callable[[str, EscalationFrame], None]
"""``hook(session_id, escalation)``: called on the event loop for every escalation."""


def alert_payload(session_id: str, event: EscalationFrame) -> dict[str, Any]:
    return {"session": session_id, "kind": event.kind, "severity": event.severity, "source": event.source,
            "rule": event.rule if event.rule in ("classifier", "second_classifier")
            else ("pattern" if event.rule else ""),
            "score": None if event.score is None else round(event.score, 4), "turn": event.turn,
            "t": round(time.time(), 3)}


def post_webhook(url: str, payload: dict[str, Any], timeout_s: float = 5.0) -> bool:
    """POST ``payload`` as JSON; True on a 2xx answer.  Runs in a worker thread."""
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return 200 <= int(response.status) < 300
    except Exception as exc:
        log.warning("escalation webhook failed: %s", type(exc).__name__)
        return False
