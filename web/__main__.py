"""Serve the app: ``python -m web [--host 127.0.0.1] [--port 8000] [--fake]``.

``--fake`` serves the model-free fake agent of the tests (plumbing demos without weights).
"""

from __future__ import annotations

import argparse
import logging

import uvicorn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m web", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--fake", action="store_true", help="use tests.fakes.FakeAgent (no models)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from web.app import create_app

    factory = None
    if args.fake:
        from tests.fakes import FakeAgent

        def factory(_settings: object) -> FakeAgent:
            return FakeAgent()

    uvicorn.run(create_app(factory), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
