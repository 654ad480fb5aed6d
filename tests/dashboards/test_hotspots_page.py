"""The public hotspot status page (/hotspots) in a real Chromium, with no login: a map and a
list of every hotspot /public/hotspots lists, with its district, whether it works and
whether a fix is under way, and the way from a hotspot to reporting a problem there.

What the page shows is compared with what /public/hotspots answers, so the page can show
no hotspot, state or count of its own making; a hotspot's fix is put under way through
the engineers' API (acknowledging its incident) to see the page say so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import expect

from tests.dashboards.browser import save_screenshots

if TYPE_CHECKING:
    from tests.dashboards.browser import Tab

STATE_WORD = {"up": "Working", "down": "Not working", "unknown": "Not checked yet"}


@pytest.fixture(scope="module")
def page_settings_overrides() -> dict[str, Any]:
    return {"public_cache_s": 0.0}  # an acknowledged incident shows at the next load


def public_hotspots(tab: Tab) -> dict[str, Any]:
    response = tab.page.request.get(tab.url + "public/hotspots")
    assert response.ok
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def visitor(tab: Tab) -> Tab:
    """The status page on a phone, its list drawn."""
    tab.page.set_viewport_size({"width": 390, "height": 844})
    response = tab.open("hotspots")
    assert response.status == 200
    expect(tab.page.locator("#hotspot-list li[data-site]").first).to_be_visible()
    return tab


def acknowledge_an_incident(tab: Tab, passwords: Mapping[str, str]) -> None:
    """The engineer takes on the school's site_down incident (4): a fix is under way."""
    tab.open()
    tab.log_in("engineer", passwords["engineer"])
    expect(tab.page.locator("#rows tr[data-ap]").first).to_be_visible()
    response = tab.page.request.post(
        tab.url + "api/v1/incidents/4/ack",
        data={},
        headers={"X-CSRF-Token": tab.cookie("citywifi_csrf") or ""},
    )
    assert response.ok, response.text()


def test_every_hotspot_with_its_state_as_the_public_route_says(
    tab: Tab, passwords: Mapping[str, str]
) -> None:
    acknowledge_an_incident(tab, passwords)
    tab.context.clear_cookies()  # the public page is seen as a citizen sees it
    tab.page.set_viewport_size({"width": 390, "height": 844})
    tab.open("hotspots")
    page = tab.page
    items = page.locator("#hotspot-list li[data-site]")
    expect(items.first).to_be_visible()
    body = public_hotspots(tab)
    features = body["features"]
    expect(items).to_have_count(body["count"])
    expect(page.locator("#hotspots-map .cw-layer-hotspots circle")).to_have_count(body["count"])
    for f in features:
        p = f["properties"]
        item = page.locator(f'#hotspot-list li[data-site="{p["id"]}"]')
        expect(item.locator(".hotspot-name")).to_have_text(p["name"])
        expect(item).to_contain_text(p["district"])
        expect(item.locator(".state")).to_contain_text(STATE_WORD[p["state"]])
        expect(item.locator(".fixing")).to_have_count(1 if p["fix_under_way"] else 0)
        expect(item.get_by_role("link", name="Report a problem here")).to_have_attribute(
            "href", f"/report?site={p['id']}"
        )
    fixing = [f for f in features if f["properties"]["fix_under_way"]]
    assert [f["id"] for f in fixing] == ["s-school"]
    up = sum(f["properties"]["state"] == "up" for f in features)
    down = sum(f["properties"]["state"] == "down" for f in features)
    summary = page.locator("#summary")
    expect(summary).to_contain_text(f"{body['count']} hotspots: {up} working, {down} not working")
    expect(summary).to_contain_text("a fix under way at 1")
    # Names, never the ids, in what a citizen reads.
    text = page.locator("main").inner_text()
    assert not re.search(r"\b(s|d|ap)-[a-z0-9]+\b", text), text
    assert tab.console_errors() == []
    assert tab.csp_violations() == []


def test_marker_list_filter_and_the_way_to_report(visitor: Tab) -> None:
    page = visitor.page
    page.get_by_role("button", name=re.compile(r"^Central Market, ")).click()
    picked = page.locator('#hotspot-list li[data-site="s-market"]')
    expect(picked).to_have_class(re.compile(r"\bis-picked\b"))
    expect(picked).to_be_focused()
    expect(page.locator("#hotspots-map .hotspot-picked")).to_have_count(1)
    page.get_by_label("Find a hotspot").fill("south")  # a district's name
    expect(page.locator("#hotspot-list li[data-site]")).to_have_count(1)
    expect(page.locator("#hotspot-list")).to_contain_text("Hill School")
    page.get_by_label("Find a hotspot").fill("nowhere at all")
    expect(page.locator("#hotspot-list")).to_contain_text("No hotspot matches.")
    page.get_by_label("Find a hotspot").fill("")
    picked.get_by_role("link", name="Report a problem here").click()
    expect(page).to_have_url(re.compile(r"/report\?site=s-market$"))
    expect(page.locator("#site")).to_have_value("s-market")
    expect(page.locator("#where-note")).to_contain_text("Reporting about Central Market")
    assert visitor.console_errors() == []
    assert visitor.csp_violations() == []


def test_panels_stack_on_a_phone_and_sit_side_by_side_on_a_laptop(visitor: Tab) -> None:
    page = visitor.page
    map_box = page.locator(".hotspots-map-card").bounding_box()
    list_box = page.locator(".hotspots-list-card").bounding_box()
    assert map_box and list_box
    assert list_box["y"] >= map_box["y"] + map_box["height"]  # below the map
    assert list_box["width"] > 300
    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_timeout(200)
    map_box = page.locator(".hotspots-map-card").bounding_box()
    list_box = page.locator(".hotspots-list-card").bounding_box()
    assert map_box and list_box
    assert list_box["x"] >= map_box["x"] + map_box["width"]  # beside it
    assert abs(list_box["y"] - map_box["y"]) < 2


def test_hotspots_screenshots(visitor: Tab, artefacts: Path) -> None:
    for path in save_screenshots(
        visitor, artefacts, "hotspots", ready="#hotspot-list li[data-site]"
    ):
        assert path.stat().st_size > 10_000
    assert visitor.console_errors() == []
