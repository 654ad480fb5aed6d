"""The access point view in a real Chromium: who and where the AP is, its charts over the
chosen range, its state changes and incident history.

The module's server gets a day of history for ap-01 (every 5 min, as the collector would
write it) and a few state changes, so that the charts and lists have something to draw.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect

from inventory.db import transaction
from inventory.models import ApEvent
from tests.api.city import sample
from tests.dashboards.browser import save_screenshots
from timeseries import MetricStore

if TYPE_CHECKING:
    from tests.dashboards.browser import Tab

CHARTS = ("clients", "traffic", "availability", "cpu", "sessions")
STEP_S = 300
DAY_S = 86400
# A path that draws something: "M…" with at least one "L" segment.
DRAWN = re.compile(r"^M[\d.\-]+ [\d.\-]+L")


@pytest.fixture(scope="module", autouse=True)
def _history(page_store: MetricStore, page_app: FastAPI) -> None:
    """A day of ap-01 samples (a gap of an hour where it did not answer) and its events."""
    now = time.time()
    samples = []
    for k in range(DAY_S // STEP_S):
        ts = now - DAY_S + k * STEP_S
        if 6 * 3600 <= now - ts < 7 * 3600:
            continue  # no answer for an hour: a gap in every chart
        day = math.sin(2 * math.pi * k * STEP_S / DAY_S)
        samples.append(
            sample(
                "ap-01", ts, reachable=1, clients=20 + 15 * day, rx_bps=4e6 + 3e6 * day,
                tx_bps=1.5e6 + 1e6 * day, cpu_pct=30 + 20 * day, hotspot_sessions=12 + 8 * day,
            )
        )  # fmt: skip
    page_store.write(samples)
    with transaction(page_app.state.engine) as s:
        s.add_all(
            [
                ApEvent(ap_id="ap-01", at=now - 7 * 3600, from_state="up", to_state="down",
                        cause="timeout", detail=None),
                ApEvent(ap_id="ap-01", at=now - 6 * 3600, from_state="down", to_state="up",
                        cause="answered", detail=None),
            ]
        )  # fmt: skip


@pytest.fixture
def ap_page(tab: Tab, passwords: Mapping[str, str]) -> Tab:
    tab.open("#/ap/ap-01")
    tab.log_in("engineer", passwords["engineer"])
    expect(tab.page.locator("#ap-name")).not_to_have_text("ap-01")  # its name came
    return tab


def test_ap_page_names_the_ap_and_where_it_is(ap_page: Tab) -> None:
    page = ap_page.page
    row = next(r for r in ap_page.api("/api/v1/status?limit=5000")["data"] if r["ap_id"] == "ap-01")
    expect(page.locator("#ap-name")).to_have_text(row["name"])
    facts = page.locator("#ap-facts")
    expect(facts).to_contain_text("Riverside Park")
    expect(facts).to_contain_text("North")
    expect(facts).to_contain_text("Bank of Example")
    expect(page.locator("#ap-state")).to_contain_text(row["state"])
    assert ap_page.console_errors() == []


def test_ap_page_draws_its_charts_with_units(ap_page: Tab) -> None:
    page = ap_page.page
    for key in CHARTS:
        card = page.locator(f'.chart-card[data-chart="{key}"]')
        expect(card.locator("svg.cw-chart-svg")).to_be_visible()
        # A line was drawn from the stored history (not just the "no data" text).
        expect(card.locator(".cw-series path").first).to_have_attribute("d", DRAWN)
    traffic = page.locator('.chart-card[data-chart="traffic"]')
    expect(traffic.locator(".cw-chart-legend")).to_contain_text("Received (Mbit/s)")
    expect(traffic.locator(".cw-chart-legend")).to_contain_text("Sent (Mbit/s)")
    expect(traffic.locator(".cw-chart-unit")).to_have_text("Mbit/s")
    # The hour without answers is a gap: the clients line is in two pieces at least.
    d = page.locator('.chart-card[data-chart="clients"] .cw-series path').first.get_attribute("d")
    assert d and d.count("M") >= 2, d
    # The hover read-out says a value with its unit.
    box = page.locator('.chart-card[data-chart="cpu"] svg').bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    readout = page.locator('.chart-card[data-chart="cpu"] .cw-chart-readout')
    expect(readout).to_be_visible()
    expect(readout).to_contain_text("%")
    assert ap_page.console_errors() == []


def test_ranges_switch_and_stay_in_the_url(ap_page: Tab) -> None:
    page = ap_page.page
    week = page.get_by_role("button", name="7 d")
    with page.expect_request(lambda r: "/series?metric=clients" in r.url) as asked:
        week.click()
    expect(week).to_have_attribute("aria-pressed", "true")
    assert "range=7d" in page.url
    start = float(asked.value.url.split("start=")[1].split("&")[0])
    end = float(asked.value.url.split("end=")[1].split("&")[0])
    assert end - start == pytest.approx(7 * DAY_S, abs=2)


def test_events_and_incident_history(ap_page: Tab) -> None:
    page = ap_page.page
    events = page.locator("#ap-events li.event")
    expect(events).to_have_count(2)
    expect(events.first).to_contain_text("down → up")
    expect(page.locator("#ap-events")).to_contain_text("no answer (timeout)")
    incidents = ap_page.api("/api/v1/aps/ap-01/incidents?limit=30")["data"]
    expect(page.locator("#ap-incidents li.event")).to_have_count(len(incidents))
    expect(page.locator("#ap-incidents")).to_contain_text("Area outage")


def test_unknown_ap_says_so(tab: Tab, passwords: Mapping[str, str]) -> None:
    tab.open("#/ap/ap-nope")
    tab.log_in("engineer", passwords["engineer"])
    expect(tab.page.locator("#error")).to_contain_text("ap-nope")


def test_ap_screenshots(ap_page: Tab, artefacts: Path) -> None:
    expect(ap_page.page.locator('.chart-card[data-chart="clients"] .cw-series path')).to_have_count(
        1
    )
    for path in save_screenshots(
        ap_page, artefacts, "access-point", ready='.chart-card[data-chart="cpu"] .cw-series path'
    ):
        assert path.stat().st_size > 10_000
    assert ap_page.console_errors() == []
