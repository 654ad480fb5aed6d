"""A real uvicorn on a loopback port serving the small city of :mod:`tests.api.city`, on
a SQLite inventory and the real embedded store, with one user per role; and the system
Chromium driven by Playwright, for the page tests.

The page lives behind a login, so every browser test goes in the way a person does:
through the form (:meth:`Tab.log_in`). Each test gets a fresh browser context (no cookies
from the test before) whose console messages, uncaught page errors and content security
policy violations are collected, so any test can assert the page ran cleanly under the
server's CSP.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from inventory.db import open_inventory
from tests.api.city import PASSWORDS, seed_inventory, seed_metrics, seed_users, settings_in
from tests.dashboards.browser import VIOLATION_RECORDER, Tab
from tests.fixtures.database import DatabasePool
from timeseries import MetricStore

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

START_TIMEOUT_S = 10.0
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# The page polls every 5 s; a loaded machine (the suite shares two cores) can take a few
# seconds to start a context or hash a password, so waits are generous (they end early).
WAIT_MS = 20_000


@dataclass(frozen=True)
class _Server:
    url: str
    app: FastAPI
    store: MetricStore


@pytest.fixture(scope="module")
def page_settings_overrides() -> dict[str, Any]:
    """Settings a test module changes for its own server (e.g. a lower login limit)."""
    return {}


@pytest.fixture(scope="module")
def _page_server(
    tmp_path_factory: pytest.TempPathFactory,
    page_settings_overrides: dict[str, Any],
    database_pool: DatabasePool | None,
) -> Iterator[_Server]:
    overrides = dict(page_settings_overrides)
    if database_pool is not None:  # a database of the module's own, not a test's
        overrides["database_url"] = database_pool.dedicated(f"page_{next(_pages)}")
    settings = settings_in(tmp_path_factory.mktemp("page")).model_copy(update=overrides)
    engine = open_inventory(settings.db_url, create=True)
    # Times relative to the real clock: the page computes "12 s ago" from it.
    now = time.time()
    seed_inventory(engine, now=now)
    seed_users(engine)
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
    """The app the module's server runs (for dependency overrides, its engine)."""
    return _page_server.app


@pytest.fixture(scope="module")
def page_store(_page_server: _Server) -> MetricStore:
    """The module server's own embedded store."""
    return _page_server.store


_ARTEFACTS: list[Path] = []
_pages = itertools.count(1)  # the modules' own databases under PostgreSQL


@pytest.fixture(scope="session")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the views' screenshots go: $CITYWIFI_ARTEFACTS if set (CI keeps it), else a
    temporary directory; printed at the end of the run so that a person can look."""
    chosen = os.environ.get("CITYWIFI_ARTEFACTS")
    directory = Path(chosen) if chosen else tmp_path_factory.mktemp("dashboard-screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    _ARTEFACTS.append(directory)
    return directory


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for directory in _ARTEFACTS[:1]:
        terminalreporter.write_line(f"dashboard screenshots: {directory}")


@pytest.fixture(scope="session")
def passwords() -> Mapping[str, str]:
    """User name → password of the users the server was seeded with (one per role;
    "partner" is bound to p-bank, "partner-telco" to p-telco)."""
    return PASSWORDS


# --- the browser ------------------------------------------------------------------------


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so the browser tests must run")
    pytest.skip(reason)


def find_chromium() -> str:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    _unavailable("headless Chromium not installed (apt-get install -y chromium)")


# Module scope, not session: Playwright's sync API keeps its asyncio loop running in the
# main thread while it is started, so every later test calling asyncio.run() would fail.
@pytest.fixture(scope="module")
def _playwright() -> Iterator[Playwright]:
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _unavailable("playwright not installed (pip install -e '.[dev]')")
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def _browser(_playwright: Playwright) -> Iterator[Browser]:
    """The system Chromium (Playwright's own browser downloads are not used)."""
    browser = _playwright.chromium.launch(
        executable_path=find_chromium(),
        headless=True,
        args=["--disable-gpu", "--disable-quic", "--disable-background-networking"],
    )
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def tab(_browser: Browser, page_url: str) -> Iterator[Tab]:
    """A page in a new context (no cookies), collecting console messages and page errors."""
    context = _browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(WAIT_MS)
    context.add_init_script(VIOLATION_RECORDER)
    page = context.new_page()
    found = Tab(url=page_url, context=context, page=page)
    page.on("console", lambda m: found.console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: found.errors.append(str(e)))
    try:
        yield found
    finally:
        context.close()
