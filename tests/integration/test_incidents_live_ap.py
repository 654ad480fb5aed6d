"""Simulated city over real UDP -> collector -> fault engine, for the faults of single
APs: ``ap_down`` is one ap_down, ``ap_reboot`` one unexpected_reboot, ``flapping`` one
flapping (an ap_down seen between two answers is merged into it), ``overload`` one
overload, ``malformed`` no down
incident but a degraded poll on the AP's status, and ``slow`` is judged by the
configured timeout as a real device would be (down with a timeout under the delay,
nothing with one above it).

Each opens within 3 poll intervals and resolves within 3 after the fault ends, except
flapping, which needs its changes to happen first (a few intervals) and its quiet time
to end (two polls). ``silent`` is not here: whether an empty AP is a silent_failure
depends on the hour (its history, its neighbours' clients now), and a real-time
simulator's hour is whatever the clock says; faults.metric_classes' tests cover it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.incidents import IncidentClass, IncidentState
from core.settings import FaultThresholds, Settings
from tests.fixtures.accounts import bearer, user_token
from tests.fixtures.live_city import (
    LiveCity,
    an_ap_with_neighbours,
    live_settings,
    read_city,
    start_simulator,
)
from tests.fixtures.processes import Proc

# The inventory is the run's database (--database): CITYWIFI_DATABASE_URL under PostgreSQL.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("database_url")]

BASE = "127.1.211.1"
APS = 12
INTERVAL_S = 2.0
MAX_INTERVALS = 3
DOWN = {
    IncidentClass.AP_DOWN,
    IncidentClass.SITE_DOWN,
    IncidentClass.UPLINK_DOWN,
    IncidentClass.AREA_OUTAGE,
}


def settings_for(tmp_path: Path, **changes: Any) -> Settings:
    """Polls every 2 s, a hold of 1 s; flapping: 3 changes within 30 s (down and back
    once is two); overload: over the line for 4 s."""
    thresholds = FaultThresholds(flap_window_s=30.0, flap_min_changes=3, overload_after_s=4.0)
    return live_settings(tmp_path, INTERVAL_S, **({"fault_thresholds": thresholds} | changes))


def all_resolved(city: LiveCity) -> Callable[[], bool]:
    return lambda: all(i.state is IncidentState.RESOLVED for i in city.incidents())


@pytest.fixture
def live(spawn: Callable[..., Proc], tmp_path: Path) -> tuple[Path, str, str]:
    """The simulator; (its inventory, its control URL, an AP whose site has others)."""
    inventory, control = start_simulator(spawn, tmp_path, aps=APS, base=BASE)
    return inventory, control, an_ap_with_neighbours(read_city(inventory))


CASES: dict[str, tuple[IncidentClass, float, dict[str, Any], int, int]] = {
    # fault kind: (class, fault duration, extra fault fields, intervals to open, to resolve)
    "ap_down": (IncidentClass.AP_DOWN, 600.0, {}, MAX_INTERVALS, MAX_INTERVALS),
    # Shorter than a poll interval: at most one poll lost, the collector keeps it up.
    "ap_reboot": (IncidentClass.UNEXPECTED_REBOOT, 1.0, {}, MAX_INTERVALS, MAX_INTERVALS),
    "flapping": (IncidentClass.FLAPPING, 600.0, {"period_s": 3.0}, 6, 4),
    "overload": (IncidentClass.OVERLOAD, 600.0, {}, MAX_INTERVALS, MAX_INTERVALS),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_an_ap_fault_is_one_incident_of_its_class(
    live: tuple[Path, str, str], tmp_path: Path, kind: str
) -> None:
    inventory, control, ap = live
    expected, duration, extra, open_limit, resolve_limit = CASES[kind]
    city = LiveCity(settings_for(tmp_path), inventory, control)

    async def scenario() -> tuple[int, int]:
        async with city:
            for _ in range(2):  # every AP up and judged, nothing opened
                await city.interval()
            assert city.incidents() == []
            fault = await city.inject(kind, ap, duration, **extra)
            opened = await city.intervals_until(
                lambda: any(i.kind is expected for i in city.incidents()), open_limit
            )
            await city.end(fault)
            resolved = await city.intervals_until(all_resolved(city), resolve_limit)
            return opened, resolved

    try:
        asyncio.run(scenario())
        top = city.top_level()
        assert len(top) == 1, city.timelines()  # exactly one; merged children allowed
        incident = top[0]
        assert (incident.kind, incident.scope_id, set(incident.aps)) == (expected, ap, {ap})
        assert incident.resolved_by is None and incident.reopened == 0
        children = [i for i in city.incidents() if i.merged_into is not None]
        assert all(c.kind is IncidentClass.AP_DOWN and c.merged_into == incident.id
                   for c in children)  # fmt: skip
    finally:
        city.close()


def test_a_malformed_ap_is_no_outage_but_a_degraded_poll(
    live: tuple[Path, str, str], tmp_path: Path
) -> None:
    inventory, control, ap = live
    settings = settings_for(tmp_path)
    city = LiveCity(settings, inventory, control)

    async def scenario() -> None:
        async with city:
            for _ in range(2):
                await city.interval()
            await city.inject("malformed", ap, 600)
            for _ in range(MAX_INTERVALS + 1):
                await city.interval()

    try:
        asyncio.run(scenario())
        assert not [i for i in city.incidents() if i.kind in DOWN]
        headers = bearer(user_token(city.db))
        with TestClient(create_app(settings)) as client:
            response = client.get("/api/v1/status", params={"limit": 500}, headers=headers)
        assert response.status_code == 200, response.text
        (row,) = [r for r in response.json()["data"] if r["ap_id"] == ap]
        assert (row["state"], row["degraded"]) == ("up", True), row
        assert row["last_error"].startswith("degraded: answered, but "), row
    finally:
        city.close()


@pytest.mark.parametrize(("timeout_s", "down"), [(1.0, True), (8.0, False)])
def test_a_slow_ap_is_judged_by_the_configured_timeout(
    live: tuple[Path, str, str], tmp_path: Path, timeout_s: float, down: bool
) -> None:
    """The simulator delays each answer 2-5 s: a 1 s timeout sees a dead AP, an 8 s one
    a slow but working one."""
    inventory, control, ap = live
    settings = settings_for(tmp_path, snmp_timeout_s=timeout_s, poll_deadline_s=120.0)
    city = LiveCity(settings, inventory, control)

    async def scenario() -> None:
        async with city:
            for _ in range(2):
                await city.interval()
            fault = await city.inject("slow", ap, 600)
            if down:
                await city.intervals_until(lambda: bool(city.incidents()), MAX_INTERVALS)
                await city.end(fault)
                await city.intervals_until(all_resolved(city), MAX_INTERVALS)
            else:
                for _ in range(MAX_INTERVALS):
                    await city.interval()
                await city.end(fault)

    try:
        asyncio.run(scenario())
        found = [(i.kind, i.scope_id) for i in city.top_level()]
        assert found == ([(IncidentClass.AP_DOWN, ap)] if down else [])
    finally:
        city.close()
