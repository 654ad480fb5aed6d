"""A real uvicorn on a loopback port serving the small city of :mod:`tests.api.city`, on
a SQLite inventory and the real embedded store, for the page tests in a browser."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from inventory.db import open_inventory
from tests.api.city import seed_inventory, seed_metrics, settings_in
from timeseries import MetricStore

START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class _Server:
    url: str
    app: FastAPI
    store: MetricStore


@pytest.fixture(scope="module")
def _page_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Server]:
    settings = settings_in(tmp_path_factory.mktemp("page"))
    engine = open_inventory(settings.db_url, create=True)
    # Times relative to the real clock: the page computes "12 s ago" from it.
    now = time.time()
    seed_inventory(engine, now=now)
    engine.dispose()
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # the kernel picks a free port; no race with others
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"uvicorn did not start within {START_TIMEOUT_S} s")
            time.sleep(0.02)
        seed_metrics(app.state.store, now=now)
        yield _Server(url=f"http://127.0.0.1:{port}/", app=app, store=app.state.store)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def page_url(_page_server: _Server) -> str:
    """The status page's URL on the module's server."""
    return _page_server.url


@pytest.fixture(scope="module")
def page_app(_page_server: _Server) -> FastAPI:
    """The app the module's server runs (for dependency overrides)."""
    return _page_server.app


@pytest.fixture(scope="module")
def page_store(_page_server: _Server) -> MetricStore:
    """The module server's own embedded store."""
    return _page_server.store
