"""The partner view (#/partner, partner.js) in the system Chromium against a real server: a
partner sees its own sites only (the map's markers and the table's rows are what
/api/v1/map/sites gives it, and no other partner's site is named anywhere on the page), its
availability this month against its SLA as the usage report says, and links to its reports
that download; staff pick the partner. A screenshot at desktop and phone width is saved and
checked to be a drawn page.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect

from tests.dashboards.browser import SCREENS, check_not_blank
from tests.fixtures.report_city import PolledAp
from timeseries import MetricStore, Sample

if TYPE_CHECKING:
    from tests.dashboards.browser import Tab

VIEW = ".view-partner"
NO_DATA = "—"
# The seeded city (tests/api/city.py): who sponsors which site.
SITE_NAMES = {
    "p-bank": {"Riverside Park", "New Library"},
    "p-telco": {"Central Market"},
}
CITY_OWN = {"Hill School"}
POLL_S = 600  # the history's poll interval


@pytest.fixture(scope="module", autouse=True)
def _history(page_app: FastAPI, page_store: MetricStore) -> None:
    """Polls of the partners' APs over this month so far (at most a week of it), as the
    collector writes them, so the month's availability, traffic and daily trend are
    figures: Riverside Park's ap-02 misses one poll in six (its site falls below the 95 %
    target), Central Market's ap-03 one in twenty."""
    now = time.time()
    zone = ZoneInfo(page_app.state.settings.city_timezone)
    local = datetime.fromtimestamp(now, zone)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()
    start = max(month_start, now - 7 * 86400) + 1
    aps = [
        (PolledAp("ap-01", "s-park", "d-north", "p-bank", booted_at=start - 3600), 0),
        (PolledAp("ap-02", "s-park", "d-north", "p-bank", booted_at=start - 3600), 6),
        (PolledAp("ap-03", "s-market", "d-north", "p-telco", booted_at=start - 3600), 20),
        (PolledAp("ap-06", "s-market", "d-north", "p-telco", booted_at=start - 3600), 0),
    ]
    samples: list[Sample] = []
    for ap, miss_every in aps:
        for n, ts in enumerate(range(int(start), int(now) - 60, POLL_S)):
            if miss_every and n % miss_every == miss_every - 1:
                ap.down(float(ts))
                continue
            ap.carry(rx=2_000_000 + 5_000 * (n % 40), tx=400_000)
            ap.poll(float(ts), clients=float(5 + n % 12))
        samples.extend(ap.samples)
    page_store.write(samples)


def pct(value: float | None, digits: int = 1) -> str:
    """partner.js's figure format (viewkit.pct), rounding half up like JS toFixed."""
    if value is None:
        return NO_DATA
    if value in (0, 100):
        return f"{value:g} %"
    exact = Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{exact} %"


def open_view(tab: Tab, name: str, password: str) -> None:
    tab.open()
    tab.log_in(name, password)
    expect(tab.page.get_by_role("button", name="Log out")).to_be_visible()
    if not tab.page.evaluate("location.hash").startswith("#/partner"):
        tab.page.evaluate("location.hash = '#/partner'")
    expect(tab.page.locator(f"{VIEW} tbody tr[data-site]").first).to_be_visible()


def clean(tab: Tab) -> None:
    assert tab.console_errors() == []
    assert tab.csp_violations() == []


@pytest.fixture
def bank(tab: Tab, passwords: Mapping[str, str]) -> Iterator[Tab]:
    open_view(tab, "partner", passwords["partner"])
    yield tab
    clean(tab)


def month_now(timezone: str) -> str:
    return datetime.now(ZoneInfo(timezone)).strftime("%Y-%m")


def shown_sites(tab: Tab) -> tuple[list[str], list[str]]:
    """The site ids of the map's markers and of the table's rows, sorted."""
    markers = tab.page.locator(f"{VIEW} .site-marker")
    rows = tab.page.locator(f"{VIEW} tbody tr[data-site]")
    return (
        sorted(m.get_attribute("data-id") or "" for m in markers.all()),
        sorted(r.get_attribute("data-site") or "" for r in rows.all()),
    )


