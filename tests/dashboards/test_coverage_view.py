"""The coverage view (#/coverage, coverage.js) in the system Chromium against a real server:
as a planner, the per-district table says what /api/v1/coverage says, switching a site off
(in the list or on the map) changes the shown figure to the what-if's, the map draws the
districts, gaps, sites and suggestions with a legend, and nothing logs an error. A
screenshot at desktop and phone width is saved and checked to be a drawn page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect
from sqlalchemy import func, select

from inventory.db import transaction
from inventory.models import DemandPoint
from tests.dashboards.browser import SCREENS, check_not_blank
from tests.fixtures.coverage_city import seed_coverage

if TYPE_CHECKING:
    from tests.dashboards.browser import Tab

VIEW = ".view-coverage"
NO_DATA = "—"


@pytest.fixture(scope="module", autouse=True)
def _demand(page_app: FastAPI) -> None:
    """Demand points (and the boundaries) of the coverage fixture city, so people served
    is a figure: the page server's city has districts and sites but may have no demand."""
    engine = page_app.state.engine
    with transaction(engine) as session:
        have = session.scalar(select(func.count()).select_from(DemandPoint))
    if not have:
        seed_coverage(engine)


def pct(value: float | None, digits: int = 1) -> str:
    """coverage.js's figure format (viewkit.pct): JS toFixed rounds half up on the exact
    binary value, which Decimal of the float reproduces."""
    if value is None:
        return NO_DATA
    if value in (0, 100):
        return f"{value:g} %"
    exact = Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{exact} %"


def what_if(tab: Tab, body: dict[str, Any]) -> Any:
    """POST /coverage/what-if as the logged-in browser (its session cookie, and the CSRF
    header an unsafe request needs)."""
    token = tab.cookie("citywifi_csrf") or ""
    response = tab.context.request.post(
        tab.url.rstrip("/") + "/api/v1/coverage/what-if",
        data=body,
        headers={"X-CSRF-Token": token},
    )
    assert response.ok, (response.status, response.text())
    return response.json()


def open_view(tab: Tab, name: str, password: str) -> None:
    tab.open()
    tab.log_in(name, password)
    expect(tab.page.get_by_role("button", name="Log out")).to_be_visible()
    tab.page.evaluate("location.hash = '#/coverage'")
    expect(tab.page.locator(f"{VIEW} tbody tr[data-district]").first).to_be_visible()


@pytest.fixture
def planner(tab: Tab, passwords: Mapping[str, str]) -> Iterator[Tab]:
    open_view(tab, "planner", passwords["planner"])
    yield tab
    assert tab.console_errors() == []
    assert tab.csp_violations() == []


def cells(tab: Tab, row: str) -> list[str]:
    return [c.strip() for c in tab.page.locator(f"{row} td").all_inner_texts()]


def test_table_equals_the_api(planner: Tab) -> None:
    report = planner.api("/api/v1/coverage")
    rows = planner.page.locator(f"{VIEW} tbody tr[data-district]")
    expect(rows).to_have_count(report["count"])
    assert report["count"] >= 2
    for row in report["data"]:
        got = cells(planner, f'{VIEW} tbody tr[data-district="{row["district"]}"]')
        # District, area, built, now, people, in reach, served now, sites live
        assert got[0] == row["name"]
        assert got[2] == pct(row["designed_pct"])
        assert got[3] == pct(row["live_pct"])
        assert got[5] == pct(row["demand_pct"])
        assert got[6] == pct(row["live_demand_pct"])
        assert got[7] == f"{row['sites_live']} / {row['sites']}"
    city = report["city"]
    foot = cells(planner, f"{VIEW} tfoot tr")
    assert foot[6] == pct(city["live_demand_pct"])
    assert foot[7] == f"{city['sites_live']} / {city['sites']}"
    figure = planner.page.locator(f'{VIEW} [data-figure="city-live-demand"] .figure-value')
    expect(figure).to_have_text(pct(city["live_demand_pct"]))
    # Names, not ids, in the table.
    body = planner.page.locator(f"{VIEW} tbody").first.inner_text()
    assert "d-north" not in body


