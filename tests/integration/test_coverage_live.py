"""Simulated city over real UDP → collector → coverage: a district's power cut drops that
district's live coverage, and the coverage it lost shows as fault gaps naming its sites;
when the power is back, live coverage is what it was before and no fault gap is left.

The simulator is a real process (its control API cuts the power) that also writes the
city's district boundaries and demand points, imported beside its inventory as a city
would import its GIS office's files. The collector runs here, cycle by cycle
(:class:`~tests.fixtures.live_city.LiveCity`), so the test counts poll intervals instead of
guessing at wall-clock time; coverage is read straight from the inventory database the
collector writes (``planning.load_inputs``), with no API in between. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.access import Scope
from inventory import import_file
from inventory.secretbox import load_box
from planning import (
    AreaCoverage,
    CoverageReport,
    Gap,
    city_geometry,
    coverage_report,
    find_gaps,
    load_inputs,
)
from tests.fixtures.live_city import (
    LiveCity,
    live_settings,
    read_city,
    start_simulator,
    the_district_with_most_sites,
)
from tests.fixtures.processes import Proc

# The inventory is the run's database (--database): CITYWIFI_DATABASE_URL under PostgreSQL.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("database_url")]

BASE = "127.1.216.1"
APS = 100  # seed 11: 52 sites in 10 districts; the one with most sites has 9
INTERVAL_S = 2.0  # between the starts of two poll cycles
MAX_INTERVALS = 4  # down_after_failures (2) polls to judge a site down, and some slack
REL = 0.005  # areas: the same 128-gons cut the same way, so only float noise differs


@dataclass(frozen=True)
class Picture:
    """Coverage as the planner would see it now: the report and the fault gaps."""

    report: CoverageReport
    fault_gaps: tuple[Gap, ...]
    live_sites: frozenset[str]

    def district(self, district_id: str) -> AreaCoverage:
        (row,) = (d for d in self.report.districts if d.district == district_id)
        return row

    def fault_area_in(self, district_id: str) -> float:
        return sum(g.area_m2 for g in self.fault_gaps if g.district == district_id)


def picture(city: LiveCity) -> Picture:
    with Session(city.db) as session:
        inputs = load_inputs(session, Scope(), city.settings)
    geometry = city_geometry(inputs)
    gaps = find_gaps(inputs, geometry, kind="fault")
    assert all(g.kind == "fault" for g in gaps.gaps), gaps
    return Picture(
        report=coverage_report(inputs, geometry),
        fault_gaps=gaps.gaps,
        live_sites=frozenset(s.id for s in inputs.sites if s.live),
    )


def approx(value: float | None) -> Any:
    return pytest.approx(value, rel=REL, abs=1.0)


def test_a_district_power_cut_shows_in_live_coverage_and_fault_gaps(
    spawn: Callable[..., Proc], tmp_path: Path
) -> None:
    districts_file = tmp_path / "districts.geojson"
    demand_file = tmp_path / "demand.csv"
    inventory, control = start_simulator(
        spawn,
        tmp_path,
        aps=APS,
        base=BASE,
        extra=["--districts-out", str(districts_file), "--demand-out", str(demand_file)],
    )
    doc = read_city(inventory)
    target = the_district_with_most_sites(doc)
    all_sites = {str(s["id"]) for s in doc["sites"]}
    dark_sites = {str(s["id"]) for s in doc["sites"] if s["district"] == target}
    settings = live_settings(tmp_path, INTERVAL_S, area_min_sites=3)
    city = LiveCity(settings, inventory, control)
    for path in (districts_file, demand_file):
        import_file(city.db, path, load_box(settings))

    async def scenario() -> tuple[Picture, Picture, Picture]:
        async with city:
            await city.intervals_until(lambda: picture(city).live_sites == all_sites, MAX_INTERVALS)
            before = picture(city)
            fault = await city.inject("district_power", target, 600)
            await city.intervals_until(
                lambda: not picture(city).live_sites & dark_sites, MAX_INTERVALS
            )
            during = picture(city)
            await city.end(fault)
            await city.intervals_until(lambda: picture(city).live_sites == all_sites, MAX_INTERVALS)
            return before, during, picture(city)

    try:
        before, during, after = asyncio.run(scenario())
    finally:
        city.close()

    # All up: live is designed everywhere, and nothing is a fault gap.
    assert before.fault_gaps == ()
    for row in (*before.report.districts, before.report.city):
        assert row.area_m2 is not None and row.area_m2 > 0, row
        assert row.live_m2 == approx(row.designed_m2), row
        assert row.demand_live == row.demand_designed, row
    dark = before.district(target)
    assert dark.designed_pct is not None and dark.designed_pct > 0, dark

    # The power cut: exactly the district's sites are down, and its live coverage drops.
    assert during.live_sites == frozenset(all_sites - dark_sites)
    cut = during.district(target)
    assert cut.designed_m2 == approx(dark.designed_m2)  # the design did not change
    assert cut.live_pct is not None and cut.designed_pct is not None
    assert cut.live_pct < cut.designed_pct / 4, cut  # only neighbours' discs reach into it
    assert cut.sites_live < cut.sites, cut
    drops = {
        row.district: (row.designed_m2 or 0.0) - (row.live_m2 or 0.0)
        for row in during.report.districts
    }
    assert max(drops, key=lambda d: drops[d]) == target, drops
    city_cut = during.report.city
    assert city_cut.demand_live < city_cut.demand_designed, city_cut  # people lose service

    # The lost area is the fault gaps, each naming down sites of the dark district only.
    assert during.fault_gaps, "a district in the dark and no fault gap"
    assert {g.district for g in during.fault_gaps} >= {target}
    for gap in during.fault_gaps:
        assert gap.sites and set(gap.sites) <= dark_sites, gap
        assert gap.area_m2 > 0 and gap.geometry["type"] in ("Polygon", "MultiPolygon"), gap
    for row in during.report.districts:
        assert row.district is not None
        lost = (row.designed_m2 or 0.0) - (row.live_m2 or 0.0)
        assert during.fault_area_in(row.district) == approx(lost), row
        if not any(g.district == row.district for g in during.fault_gaps):
            assert row.live_pct == approx(row.designed_pct), row  # untouched districts
    fault_demand = sum(g.demand for g in during.fault_gaps)
    assert fault_demand <= city_cut.demand_designed - city_cut.demand_live + 1e-6

    # Power back: every figure is what it was, and no fault gap is left.
    assert after.fault_gaps == ()
    for was, now in zip(
        (*before.report.districts, before.report.city),
        (*after.report.districts, after.report.city),
        strict=True,
    ):
        assert now.district == was.district
        assert now.live_m2 == approx(was.live_m2), (was, now)
        assert (now.demand_live, now.sites_live) == (was.demand_live, was.sites_live)
