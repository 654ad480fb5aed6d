"""A silent AP (it answers SNMP, nobody can connect: SSID, DHCP or captive portal
broken) over real UDP: in its busy hours a silent_failure, at 03:00 nothing.

Whether an empty AP is a fault depends on the hour, so the simulator's clock is set
(``--time-offset``) to a fixed moment of a fixed day: a Wednesday at 17:00 in Bekasi
(10:00 UTC), when the city's APs have clients, and the same Wednesday at 03:00 (20:00
UTC the day before), when they have none. A live city has no history of its own yet, so
its site-mates' clients now are what say the hour is busy (faults.metric_classes). The
AP is chosen from what the collector read: one that has clients, whose site has
others with clients too, so the silence is a change the test causes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.incidents import IncidentClass, IncidentState
from core.settings import FaultThresholds, Settings
from tests.fixtures.live_city import LiveCity, live_settings, read_city, start_simulator
from tests.fixtures.processes import Proc

# The inventory is the run's database (--database): CITYWIFI_DATABASE_URL under PostgreSQL.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("database_url")]

BASE = "127.1.212.1"
APS = 24
INTERVAL_S = 2.0
SILENT_AFTER_S = 3 * INTERVAL_S
MAX_INTERVALS = 3
BUSY = datetime(2026, 1, 7, 10, 0, tzinfo=UTC).timestamp()  # Wednesday 17:00 in Bekasi
NIGHT = datetime(2026, 1, 6, 20, 0, tzinfo=UTC).timestamp()  # Wednesday 03:00 in Bekasi


def settings_for(tmp_path: Path) -> Settings:
    return live_settings(
        tmp_path,
        INTERVAL_S,
        fault_thresholds=FaultThresholds(silent_after_s=SILENT_AFTER_S, silent_min_clients=2.0),
    )


def live_city(
    spawn: Callable[..., Proc], tmp_path: Path, at: float
) -> tuple[LiveCity, dict[str, str]]:
    """The simulated city with its clock at ``at``; (the city, AP -> site)."""
    offset = f"{at - time.time():.0f}s"
    inventory, control = start_simulator(
        spawn, tmp_path, aps=APS, base=BASE, extra=["--time-offset", offset]
    )
    doc = read_city(inventory)
    site_of = {str(ap["id"]): str(ap["site"]) for ap in doc["aps"]}
    return LiveCity(settings_for(tmp_path), inventory, control), site_of


def site_mates_clients(clients: dict[str, float], ap: str, site_of: dict[str, str]) -> float:
    """The mean clients of the AP's site-mates that report clients: with no history yet,
    what the judge reads as "the neighbours now" (0 without any)."""
    mates = [c for a, c in clients.items() if a != ap and site_of[a] == site_of[ap]]
    return sum(mates) / len(mates) if mates else 0.0


def clients_now(city: LiveCity) -> dict[str, float]:
    return {
        ap: found.values["clients"]
        for ap, found in city.store.latest().items()
        if "clients" in found.values
    }


def silent(city: LiveCity) -> list[str]:
    return [i.scope_id for i in city.incidents() if i.kind is IncidentClass.SILENT_FAILURE]


def test_a_silent_ap_in_its_busy_hours_is_a_silent_failure(
    spawn: Callable[..., Proc], tmp_path: Path
) -> None:
    city, site_of = live_city(spawn, tmp_path, BUSY)

    async def scenario() -> tuple[str, int, int]:
        async with city:
            for _ in range(2):
                await city.interval()
            clients = clients_now(city)
            busy = sorted(
                ap
                for ap, n in clients.items()
                if n >= 1 and site_mates_clients(clients, ap, site_of) >= 2.0
            )
            assert busy, f"no AP with busy neighbours at 17:00: {clients}"
            ap = busy[0]
            fault = await city.inject("silent", ap, 600)
            window = int(SILENT_AFTER_S / INTERVAL_S)
            opened = await city.intervals_until(lambda: bool(silent(city)), window + MAX_INTERVALS)
            await city.end(fault)
            resolved = await city.intervals_until(
                lambda: all(i.state is IncidentState.RESOLVED for i in city.incidents()),
                MAX_INTERVALS,
            )
            return ap, opened, resolved

    try:
        ap, opened, resolved = asyncio.run(scenario())
        (incident,) = city.top_level()
        assert (incident.kind, incident.scope_id) == (IncidentClass.SILENT_FAILURE, ap)
        assert "no clients" in incident.explanation, incident.explanation
        assert incident.resolved_by is None
        # Opened once the configured silence had lasted, plus at most 3 polls; resolved
        # within 3 polls of the fault's end.
        assert opened <= SILENT_AFTER_S / INTERVAL_S + MAX_INTERVALS
        assert resolved <= MAX_INTERVALS
    finally:
        city.close()


def test_the_same_silence_at_three_in_the_morning_is_no_incident(
    spawn: Callable[..., Proc], tmp_path: Path
) -> None:
    city, _ = live_city(spawn, tmp_path, NIGHT)

    async def scenario() -> None:
        async with city:
            for _ in range(2):
                await city.interval()
            clients = clients_now(city)
            assert clients, "no AP reports clients"
            for ap in sorted(clients):
                await city.inject("silent", ap, 600)
            for _ in range(int(SILENT_AFTER_S / INTERVAL_S) + MAX_INTERVALS):
                await city.interval()
            quiet = clients_now(city)
            assert all(n == 0 for n in quiet.values()), quiet  # the silence did happen

    try:
        asyncio.run(scenario())
        assert silent(city) == [], city.timelines()
    finally:
        city.close()
