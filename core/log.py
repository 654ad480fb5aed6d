"""Logging set-up shared by every citywifi process: one line per event, to stderr."""

from __future__ import annotations

import logging


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
        force=True,
    )
    # pysnmp and the HTTP stack are chatty at INFO; their warnings still show.
    for noisy in ("pysnmp", "asyncio", "asyncssh", "httpx", "urllib3", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
