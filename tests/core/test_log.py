"""Logging: our lines at the chosen level, libraries' chatter kept out of the way."""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Iterator

import pytest
import urllib3

from core.log import setup_logging


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Logging set up as a process does, into a buffer; the logging state is restored
    afterwards so other tests see pytest's own set-up."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    touched = ["paramiko", "netmiko", "urllib3", "influxdb_client", "alembic"]
    saved = {name: logging.getLogger(name).level for name in touched}
    saved["urllib3.connectionpool"] = logging.getLogger("urllib3.connectionpool").level
    retry = "influxdb_client.client.write.retry"
    saved[retry] = logging.getLogger(retry).level
    buffer = io.StringIO()
    try:
        yield buffer
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _setup(buffer: io.StringIO, level: str) -> None:
    setup_logging(level)
    logging.getLogger().handlers[0].setStream(buffer)  # type: ignore[attr-defined]


def test_library_info_lines_are_quiet_and_ours_are_not(captured: io.StringIO) -> None:
    _setup(captured, "INFO")
    logging.getLogger("citywifi.collector").info("ap00001 up -> down (timeout)")
    logging.getLogger("paramiko.transport").info("Connected (version 2.0, client OpenSSH)")
    logging.getLogger("paramiko.transport").info("Authentication (password) successful!")
    logging.getLogger("netmiko").info("read_channel")
    logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
    logging.getLogger("paramiko.transport").warning("Oops, unhandled type 3")
    lines = captured.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].endswith("citywifi.collector: ap00001 up -> down (timeout)")
    assert lines[1].endswith("paramiko.transport: Oops, unhandled type 3")


def test_retry_warnings_do_not_precede_our_message(captured: io.StringIO) -> None:
    """A store that is down: urllib3 (which influxdb-client uses) warns about each retry
    itself; the line to read is ours, so theirs are held back."""
    _setup(captured, "INFO")
    with socket.socket() as sock:  # a port nobody listens on: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    pool = urllib3.HTTPConnectionPool("127.0.0.1", port, retries=urllib3.Retry(total=1))
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        pool.request("GET", "/health")
    from influxdb_client.client.write.retry import logger as influx_retry

    influx_retry.warning("The retriable error occurred during request. Retry in 5s.")
    logging.getLogger("citywifi.collector").warning("metric store down; batch spooled")
    lines = captured.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].endswith("metric store down; batch spooled")


def test_debug_shows_retries_but_still_not_library_chatter(captured: io.StringIO) -> None:
    _setup(captured, "DEBUG")
    logging.getLogger("urllib3.connectionpool").warning("Retrying (Retry(total=0))")
    logging.getLogger("paramiko.transport").info("Connected (version 2.0)")
    lines = captured.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].endswith("Retrying (Retry(total=0))")
