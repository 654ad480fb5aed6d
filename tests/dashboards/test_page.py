"""The status page in a real headless Chromium against a real server, after logging in.

Fetching the HTML is not enough: the table is built by app.js from /api/v1/status, so only
a real browser shows that the page, the static files and the API fit together.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI, Request
from playwright.sync_api import Locator, expect

from api.deps import get_store
from tests.dashboards.browser import save_screenshots
from timeseries import MetricStore, open_store

if TYPE_CHECKING:
    from tests.dashboards.browser import Tab

REFRESH_MS = 5000  # app.js REFRESH_MS
ALL_APS = 5  # enabled APs of the city


def rows(tab: Tab) -> Locator:
    return tab.page.locator("#rows tr[data-ap]")


@pytest.fixture
def admin(tab: Tab, passwords: Mapping[str, str]) -> Tab:
    """The page, logged in as the admin, with the first status drawn."""
    tab.open()
    tab.log_in("admin", passwords["admin"])
    expect(rows(tab)).to_have_count(ALL_APS)
    return tab


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def row_of(dom: str, ap: str) -> str:
    found = re.search(rf'<tr[^>]*data-ap="{ap}".*?</tr>', dom, re.S)
    assert found, ap
    return found.group(0)


def row_order(tab: Tab) -> list[str]:
    return [r.get_attribute("data-ap") or "" for r in rows(tab).all()]


def test_page_renders_live_status(admin: Tab) -> None:
    dom = admin.page.content()
    # The city's name from /map/config heads the page, and the view's name the tab.
    expect(admin.page.locator("#title")).to_have_text("Bekasi public Wi-Fi")
    assert admin.page.title() == "Operations — Bekasi public Wi-Fi"
    # Rows exist only if app.js fetched /api/v1/status and rendered it.
    assert sorted(row_order(admin)) == ["ap-01", "ap-02", "ap-03", "ap-04", "ap-06"]  # ap-05 off
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
    expect(admin.page.locator("#updated")).to_contain_text("last updated")
    # ap-01 was last seen 12 s before seeding; allow for a slow browser start.
    assert re.search(r"\b(1[2-9]|[2-5][0-9]) s ago\b", text), text
    assert "never" in text  # ap-04 was never polled
    expect(admin.page.locator("#error")).to_be_hidden()
    # Down sorts first by default: the row to act on is at the top.
    assert row_order(admin)[0] == "ap-03"
    # Who is logged in, and the way out.
    expect(admin.page.locator("#who")).to_contain_text("Signed in as admin (admin)")
    expect(admin.page.get_by_role("button", name="Log out")).to_be_visible()
    expect(admin.page.locator("#login-view")).to_be_hidden()


def test_district_and_partner_show_names_not_ids(admin: Tab) -> None:
    dom = admin.page.content()
    park = text_of(row_of(dom, "ap-01"))
    assert "North" in park and "Bank of Example" in park
    assert "d-north" not in park and "p-bank" not in park  # ids only in tooltips
    assert 'title="d-north"' in row_of(dom, "ap-01")
    school = text_of(row_of(dom, "ap-04"))  # a site without a partner
    assert "South" in school and "\u2013" in school  # an en dash: no partner


def test_down_ap_shows_dashes_not_its_last_figures(admin: Tab) -> None:
    """ap-03 reported 7 clients and 13 h uptime before it went down: not shown as now."""
    dom = admin.page.content()
    down = row_of(dom, "ap-03")
    cells = re.findall(r'<td class="num na" title="([^"]*)">([^<]*)</td>', down)
    assert [shown for _title, shown in cells] == ["—"] * 4, down
    assert all(t.startswith("not current: the AP is down; last data 15 min ago") for t, _ in cells)
    assert "13 h" not in text_of(down) and "4.00" not in text_of(down)
    up = text_of(row_of(dom, "ap-01"))
    assert "—" not in up and "2.50" in up


def test_failed_refresh_shows_banner_and_keeps_data(
    tab: Tab,
    passwords: Mapping[str, str],
    page_app: FastAPI,
    page_store: MetricStore,
    tmp_path: Path,
) -> None:
    # The first poll of /status gets the live store, every later one a real store that is closed.
    closed = open_store(f"embedded://{tmp_path / 'closed-store'}")
    closed.close()
    # The page asks several APIs at each poll; only /status is made to fail after its first.
    calls = itertools.count()

    def store_for(request: Request) -> MetricStore:
        if request.url.path != "/api/v1/status":
            return page_store
        return page_store if next(calls) == 0 else closed

    page_app.dependency_overrides[get_store] = store_for
    try:
        tab.page.clock.install()  # the next poll comes when the test says, not in 5 s
        tab.open()
        tab.log_in("admin", passwords["admin"])
        expect(rows(tab)).to_have_count(ALL_APS)
        tab.page.clock.run_for(REFRESH_MS)
        banner = tab.page.locator("#error")
        expect(banner).to_be_visible()
    finally:
        page_app.dependency_overrides.clear()
    expect(banner).to_contain_text("Could not refresh status: HTTP 503 — metric store unavailable")
    expect(banner).to_contain_text("Showing data from")
    expect(rows(tab)).to_have_count(ALL_APS)  # the last good data is still on screen
    expect(tab.page.locator("#count-up")).to_have_text("3")


def test_view_from_url_fragment_filters_and_sorts(admin: Tab) -> None:
    """A bookmarked view opens as bookmarked (the session cookie carries the login)."""

    def reopen(fragment: str) -> None:
        admin.page.goto("about:blank")  # a real load, not just a fragment change
        admin.open(fragment)
        expect(rows(admin).first).to_be_visible()

    # Busiest first; the APs with no current figure (down ap-03, never polled ap-04) last.
    reopen("#sort=-clients")
    assert row_order(admin) == ["ap-01", "ap-02", "ap-06", "ap-03", "ap-04"]
    reopen("#state=up&q=riverside")
    expect(rows(admin)).to_have_count(2)
    assert row_order(admin) == ["ap-01", "ap-02"]
    expect(admin.page.locator("#shown")).to_have_text("showing 2 of 5 APs")
    expect(admin.page.get_by_label("Filter")).to_have_value("riverside")
    reopen("#q=telco")
    expect(rows(admin)).to_have_count(2)
    assert row_order(admin) == ["ap-03", "ap-06"]  # filter matches names too


def test_login_screenshot(tab: Tab, artefacts: Path) -> None:
    tab.open()
    expect(tab.page.get_by_role("button", name="Log in")).to_be_visible()
    for path in save_screenshots(tab, artefacts, "login"):
        assert path.stat().st_size > 5_000
