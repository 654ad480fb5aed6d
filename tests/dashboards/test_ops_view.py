"""The operations view in a real Chromium against a real server: the map, the live counts,
the open incidents with acknowledge and resolve, the table, and where each role lands.

What is on the page is compared with what the API answers the same session, so the page
cannot show a count, a marker or an incident of its own making.
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

ALL_APS = 5  # enabled APs of the city (tests.api.city)


def log_in(tab: Tab, user: str, passwords: Mapping[str, str], fragment: str = "") -> None:
    tab.open(fragment)
    tab.log_in(user, passwords[user])


@pytest.fixture
def engineer(tab: Tab, passwords: Mapping[str, str]) -> Tab:
    """The operations view as the engineer, with its first poll drawn (table and map)."""
    log_in(tab, "engineer", passwords)
    expect(tab.page.locator("#rows tr[data-ap]")).to_have_count(ALL_APS)
    expect(tab.page.locator(".cw-layer-sites circle").first).to_be_attached()
    return tab


def active_incidents(tab: Tab) -> list[dict[str, Any]]:
    """Open and acknowledged incidents, as the page lists them (merged ones inside theirs)."""
    found = []
    for state in ("open", "acknowledged"):
        found += tab.api(f"/api/v1/incidents?state={state}&limit=200")["data"]
    return [i for i in found if i["merged_into"] is None]


def test_engineer_lands_on_operations_and_the_counts_equal_the_api(engineer: Tab) -> None:
    page = engineer.page
    assert page.url.endswith("/") or "#/ops" in page.url or page.url.endswith("#")
    expect(page.get_by_role("link", name="Operations")).to_have_attribute("aria-current", "page")
    status = engineer.api("/api/v1/status?limit=5000")["summary"]
    for key in ("up", "down", "unknown", "total"):
        expect(page.locator(f"#count-{key}")).to_have_text(str(status[key]))
    sites = engineer.api("/api/v1/map/sites")
    expect(page.locator(".cw-layer-sites circle")).to_have_count(sites["count"])
    summary = sites["summary"]
    legend = page.locator(".cw-map-legend")
    for state in ("up", "degraded", "down", "unknown"):
        expect(legend).to_contain_text(f"{state.capitalize()} ({summary[state]})")
    expect(page.locator("#site-summary")).to_contain_text(f"{summary['total']} sites")
    # Districts drawn with their names, not ids.
    districts = engineer.api("/api/v1/map/districts")["features"]
    drawn = [d for d in districts if d["geometry"]]
    expect(page.locator(".cw-layer-districts path")).to_have_count(len(drawn))
    for d in drawn:
        expect(
            page.locator(".cw-layer-districts text", has_text=d["properties"]["name"])
        ).to_have_count(1)
    incidents = active_incidents(engineer)
    expect(page.locator("#count-incidents")).to_have_text(str(len(incidents)))
    expect(page.locator("#incident-list li[data-incident]")).to_have_count(len(incidents))
    assert engineer.console_errors() == []
    assert engineer.csp_violations() == []


def test_names_not_ids(engineer: Tab) -> None:
    page = engineer.page
    rows = page.locator("#rows")
    expect(rows).to_contain_text("Riverside Park")
    expect(rows).to_contain_text("Bank of Example")
    expect(page.locator('#rows tr[data-ap="ap-01"] a.ap-link')).to_have_attribute(
        "href", "#/ap/ap-01"
    )
    subjects = page.locator(".incident-subject").all_inner_texts()
    assert subjects, "no incidents listed"
    # Incidents name their AP, site or district; the seeded city's ids never stand alone.
    assert not any(re.fullmatch(r"(ap|s|d)-[a-z0-9]+", s) for s in subjects), subjects
    assert "Hill School" in subjects  # site_down s-school
    assert "North" in subjects  # area_outage d-north


def test_acknowledge_and_resolve(engineer: Tab) -> None:
    page = engineer.page
    item = page.locator('#incident-list li[data-incident="1"]')  # ap_down ap-02, open
    expect(item).to_contain_text("Access point down")
    item.get_by_role("button", name="Acknowledge").click()
    expect(item).to_contain_text("acknowledged by engineer")
    expect(item.get_by_role("button", name="Acknowledge")).to_have_count(0)
    assert engineer.api("/api/v1/incidents/1")["state"] == "acknowledged"
    # Resolve, with a note the timeline keeps.
    other = page.locator('#incident-list li[data-incident="2"]')
    other.get_by_role("button", name="Resolve…").click()
    note = other.get_by_label("Note (optional)")
    expect(note).to_be_focused()
    note.press_sequentially("replaced the power")
    # The 5 s refresh redraws the list: what was typed, and the focus, stay.
    with page.expect_response(lambda r: "/api/v1/incidents?state=open" in r.url, timeout=15_000):
        pass
    with page.expect_response(lambda r: "/api/v1/incidents?state=open" in r.url, timeout=15_000):
        pass
    expect(note).to_have_value("replaced the power")
    expect(note).to_be_focused()
    note.press_sequentially(" supply")
    expect(note).to_have_value("replaced the power supply")
    other.get_by_role("button", name="Resolve incident").click()
    expect(other).to_have_count(0)
    resolved = engineer.api("/api/v1/incidents/2")
    assert resolved["state"] == "resolved"
    assert any(e["detail"] == "replaced the power supply" for e in resolved["timeline"])
    expect(page.locator("#count-incidents")).to_have_text(str(len(active_incidents(engineer))))
    assert engineer.console_errors() == []


def test_filter_tiles_and_site_panel(engineer: Tab) -> None:
    page = engineer.page
    page.locator(".tile-down").click()
    expect(page.locator("#rows tr[data-ap]")).to_have_count(1)
    assert "state=down" in page.url
    page.locator(".tile-down").click()
    expect(page.locator("#rows tr[data-ap]")).to_have_count(ALL_APS)
    page.get_by_role("button", name="Riverside Park, Up").click()
    panel = page.locator(".site-panel")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("Riverside Park")
    expect(panel.get_by_role("link")).to_have_count(2)  # ap-01 and ap-02
    panel.get_by_role("link").first.click()
    expect(page.locator("#ap-name")).to_be_visible()
    assert re.search(r"#/ap/ap-0[12]", page.url)


def test_planner_sees_operations_read_only(tab: Tab, passwords: Mapping[str, str]) -> None:
    log_in(tab, "planner", passwords, "#/ops")
    expect(tab.page.locator("#rows tr[data-ap]")).to_have_count(ALL_APS)
    expect(tab.page.get_by_role("link", name="Coverage")).to_be_visible()
    expect(tab.page.locator("#incidents")).to_have_count(0)  # no incidents:read
    expect(tab.page.get_by_role("button", name="Acknowledge")).to_have_count(0)


@pytest.mark.parametrize(
    ("user", "landing"), [("engineer", "ops"), ("planner", "coverage"), ("partner", "partner")]
)
def test_each_role_lands_on_its_first_view(
    tab: Tab, passwords: Mapping[str, str], user: str, landing: str
) -> None:
    log_in(tab, user, passwords)
    expect(tab.page.locator("#status-view")).to_have_attribute("data-view", landing)


def test_partner_cannot_open_operations(tab: Tab, passwords: Mapping[str, str]) -> None:
    log_in(tab, "partner", passwords, "#/ops")
    expect(tab.page.locator("#status-view")).to_have_attribute("data-view", "partner")
    assert tab.page.url.endswith("#/partner")
    expect(tab.page.get_by_role("link", name="Operations")).to_have_count(0)


def test_operations_screenshots(engineer: Tab, artefacts: Path) -> None:
    for path in save_screenshots(
        engineer, artefacts, "operations", ready="#incident-list li[data-incident]"
    ):
        assert path.stat().st_size > 10_000
    assert engineer.console_errors() == []
