"""Serve ``create_app`` with the fake agent (``tests.fakes.FakeAgent``) in a process of its own: a worker
for the proxy and security tests and the proxy load run.

    python -m tests.serve_fake --port 8001 [--host 127.0.0.1] [--reply-delay 0]

Settings come from ``EMOTION_AGENT_*`` variables as for ``emotion-agent serve`` (``EMOTION_AGENT_SECRET``,
``EMOTION_AGENT_WORKER_ID``, ...).  Exits with code 2 and one line when the bind is refused.
"""

from __future__ import annotations

import argparse
import sys

import uvicorn

from emotion_agent.web.app import create_app
from emotion_agent.web.security import InsecureBindError
from tests.fakes import FakeAgent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.serve_fake")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--reply-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    try:
        app = create_app(lambda _s: FakeAgent(reply_delay_s=args.reply_delay), bind_host=args.host)
    except InsecureBindError as exc:
        print(f"emotion-agent: error: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", ws_max_size=1 << 20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
