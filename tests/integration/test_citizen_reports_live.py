"""Citizens' reports against the simulated city over real UDP (issue 16's acceptance).

One city, three reports filed by a call-centre operator through the real API while the
collector and the fault engine run interval by interval:

- at a hotspot whose AP the simulator made ``silent`` (it answers SNMP, nobody can use
  it): the report opens a ``citizen_reported`` incident at once, before the engine's
  silent-failure rule can fire (it needs the silence to last); when the rule fires, the
  citizens' incident is merged into the engine's, and the report follows it;
- at a hotspot that is down (the simulator cut its power): the report joins the open
  incident and raises its priority;
- at a place with no hotspot within reach: stored, unmatched, no incident.

Then field work on the hotspot that was down: a work order for its incident, assigned to
a team, marked on site and fixed by the technician *while the power is still off*: it
stays ``fixed`` (telemetry says otherwise); once the power is back and its APs serve
clients again it becomes ``verified`` on its own, with no one touching it.

The simulator's clock is a Wednesday at 17:00 in Bekasi, so the city's APs have clients
and an empty AP is a fault (as in test_incidents_live_silent).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.access import Role
from core.incidents import IncidentClass
from core.settings import FaultThresholds
from tests.fixtures.accounts import bearer, user_token
from tests.fixtures.live_city import LiveCity, live_settings, read_city, start_simulator
from tests.fixtures.processes import Proc

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("database_url")]

BASE = "127.1.217.1"
APS = 24
INTERVAL_S = 2.0
SILENT_AFTER_S = 3 * INTERVAL_S
MAX_INTERVALS = 3
BUSY = datetime(2026, 1, 7, 10, 0, tzinfo=UTC).timestamp()  # Wednesday 17:00 in Bekasi
DOWN = {IncidentClass.AP_DOWN, IncidentClass.SITE_DOWN}
FAR = (-6.05, 107.30)  # in the sea north of Bekasi: no hotspot within reach


def test_reports_open_join_or_stay_unmatched(spawn: Callable[..., Proc], tmp_path: Path) -> None:
    settings = live_settings(
        tmp_path,
        INTERVAL_S,
        fault_thresholds=FaultThresholds(silent_after_s=SILENT_AFTER_S, silent_min_clients=2.0),
        # Some vendors' clients come over SSH: often enough to see them come back.
        ssh_poll_interval_s=5.0,
    )
    inventory, control = start_simulator(
        spawn, tmp_path, aps=APS, base=BASE, extra=["--time-offset", f"{BUSY - time.time():.0f}s"]
    )
    doc = read_city(inventory)
    site_of = {str(ap["id"]): str(ap["site"]) for ap in doc["aps"]}
    where = {str(s["id"]): (float(s["lat"]), float(s["lon"])) for s in doc["sites"]}
    city = LiveCity(settings, inventory, control)
    headers = bearer(user_token(city.db, "operator", Role.ENGINEER))
    technician = bearer(user_token(city.db, "tech", Role.FIELD))

    def file(client: TestClient, lat: float, lon: float, problem: str) -> dict[str, Any]:
        body = {"lat": lat, "lon": lon, "problem": problem, "phone": "+62 812 0000 1716"}
        response = client.post("/api/v1/citizen-reports", json=body, headers=headers)
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def incident(client: TestClient, report_id: int) -> dict[str, Any]:
        response = client.get(f"/api/v1/citizen-reports/{report_id}", headers=headers)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()["incident"]
        return found

    async def scenario(client: TestClient) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with city:
            for _ in range(2):
                await city.interval()
            clients = {
                ap: found.values["clients"]
                for ap, found in city.store.latest().items()
                if "clients" in found.values
            }

            def busy_mates(ap: str) -> float:
                mates = [c for a, c in clients.items() if a != ap and site_of[a] == site_of[ap]]
                return sum(mates) / len(mates) if mates else 0.0

            silent_ap = sorted(a for a, n in clients.items() if n >= 1 and busy_mates(a) >= 2)[0]
            quiet_site = site_of[silent_ap]
            # A site whose APs all had clients: after the power is back, they will again.
            down_site = sorted(
                s
                for s in set(site_of.values()) - {quiet_site}
                if all(clients.get(a, 0) >= 1 for a, t in site_of.items() if t == s)
            )[0]
            seen |= {"silent_ap": silent_ap, "quiet_site": quiet_site, "down_site": down_site}
            await city.inject("silent", silent_ap, 600)
            power_cut = await city.inject("site_power", down_site, 600)

            # The silence has not lasted yet: only the citizen knows.
            seen["r1"] = file(client, *where[quiet_site], "no_internet")
            seen["kinds_at_r1"] = {i.kind for i in city.incidents()}

            def down_at_site() -> bool:
                return any(
                    i.kind in DOWN
                    and i.scope_id
                    in (down_site, *[a for a, s in site_of.items() if s == down_site])
                    for i in city.top_level()
                )

            await city.intervals_until(down_at_site, MAX_INTERVALS + 2)
            seen["r2"] = file(client, *where[down_site], "no_signal")
            seen["r3"] = file(client, *FAR, "slow")

            def silent_opened() -> bool:
                return any(i.kind is IncidentClass.SILENT_FAILURE for i in city.incidents())

            window = int(SILENT_AFTER_S / INTERVAL_S)
            await city.intervals_until(silent_opened, window + MAX_INTERVALS)
            seen["r1_after"] = incident(client, seen["r1"]["id"])
            seen["r2_after"] = incident(client, seen["r2"]["id"])

            # Field work at the hotspot that is still down.
            order = work_order(client, seen["r2"]["incident"]["id"], down_site)
            for state in ("on_site", "fixed"):
                moved = client.post(
                    f"/api/v1/work-orders/{order}/state", json={"state": state}, headers=technician
                )
                assert moved.status_code == 200, moved.text
            for _ in range(MAX_INTERVALS):
                await city.interval()
            seen["order_while_down"] = order_state(client, order)
            await city.end(power_cut)

            def verified() -> bool:
                return order_state(client, order) == "verified"

            # Booting, answering, then clients back: the collector sees each in turn.
            seen["verified_after"] = await city.intervals_until(verified, 4 * MAX_INTERVALS)
            seen["order_timeline"] = client.get(
                f"/api/v1/work-orders/{order}", headers=headers
            ).json()["timeline"]
        return seen

    def work_order(client: TestClient, incident_id: int, site_id: str) -> int:
        team = {"id": "city-team", "name": "City field team", "responsible": "noc"}
        made = client.post("/api/v1/field-teams", json=team, headers=headers)
        assert made.status_code == 201, made.text
        members = {"members": ["tech"]}
        put = client.put("/api/v1/field-teams/city-team/members", json=members, headers=headers)
        assert put.status_code == 200, put.text
        body = {"incident_id": incident_id, "site_id": site_id, "team_id": "city-team"}
        created = client.post("/api/v1/work-orders", json=body, headers=headers)
        assert created.status_code == 201, created.text
        order_id: int = created.json()["id"]
        return order_id

    def order_state(client: TestClient, order_id: int) -> str:
        response = client.get(f"/api/v1/work-orders/{order_id}", headers=headers)
        assert response.status_code == 200, response.text
        state: str = response.json()["state"]
        return state

    try:
        with TestClient(create_app(settings)) as client:
            seen = asyncio.run(scenario(client))
        r1, r2, r3 = seen["r1"], seen["r2"], seen["r3"]
        timelines = city.timelines()

        # At the silent hotspot: a citizens' incident, opened before the engine's rule.
        assert (r1["match"], r1["site_id"]) == ("opened", seen["quiet_site"]), r1
        assert r1["incident"]["class"] == IncidentClass.CITIZEN_REPORTED, r1
        assert IncidentClass.SILENT_FAILURE not in seen["kinds_at_r1"], timelines
        # ... merged into the silent failure once the engine sees it; the report follows.
        (silent,) = [i for i in city.incidents() if i.kind is IncidentClass.SILENT_FAILURE]
        assert silent.scope_id == seen["silent_ap"]
        (citizens,) = [i for i in city.incidents() if i.id == r1["incident"]["id"]]
        assert citizens.merged_into == silent.id, timelines
        assert seen["r1_after"]["id"] == silent.id
        assert seen["r1_after"]["priority"] >= 1

        # At the hotspot that is down: joined the engine's incident, priority raised.
        assert (r2["match"], r2["site_id"]) == ("joined", seen["down_site"]), r2
        assert r2["incident"]["class"] in DOWN, r2
        assert seen["r2_after"]["priority"] >= 1

        # Nowhere near a hotspot: stored, unmatched.
        assert (r3["match"], r3["site_id"], r3["incident"]) == ("unmatched", None, None), r3
        assert not any(
            i.kind is IncidentClass.CITIZEN_REPORTED and i.id != citizens.id
            for i in city.incidents()
        ), timelines
    finally:
        city.close()
