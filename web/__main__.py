"""Serve the app: ``python -m emotion_agent.web [--host 127.0.0.1] [--port 8000]``.

The same as ``emotion-agent serve``.  Serving beyond localhost needs ``EMOTION_AGENT_SECRET``
(see docs/DEPLOYING.md); without it this exits with code 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from emotion_agent.web.app import create_app
from emotion_agent.web.security import InsecureBindError


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emotion_agent.web", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        app = create_app(bind_host=args.host)
    except InsecureBindError as exc:
        print(f"emotion-agent: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", ws_max_size=1 << 20)


if __name__ == "__main__":
    main()
