"""The status page in a real headless Chromium against a real server.

Fetching the HTML is not enough: the table is built by app.js from /api/v1/status, so only
a real browser shows that the page, the static files and the API fit together.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

import timeseries
from api.app import create_app
from inventory.db import make_engine
from tests.api.conftest import FakeStore, make_settings, seed_inventory, seed_metrics

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
SCREENSHOT = Path(os.environ.get("CITYWIFI_SCREENSHOT", "/tmp/citywifi-page.png"))


def find_chromium() -> str:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    reason = "headless Chromium not installed (apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so the browser test must run")
    pytest.skip(reason)


@dataclass
class Server:
    url: str
    store: FakeStore


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real uvicorn on a loopback port, serving fixture data with a fake store."""
    tmp = tmp_path_factory.mktemp("page")
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(timeseries.BACKENDS, "fake", "tests.api.conftest:open_fake")
        settings = make_settings(tmp)
        engine = make_engine(settings.db_url)
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
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start within 10 s")
            time.sleep(0.02)
        seed_metrics(app.state.store, now=now)
        try:
            yield Server(url=f"http://127.0.0.1:{port}/", store=app.state.store)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()


def run_chromium(
    url: str, tmp_path: Path, *extra: str, budget_ms: int = 5000
) -> subprocess.CompletedProcess[str]:
    chromium = find_chromium()
    args = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        f"--virtual-time-budget={budget_ms}",
        *extra,
        url,
    ]
    return subprocess.run(args, capture_output=True, text=True, timeout=90, check=False)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_page_renders_live_status(server: Server, tmp_path: Path) -> None:
    done = run_chromium(server.url, tmp_path, "--dump-dom")
    dom = done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    assert "citywifi — live status" in dom
    # Rows exist only if app.js fetched /api/v1/status and rendered it.
    for ap in ("ap-01", "ap-02", "ap-03", "ap-04", "ap-06"):
        assert f'data-ap="{ap}"' in dom, ap
    assert 'data-ap="ap-05"' not in dom  # disabled
    assert re.search(r'id="count-up">3<', dom), dom
    assert re.search(r'id="count-down">1<', dom)
    assert re.search(r'id="count-unknown">1<', dom)
    assert re.search(r'id="count-total">5<', dom)
    text = text_of(dom)
    assert "▼ down" in text  # state in words, not colour alone
    assert "Riverside Park" in text
    assert "2.50" in text  # ap-01 rx 2.5 Mbit/s
    assert "99.5 %" in text  # ap-01 answered 398 of 400 polls
    assert "showing 5 of 5 APs" in text
    assert "last updated" in text
    # ap-01 was last seen 12 s before seeding; allow for a slow browser start.
    assert re.search(r"\b(1[2-9]|[2-5][0-9]) s ago\b", text), text
    assert "never" in text  # ap-04 was never polled
    assert 'id="error" role="alert" hidden' in dom or 'hidden=""' in dom
    # Down sorts first by default: the row to act on is at the top.
    assert dom.index('data-ap="ap-03"') < dom.index('data-ap="ap-01"')


def test_failed_refresh_shows_banner_and_keeps_data(server: Server, tmp_path: Path) -> None:
    server.store.fail_after = 1  # the first poll answers, every later one gets a 503
    try:
        done = run_chromium(server.url, tmp_path, "--dump-dom", budget_ms=8000)
    finally:
        server.store.fail_after = None
        server.store.fail = False
    dom = done.stdout
    banner = re.search(r'<div class="banner" id="error" role="alert">([^<]*)</div>', dom)
    assert banner, dom
    assert "Could not refresh status: HTTP 503 — metric store unavailable" in banner.group(1)
    assert "Showing data from" in banner.group(1)
    for ap in ("ap-01", "ap-03"):
        assert f'data-ap="{ap}"' in dom  # the last good data is still on screen
    assert re.search(r'id="count-up">3<', dom)


def row_order(dom: str) -> list[str]:
    return re.findall(r'data-ap="([^"]+)"', dom)


def test_view_from_url_fragment_filters_and_sorts(server: Server, tmp_path: Path) -> None:
    busiest_first = run_chromium(server.url + "#sort=-clients", tmp_path, "--dump-dom")
    assert row_order(busiest_first.stdout) == ["ap-01", "ap-03", "ap-02", "ap-06", "ap-04"]
    up_in_park = run_chromium(server.url + "#state=up&q=riverside", tmp_path, "--dump-dom")
    assert row_order(up_in_park.stdout) == ["ap-01", "ap-02"]
    assert "showing 2 of 5 APs" in text_of(up_in_park.stdout)


@pytest.mark.parametrize(
    ("size", "path"),
    [("1280,800", SCREENSHOT), ("390,844", SCREENSHOT.with_name(SCREENSHOT.stem + "-phone.png"))],
    ids=["laptop", "phone"],
)
def test_page_screenshot(server: Server, tmp_path: Path, size: str, path: Path) -> None:
    """Leaves PNGs for a person to look at; asserts only that something was drawn."""
    path.unlink(missing_ok=True)
    done = run_chromium(server.url, tmp_path, f"--screenshot={path}", f"--window-size={size}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert path.stat().st_size > 10_000
