"""The map (map.js) with raster tiles from a tile server, and its zoom and pan.

A small tile server on a loopback port stands in for an XYZ tile service; the page's
server is configured with its template (``map_tile_url``), so the CSP must let exactly
those images in, and the map must ask for the tiles that cover what it shows.
"""

from __future__ import annotations

import io
import re
import socket
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image
from playwright.sync_api import expect

if TYPE_CHECKING:
    from tests.dashboards.browser import Tab

ATTRIBUTION = "© Test Tiles contributors"
TILE_PATH = re.compile(r"^/(\d+)/(-?\d+)/(\d+)\.png$")


def _tile_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 220, 200)).save(out, format="PNG")
    return out.getvalue()


class _TileServer(ThreadingHTTPServer):
    requested: list[tuple[int, int, int]]
    png: bytes


class _Tiles(BaseHTTPRequestHandler):
    server: _TileServer

    def do_GET(self) -> None:
        found = TILE_PATH.match(self.path)
        if not found:
            self.send_error(404)
            return
        z, x, y = (int(g) for g in found.groups())
        self.server.requested.append((z, x, y))
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.server.png)))
        self.end_headers()
        self.wfile.write(self.server.png)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read ``requested`` instead."""


@pytest.fixture(scope="module")
def tile_server() -> Iterator[_TileServer]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = _TileServer(("127.0.0.1", port), _Tiles)
    server.requested = []
    server.png = _tile_png()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def page_settings_overrides(tile_server: _TileServer) -> dict[str, Any]:
    port = tile_server.server_address[1]
    return {
        "map_tile_url": f"http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png",
        "map_tile_attribution": ATTRIBUTION,
    }


@pytest.fixture
def ops(tab: Tab, passwords: Mapping[str, str]) -> Tab:
    tab.open()
    tab.log_in("engineer", passwords["engineer"])
    expect(tab.page.locator(".cw-layer-sites circle").first).to_be_attached()
    return tab


def loaded_tiles(tab: Tab) -> int:
    count: int = tab.page.evaluate(
        "[...document.querySelectorAll('img.cw-tile')]"
        ".filter((i) => i.complete && i.naturalWidth === 256).length"
    )
    return count


def test_tiles_load_under_the_csp_and_cover_the_map(ops: Tab, tile_server: _TileServer) -> None:
    page = ops.page
    expect(page.locator(".cw-map-credit")).to_have_text(ATTRIBUTION)
    # (wait_for_function would evaluate a string, which the page's CSP forbids: poll instead)
    expect(page.locator("img.cw-tile").first).to_be_attached()
    shown = page.locator("img.cw-tile").count()
    for _ in range(100):
        if loaded_tiles(ops) == shown:
            break
        page.wait_for_timeout(100)
    assert loaded_tiles(ops) == shown
    # A tile is 256 px: the map box (about 780 by 460 px) needs from 2 by 2 to 5 by 4.
    assert 4 <= shown <= 20, shown
    zooms = {z for z, _x, _y in tile_server.requested}
    assert len(zooms) == 1, zooms
    assert ops.csp_violations() == []
    assert ops.console_errors() == []


def test_zoom_keeps_markers_one_size_and_asks_for_finer_tiles(
    ops: Tab, tile_server: _TileServer
) -> None:
    page = ops.page
    marker = page.locator(".cw-layer-sites circle").first
    expect(page.locator("img.cw-tile").first).to_be_attached()
    before_z = max(z for z, _x, _y in tile_server.requested)
    before = marker.bounding_box()
    assert before
    page.get_by_role("button", name="Zoom in").click()
    expect(page.locator(f'img.cw-tile[src*="/{before_z + 1}/"]').first).to_be_attached()
    after = marker.bounding_box()
    assert after
    assert after["width"] == pytest.approx(before["width"], abs=0.5)  # constant pixel size
    assert (after["x"], after["y"]) != (before["x"], before["y"])  # but it moved apart
    # The finer tile's <img> is in the page once its request is sent, not answered: give
    # the request up to 10 s to reach the tile server (a loaded machine runs late).
    for _ in range(100):
        if any(z == before_z + 1 for z, _x, _y in tile_server.requested):
            break
        page.wait_for_timeout(100)
    assert any(z == before_z + 1 for z, _x, _y in tile_server.requested)


def test_drag_pans_and_wheel_zooms(ops: Tab) -> None:
    page = ops.page
    marker = page.locator(".cw-layer-sites circle").first
    start = marker.bounding_box()
    box = page.locator(".cw-map").bounding_box()
    assert start and box
    # Drag from an empty corner of the map, 120 px right and 60 px down.
    x0, y0 = box["x"] + box["width"] - 40, box["y"] + 40
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 60, y0 + 30, steps=4)
    page.mouse.move(x0 + 120, y0 + 60, steps=4)
    page.mouse.up()
    page.wait_for_timeout(100)
    moved = marker.bounding_box()
    assert moved
    assert moved["x"] - start["x"] == pytest.approx(120, abs=2)
    assert moved["y"] - start["y"] == pytest.approx(60, abs=2)
    # The wheel zooms around the pointer: the point under it stays put.
    page.mouse.move(moved["x"] + moved["width"] / 2, moved["y"] + moved["height"] / 2)
    page.mouse.wheel(0, -200)
    page.wait_for_timeout(100)
    zoomed = marker.bounding_box()
    assert zoomed
    assert zoomed["x"] == pytest.approx(moved["x"], abs=2)
    assert zoomed["y"] == pytest.approx(moved["y"], abs=2)
    # A drag is not a click: no site panel opened.
    expect(page.locator(".site-panel")).to_be_hidden()
    assert ops.console_errors() == []