def test_what_if_changes_the_figure(planner: Tab) -> None:
    page = planner.page
    shown = page.locator(f'{VIEW} [data-figure="whatif-city"]')
    city = planner.api("/api/v1/coverage")["city"]
    expect(shown).to_have_text(pct(city["live_demand_pct"]))
    # Riverside Park is live and serves the demand point it stands on.
    expected = what_if(planner, {"fail": ["s-park"]})["city"]
    assert expected["live_demand_pct_after"] != expected["live_demand_pct_before"]
    page.locator(f'{VIEW} .site-list li[data-site="s-park"] button[role="switch"]').click()
    expect(shown).to_have_text(pct(expected["live_demand_pct_after"]))
    expect(page.locator(f"{VIEW} .whatif-people .lost")).to_contain_text("people lose service")
    marker = page.locator(f'{VIEW} .site-marker[data-id="s-park"]')
    expect(marker).to_have_class(re.compile(r"\bsite-off\b"))
    # "Removed" rather than "down": the built figures move too; the live one the same way.
    removed = what_if(planner, {"remove": ["s-park"]})["city"]
    page.get_by_label("removed (taken away)").check()
    expect(shown).to_have_text(pct(removed["live_demand_pct_after"]))
    # On the map: clicking the marker switches it back on, and the figure returns.
    page.locator(f'{VIEW} .site-marker[data-id="s-park"]').click()
    expect(shown).to_have_text(pct(city["live_demand_pct"]))
    expect(
        page.locator(f'{VIEW} .site-list li[data-site="s-park"] [role="switch"]')
    ).to_have_attribute("aria-checked", "true")


def test_map_draws_layers_and_legend(planner: Tab) -> None:
    page = planner.page
    sites = planner.api("/api/v1/map/sites")
    ids = sorted(f["id"] for f in sites["features"])
    expect(page.locator(f"{VIEW} .site-marker")).to_have_count(len(ids))
    drawn = sorted(
        m.get_attribute("data-id") or "" for m in page.locator(f"{VIEW} .site-marker").all()
    )
    assert drawn == ids
    districts = planner.api("/api/v1/map/districts")
    with_shape = [f for f in districts["features"] if f["geometry"]]
    expect(page.locator(f"{VIEW} path.district-area")).to_have_count(len(with_shape))
    gaps = planner.api("/api/v1/coverage/gaps")
    faults = [f for f in gaps["features"] if f["properties"]["kind"] == "fault"]
    designs = [f for f in gaps["features"] if f["properties"]["kind"] == "design"]
    expect(page.locator(f"{VIEW} path.gap-fault")).to_have_count(len(faults))
    expect(page.locator(f"{VIEW} path.gap-design")).to_have_count(len(designs))
    legend = page.locator(f"{VIEW} .view-legend")
    for label in ("fault: sites down", "design: no site reaches", "down", "suggested new site"):
        expect(legend).to_contain_text(label)
    suggestions = planner.api("/api/v1/coverage/suggestions?k=5&method=optimal&time_limit_s=10")
    items = page.locator(f"{VIEW} .suggestions li")
    expect(items).to_have_count(len(suggestions["sites"]))
    if suggestions["sites"]:
        first = suggestions["sites"][0]
        expect(items.first).to_have_attribute("data-candidate", first["candidate"])
        expect(items.first).to_contain_text(f"+{round(first['added_demand']):,} people")
        # A grid candidate's name is its id: the page says where it is instead.
        assert "grid-" not in items.first.inner_text()


def test_trying_a_suggested_site(planner: Tab) -> None:
    page = planner.page
    found = planner.api("/api/v1/coverage/suggestions?k=5&method=optimal&time_limit_s=10")
    assert found["sites"], "the city should have somewhere to build"
    first = found["sites"][0]
    new = {k: first[k] for k in ("lat", "lon", "radius_m")} | {"id": first["candidate"]}
    expected = what_if(planner, {"add": [new]})["city"]
    assert expected["live_demand_pct_after"] > expected["live_demand_pct_before"]
    item = page.locator(f'{VIEW} .suggestions li[data-candidate="{first["candidate"]}"]')
    item.get_by_role("button", name="Try it").click()
    shown = page.locator(f'{VIEW} [data-figure="whatif-city"]')
    expect(shown).to_have_text(pct(expected["live_demand_pct_after"]))
    expect(page.locator(f"{VIEW} .whatif-people .gained")).to_contain_text("people gain service")
    marker = page.locator(f'{VIEW} .suggestion-marker[data-id="{first["candidate"]}"]')
    expect(marker).to_have_class(re.compile(r"\bis-on\b"))


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_screenshot(tab: Tab, passwords: Mapping[str, str], artefacts: Path, screen: str) -> None:
    width, height = SCREENS[screen]
    tab.page.set_viewport_size({"width": width, "height": height})
    open_view(tab, "planner", passwords["planner"])
    expect(tab.page.locator(f"{VIEW} .suggestions li").first).to_be_visible()
    expect(tab.page.locator(f"{VIEW} .site-marker").first).to_be_visible()
    path = artefacts / f"coverage-{width}.png"
    tab.page.screenshot(path=str(path), full_page=True)  # the whole view, below the fold too
    check_not_blank(path)
    assert tab.console_errors() == []
    # Readable on a phone: nothing wider than the screen but the tables' own scrollers.
    page_width = tab.page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= width, page_width
