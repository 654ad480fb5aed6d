"""Simulated city over real UDP → collector → fault engine: each outage the simulator
injects is exactly one incident of the right class and scope, opened within 3 poll
intervals and resolved within 3 after the fault ends, with the right verdict on
recovery: a site's power cut is a site_down ("power": the APs' uptime restarted), its
backhaul cut a site_down ("path": uptime intact), an uplink cut across districts one
uplink_down (not an outage per district), a district's power cut one area_outage.

The simulator is a real process (its control API breaks the site); the collector and
the engine run here, cycle by cycle, so the test counts poll intervals exactly instead
of guessing at wall-clock time. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.incidents import IncidentClass, IncidentState, Verdict
from tests.fixtures.live_city import (
    LiveCity,
    a_site_with_several_aps,
    an_uplink_across_districts,
    aps_of_sites,
    live_settings,
    read_city,
    start_simulator,
    the_district_with_most_sites,
)
from tests.fixtures.processes import Proc

# The inventory is the run's database (--database): CITYWIFI_DATABASE_URL under PostgreSQL.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("database_url")]

BASE = "127.1.210.1"
APS = 40
INTERVAL_S = 2.0  # between the starts of two poll cycles
MAX_INTERVALS = 3


# fault kind -> (how to pick its target, the incident class, its verdict on recovery,
# the sites the target covers)
CASES: dict[str, tuple[Callable[[dict[str, Any]], str], IncidentClass, Verdict]] = {
    "site_power": (a_site_with_several_aps, IncidentClass.SITE_DOWN, Verdict.POWER),
    "backhaul_cut": (a_site_with_several_aps, IncidentClass.SITE_DOWN, Verdict.PATH),
    "uplink_cut": (an_uplink_across_districts, IncidentClass.UPLINK_DOWN, Verdict.PATH),
    "district_power": (the_district_with_most_sites, IncidentClass.AREA_OUTAGE, Verdict.POWER),
}


def sites_of(doc: dict[str, Any], kind: str, target: str) -> set[str]:
    if kind == "uplink_cut":
        return {str(s["id"]) for s in doc["sites"] if s.get("uplink") == target}
    if kind == "district_power":
        return {str(s["id"]) for s in doc["sites"] if s["district"] == target}
    return {target}


@pytest.mark.parametrize("kind", list(CASES))
def test_an_outage_is_one_incident_of_its_class(
    spawn: Callable[..., Proc], tmp_path: Path, kind: str
) -> None:
    inventory, control = start_simulator(spawn, tmp_path, aps=APS, base=BASE)
    doc = read_city(inventory)
    pick, expected_class, expected_verdict = CASES[kind]
    target = pick(doc)
    covered = sites_of(doc, kind, target)
    settings = live_settings(tmp_path, INTERVAL_S, area_min_sites=3)
    city = LiveCity(settings, inventory, control)

    async def scenario() -> tuple[int, int]:
        async with city:
            for _ in range(2):  # every AP up and judged, nothing opened
                await city.interval()
            assert city.incidents() == []
            fault = await city.inject(kind, target, 600)
            opened_after = await city.intervals_until(lambda: bool(city.incidents()), MAX_INTERVALS)
            await city.end(fault)
            resolved_after = await city.intervals_until(
                lambda: all(i.state is IncidentState.RESOLVED for i in city.incidents()),
                MAX_INTERVALS,
            )
            return opened_after, resolved_after

    try:
        opened_after, resolved_after = asyncio.run(scenario())
        (incident,) = city.incidents()  # exactly one, nothing merged or duplicated on the way
        assert (incident.kind, incident.scope_id) == (expected_class, target)
        assert set(incident.aps) == aps_of_sites(doc, covered)
        assert incident.resolved_by is None and incident.reopened == 0
        assert incident.verdict is expected_verdict
        assert opened_after <= MAX_INTERVALS and resolved_after <= MAX_INTERVALS
    finally:
        city.close()
