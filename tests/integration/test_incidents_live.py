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
import socket
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select

from collector.engine import Collector
from core.incidents import IncidentClass, IncidentState, Verdict
from core.settings import Settings
from faults.engine import FaultEngine
from inventory import import_file, incidents
from inventory.db import open_inventory, transaction
from inventory.incidents import IncidentView
from inventory.models import Incident
from inventory.secretbox import load_box
from tests.fixtures.ports import free_port
from tests.fixtures.processes import Proc, wait_for
from timeseries import open_store

pytestmark = pytest.mark.slow

BASE = "127.1.210.1"
APS = 40
INTERVAL_S = 2.0  # between the starts of two poll cycles
MAX_INTERVALS = 3


def start_simulator(spawn: Callable[..., Proc], tmp_path: Path) -> tuple[Path, str]:
    """``citywifi simulate`` on free ports; (its inventory file, its control API URL)."""
    control = free_port()
    inventory = tmp_path / "city.yaml"
    sim = spawn(
        [
            "simulate", "--aps", str(APS), "--seed", "11",
            "--snmp-port", str(free_port(socket.SOCK_DGRAM, BASE)), "--base-address", BASE,
            "--inventory-out", str(inventory), "--control-port", str(control), "--ssh-aps", "0",
        ]
    )  # fmt: skip
    wait_for(lambda: inventory.exists() or sim.popen.poll() is not None, 60, "the simulator")
    assert sim.popen.poll() is None, sim.output()
    return inventory, f"http://127.0.0.1:{control}"


def a_site_with_several_aps(doc: dict[str, Any]) -> str:
    per_site = Counter(str(ap["site"]) for ap in doc["aps"])
    return sorted(site for site, n in per_site.items() if n >= 2)[0]


def an_uplink_across_districts(doc: dict[str, Any]) -> str:
    districts: dict[str, set[str]] = {}
    for site in doc["sites"]:
        if site.get("uplink"):
            districts.setdefault(site["uplink"], set()).add(site["district"])
    return sorted(u for u, found in districts.items() if len(found) >= 2)[0]


def the_district_with_most_sites(doc: dict[str, Any]) -> str:
    per_district = Counter(str(site["district"]) for site in doc["sites"])
    return sorted(per_district, key=lambda d: (-per_district[d], d))[0]


def aps_of_sites(doc: dict[str, Any], sites: set[str]) -> set[str]:
    return {str(ap["id"]) for ap in doc["aps"] if ap["site"] in sites}


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
    inventory, control = start_simulator(spawn, tmp_path)
    doc = yaml.safe_load(inventory.read_text())
    pick, expected_class, expected_verdict = CASES[kind]
    target = pick(doc)
    covered = sites_of(doc, kind, target)
    settings = Settings(
        data_dir=tmp_path / "state",
        snmp_timeout_s=1.0,
        snmp_retries=0,
        down_after_failures=2,
        poll_interval_s=INTERVAL_S,
        fault_interval_s=INTERVAL_S,
        incident_hold_s=1.0,
        area_min_sites=3,
    )
    db = open_inventory(settings.db_url, create=True)
    import_file(db, inventory, load_box(settings))
    store = open_store(settings.store_url)
    engine = FaultEngine(settings, db, store)

    def all_incidents() -> list[IncidentView]:
        with transaction(db) as session:
            return incidents.views(session, session.scalars(select(Incident)))

    async def poll_and_correlate(collector: Collector) -> None:
        """One poll interval: a collector cycle, then an engine cycle, then the rest of
        the interval."""
        started = time.monotonic()
        report = await collector.run_cycle()
        assert report.store_ok
        await asyncio.to_thread(engine.cycle)
        await asyncio.sleep(max(0.0, INTERVAL_S - (time.monotonic() - started)))

    async def scenario() -> tuple[int, int]:
        collector = Collector(settings, db, store)
        api = httpx.AsyncClient(base_url=control, timeout=5)
        try:
            for _ in range(2):  # every AP up and judged, nothing opened
                await poll_and_correlate(collector)
            assert all_incidents() == []
            response = await api.post(
                "/faults", json={"kind": kind, "target": target, "duration_s": 600}
            )
            assert response.status_code == 201, response.text
            fault = response.json()["id"]
            opened_after = await intervals_until(collector, lambda: bool(all_incidents()))
            end = await api.delete(f"/faults/{fault}")
            assert end.status_code == 204, end.text
            resolved_after = await intervals_until(
                collector, lambda: all(i.state is IncidentState.RESOLVED for i in all_incidents())
            )
            return opened_after, resolved_after
        finally:
            await api.aclose()
            collector.close()

    async def intervals_until(collector: Collector, done: Callable[[], bool]) -> int:
        for interval in range(1, MAX_INTERVALS + 1):
            await poll_and_correlate(collector)
            if done():
                return interval
        raise AssertionError(f"not within {MAX_INTERVALS} poll intervals: {all_incidents()}")

    try:
        opened_after, resolved_after = asyncio.run(scenario())
        (incident,) = all_incidents()  # exactly one, nothing merged or duplicated on the way
        assert (incident.kind, incident.scope_id) == (expected_class, target)
        assert set(incident.aps) == aps_of_sites(doc, covered)
        assert incident.resolved_by is None and incident.reopened == 0
        assert incident.verdict is expected_verdict
        assert opened_after <= MAX_INTERVALS and resolved_after <= MAX_INTERVALS
    finally:
        store.close()
        db.dispose()