@pytest.mark.parametrize("user", ["partner", "partner-telco"])
def test_partner_sees_only_its_sites(tab: Tab, passwords: Mapping[str, str], user: str) -> None:
    open_view(tab, user, passwords[user])
    me = tab.api("/api/v1/auth/me")
    sites = tab.api("/api/v1/map/sites")
    ids = sorted(f["id"] for f in sites["features"])
    assert ids and all(f["properties"]["partner"] == me["partner"] for f in sites["features"])
    expect(tab.page.locator(f"{VIEW} .site-marker")).to_have_count(len(ids))
    expect(tab.page.locator(f"{VIEW} tbody tr[data-site]")).to_have_count(len(ids))
    assert shown_sites(tab) == (ids, ids)
    expect(tab.page.locator(f"{VIEW} .view-head h2")).to_have_text(me["partner_name"])
    text = tab.page.locator("body").inner_text()
    markup = tab.page.content()
    for name in {f["properties"]["name"] for f in sites["features"]}:
        assert name in text
    others = set().union(*(n for p, n in SITE_NAMES.items() if p != me["partner"])) | CITY_OWN
    for name in others:
        assert name not in markup, name
    # A partner has nobody to choose from.
    expect(tab.page.locator("#partner-pick")).to_have_count(0)
    clean(tab)


def test_availability_against_the_sla(bank: Tab, page_app: FastAPI) -> None:
    page = bank.page
    month = month_now(page_app.state.settings.city_timezone)
    report = bank.api(f"/api/v1/reports/usage?partner=p-bank&month={month}")
    totals = report["totals"]
    tile = page.locator(f'{VIEW} [data-figure="availability"]')
    expect(tile.locator(".figure-value")).to_have_text(pct(totals["availability_pct"], 2))
    expect(tile).to_contain_text(pct(report["sla_target_pct"]))
    if totals["sla_met"] is not None:
        expect(tile).to_contain_text("meets" if totals["sla_met"] else "below")
    expect(page.locator(f"{VIEW} .view-sub")).to_contain_text(
        f"SLA target {pct(report['sla_target_pct'])}"
    )
    bars = page.locator(f"{VIEW} .sla-bars li[data-site]")
    expect(bars).to_have_count(len(report["sites"]))
    for site in report["sites"]:
        bar = page.locator(f'{VIEW} .sla-bars li[data-site="{site["site"]}"]')
        expect(bar).to_contain_text(site["name"])
        expect(bar.locator(".sla-value")).to_have_text(pct(site["figures"]["availability_pct"], 2))
    expect(page.locator(f"{VIEW} .cw-chart")).to_have_count(1)


def test_reports_download(bank: Tab) -> None:
    links = bank.page.locator(f"{VIEW} .downloads a")
    expect(links).to_have_count(4)  # this month and last, PDF and CSV
    months = bank.page.locator(f"{VIEW} .downloads li").evaluate_all(
        "items => items.map((li) => li.dataset.month)"
    )
    assert len(months) == 2 and months[0] > months[1]
    for link in links.all():
        href = link.get_attribute("href") or ""
        assert href.startswith("/api/v1/reports/usage?partner=p-bank&month="), href
        response = bank.context.request.get(bank.url.rstrip("/") + href)
        assert response.ok, (href, response.status)
        kind = link.get_attribute("data-format")
        if kind == "pdf":
            assert response.headers["content-type"] == "application/pdf"
            assert response.body().startswith(b"%PDF")
        else:
            assert response.headers["content-type"].startswith("text/csv")
            assert "attachment" in response.headers["content-disposition"]


def test_staff_pick_the_partner(tab: Tab, passwords: Mapping[str, str]) -> None:
    open_view(tab, "admin", passwords["admin"])
    picker = tab.page.locator("#partner-pick")
    expect(picker).to_be_visible()
    options = picker.locator("option").all_inner_texts()
    assert sorted(options) == ["Bank of Example", "Telco Ltd"]
    picker.select_option(label="Telco Ltd")
    telco = sorted(f["id"] for f in tab.api("/api/v1/map/sites?partner=p-telco")["features"])
    expect(tab.page.locator(f"{VIEW} .view-head h2")).to_have_text("Telco Ltd")
    expect(tab.page.locator(f"{VIEW} tbody tr[data-site]")).to_have_count(len(telco))
    assert shown_sites(tab) == (telco, telco)
    expect(tab.page.locator(f"{VIEW} .downloads a").first).to_have_attribute(
        "href", re.compile(r"partner=p-telco&")
    )
    clean(tab)


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_screenshot(tab: Tab, passwords: Mapping[str, str], artefacts: Path, screen: str) -> None:
    width, height = SCREENS[screen]
    tab.page.set_viewport_size({"width": width, "height": height})
    open_view(tab, "partner", passwords["partner"])
    expect(tab.page.locator(f"{VIEW} .sla-bars li").first).to_be_visible()
    expect(tab.page.locator(f"{VIEW} .cw-chart")).to_have_count(1)
    path = artefacts / f"partner-{width}.png"
    tab.page.screenshot(path=str(path), full_page=True)  # the whole view, below the fold too
    check_not_blank(path)
    page_width = tab.page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= width, page_width
    clean(tab)
