"""A district power cut over 30+ sites, end to end on real sockets: the simulator's
fault, the collector over UDP, the fault engine, the notifier, a webhook receiver and an
SMTP server on loopback. One area_outage, and on each route one message saying so (not
one per site), then one saying it is resolved.

The notifier steps after each engine cycle (as ``citywifi faults`` nudges it), with a
group wait of two poll intervals: the sites that went down first are correlated into the
area outage before anything is sent, so nobody hears of them as site outages.
"""

from __future__ import annotations

import asyncio
import email
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from core.incidents import IncidentClass, IncidentState
from core.settings import NotifyRoute, Settings
from faults.notifier import Notifier
from tests.fixtures.live_city import LiveCity, read_city, start_simulator
from tests.fixtures.processes import Proc
from tests.fixtures.receivers import SmtpServer, WebhookReceiver

# The inventory is the run's database (--database): CITYWIFI_DATABASE_URL under PostgreSQL.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("database_url")]

BASE = "127.1.214.1"
APS = 560  # the largest district then has 30+ sites
INTERVAL_S = 4.0
MAX_INTERVALS = 3


def test_a_district_cut_over_30_sites_is_one_incident_and_one_message_per_route(
    spawn: Callable[..., Proc],
    tmp_path: Path,
    webhook_receiver: WebhookReceiver,
    smtp_server: SmtpServer,
) -> None:
    inventory, control = start_simulator(spawn, tmp_path, aps=APS, base=BASE)
    doc = read_city(inventory)
    per_district = Counter(str(site["district"]) for site in doc["sites"])
    district, sites = per_district.most_common(1)[0]
    assert sites >= 30, per_district
    settings = Settings(
        data_dir=tmp_path / "state",
        # 560 APs polled at once from one simulator process: answers take longer than
        # a single AP's would, and a lost poll here would be the test's, not the city's.
        snmp_timeout_s=2.0,
        snmp_retries=1,
        poll_interval_s=INTERVAL_S,
        fault_interval_s=INTERVAL_S,
        incident_hold_s=1.0,
        area_min_sites=5,
        notify_group_wait_s=2 * INTERVAL_S,
        notify_group_interval_s=2 * INTERVAL_S,  # the resolved message may follow soon
        notify_routes=[
            NotifyRoute(
                name="noc-hook", transport="webhook", url=webhook_receiver.url, secret="k3y"
            ),
            NotifyRoute(
                name="utility-mail",
                transport="email",
                to=["outage@pln.example"],
                responsible=["utility"],
            ),
        ],
        smtp_port=smtp_server.port,
    )
    city = LiveCity(settings, inventory, control)
    notifier = Notifier(settings, city.db)

    async def interval() -> None:
        await city.interval()
        await asyncio.to_thread(notifier.step)

    async def until(done: Callable[[], bool], limit: int) -> None:
        for _ in range(limit):
            await interval()
            if done():
                return
        raise AssertionError(f"not within {limit} intervals: {city.timelines()}")

    def area() -> list[IncidentState]:
        return [i.state for i in city.top_level() if i.kind is IncidentClass.AREA_OUTAGE]

    async def scenario() -> None:
        async with city:
            for _ in range(2):
                await interval()
            fault = await city.inject("district_power", district, 600)
            await until(lambda: bool(area()), MAX_INTERVALS + 1)
            await until(lambda: len(webhook_receiver.requests) >= 1, 4)
            for _ in range(2):  # nothing more while the cut goes on
                await interval()
            await city.end(fault)
            await until(lambda: area() == [IncidentState.RESOLVED], MAX_INTERVALS + 1)
            await until(lambda: len(webhook_receiver.requests) >= 2, 3)
            for _ in range(2):
                await interval()

    try:
        asyncio.run(scenario())
        district_sites = {str(site["id"]) for site in doc["sites"] if site["district"] == district}
        (incident,) = [i for i in city.top_level() if i.kind is IncidentClass.AREA_OUTAGE]
        assert (incident.kind, incident.scope_id) == (IncidentClass.AREA_OUTAGE, district)
        assert len(incident.sites) == sites
        # On a loaded machine the harness can lose a poll of an AP elsewhere in the city
        # (560 APs answer from one simulator process): that AP's own incident is no part
        # of this claim. Nothing in the district may be told apart from the area outage.
        others = [i for i in city.top_level() if i.id != incident.id]
        assert all(not set(i.sites) & district_sites for i in others), city.timelines()
        hooks = [json.loads(r.body) for r in webhook_receiver.requests]
        ours = [h for h in hooks if any(i["id"] == incident.id for i in h["incidents"])]
        assert [(h["kind"], h["group"]) for h in ours] == [
            ("firing", "utility"),
            ("resolved", "utility"),
        ], hooks
        assert [[i["id"] for i in h["incidents"]] for h in ours] == [[incident.id]] * 2
        assert all(h["group"] != "utility" for h in hooks if h not in ours), hooks
        mails = [email.message_from_bytes(e.original_content) for e in smtp_server.envelopes]
        subjects = [str(m["Subject"]) for m in mails]
        assert len(subjects) == 2, subjects
        assert "area_outage" in subjects[0] and f"{sites} sites" in subjects[0], subjects
    finally:
        city.close()
