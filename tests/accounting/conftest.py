"""The receiver's test bench: the NAS inventory in a new SQLite database, a receiver
running in a thread of the test process on a free loopback port (its clock moved by the
test), and a UDP socket to send it exact bytes (e.g. the very same datagram twice, as a
NAS retransmits). radclient and the packet builders are plain helpers in
tests/fixtures/radius.py."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from accounting.server import RadiusServer
from core.settings import Settings
from inventory.db import open_inventory
from tests.fixtures.radius import Clock, Receiver, seed_nases
from tests.fixtures.secret_keys import TEST_KEY, fixed_box


@pytest.fixture
def acct_backend(request: pytest.FixtureRequest) -> str | None:
    """The inventory's database URL: None for SQLite in the data dir (the default); a
    test runs on PostgreSQL too with
    ``@pytest.mark.parametrize("acct_backend", ["sqlite", "postgresql"], indirect=True)``."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return None
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


@pytest.fixture
def acct_settings(tmp_path: Path, acct_backend: str | None) -> Settings:
    """Settings of a receiver on a data dir of its own, sealed with the tests' key."""
    return Settings(data_dir=tmp_path / "data", secret_key=TEST_KEY, database_url=acct_backend)


@pytest.fixture
def acct_engine(acct_settings: Settings) -> Iterator[Engine]:
    """A new SQLite inventory (the settings' db_url) holding :func:`seed_nases`."""
    acct_settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = open_inventory(acct_settings.db_url, create=True)
    seed_nases(engine, fixed_box())
    yield engine
    engine.dispose()


@pytest.fixture
def start_receiver(
    acct_settings: Settings, acct_engine: Engine
) -> Iterator[Callable[..., Receiver]]:
    """Start a receiver on a free port of 127.0.0.1 (``**options`` go to RadiusServer);
    every one started is stopped when the test ends."""
    started: list[Receiver] = []

    def start(**options: Any) -> Receiver:
        clock: Clock = options.pop("clock", Clock())
        server = RadiusServer(acct_settings, acct_engine, fixed_box(), clock=clock, **options)
        ready = threading.Event()
        box: dict[str, Any] = {}

        def main() -> None:
            async def body() -> None:
                stop = asyncio.Event()
                box["stop"] = stop
                box["loop"] = asyncio.get_running_loop()
                try:
                    _host, box["port"] = await server.start("127.0.0.1", 0)
                finally:
                    ready.set()
                await server.serve(stop)

            try:
                asyncio.run(body())
            except BaseException as exc:  # surfaced by the test through .errors
                box.setdefault("errors", []).append(exc)
                ready.set()
            finally:
                server.close()

        thread = threading.Thread(target=main, name="radius-test", daemon=True)
        thread.start()
        assert ready.wait(30), "the receiver did not start"
        if "port" not in box:
            thread.join(5)
            raise AssertionError(f"the receiver failed to start: {box.get('errors')}")
        receiver = Receiver(
            server, box["port"], clock, box["loop"], box["stop"], thread, box.get("errors", [])
        )
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def receiver(start_receiver: Callable[..., Receiver]) -> Receiver:
    """One receiver with the default batching."""
    return start_receiver()


@pytest.fixture
def udp_send() -> Iterator[Callable[..., bytes | None]]:
    """``send(datagram, port, timeout=2.0)``: send raw bytes from one socket, return the
    reply (None after the timeout). The same socket for every call of a test, as a NAS
    resends from the same port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def send(datagram: bytes, port: int, timeout: float = 2.0) -> bytes | None:
        sock.settimeout(timeout)
        sock.sendto(datagram, ("127.0.0.1", port))
        try:
            data, _addr = sock.recvfrom(4096)
        except TimeoutError:
            return None
        return data

    yield send
    sock.close()
