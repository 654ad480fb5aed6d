"""Three ``citywifi faults`` processes against one PostgreSQL, across a leader SIGKILL:
one incident and one firing message per injected fault, each resolved once, nothing
duplicated at any point, in the database or at the webhook receiver.

All real processes on loopback: the simulator (its control API breaks a site's power),
one ``citywifi collect``, three fault engines with a webhook route, a webhook receiver in
this process, and Debian's PostgreSQL. Short intervals (poll 2 s, fault cycle 1 s, lease
4 s) and every wait bounded: the takeover after the kill must come within the lease (and
a cycle), the one after a graceful stop at once (the lease is released).
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from core.settings import Settings
from faults.leader import ROLE
from inventory import import_file, incidents, leadership
from inventory.db import open_inventory, transaction
from inventory.incidents import EntryKind
from inventory.models import ApStatus, Incident, Notification
from inventory.secretbox import load_box
from tests.fixtures.live_city import read_city, start_simulator
from tests.fixtures.processes import Proc, citywifi_env, wait_for
from tests.fixtures.receivers import WebhookReceiver

pytestmark = pytest.mark.slow

BASE = "127.1.219.1"
APS = 24
POLL_S = 2.0
CYCLE_S = 1.0
LEASE_S = 4.0
ENGINES = 3
SECRET = "whsec-leader-live-S3cret"
STEP_TIMEOUT_S = 30.0  # a fault seen, an incident opened and told, on a loaded machine


def two_sites_apart(doc: dict[str, Any]) -> tuple[str, str]:
    """Two sites with several APs each, in different districts (two site outages, never
    one area outage)."""
    per_site = Counter(str(ap["site"]) for ap in doc["aps"])
    district = {str(s["id"]): str(s["district"]) for s in doc["sites"]}
    several = sorted(site for site, n in per_site.items() if n >= 2)
    first = several[0]
    second = next(s for s in several if district[s] != district[first])
    return first, second


class Watch:
    """What the database says, read fresh each time."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def holder(self) -> leadership.Holder | None:
        with transaction(self.db) as session:
            return leadership.holder(session, ROLE)

    def leader(self, besides: tuple[str, ...] = ()) -> tuple[str, int] | None:
        """(owner, term) of the lease when someone other than ``besides`` holds it."""
        found = self.holder()
        if found is None or found.owner is None or found.owner in besides:
            return None
        return found.owner, found.term

    def incidents(self) -> list[tuple[int, str, str, str, int]]:
        """(id, class, scope, state, times resolved) of every incident."""
        with transaction(self.db) as session:
            views = incidents.views(session, session.scalars(select(Incident)))
            return sorted(
                (
                    v.id,
                    v.kind.value,
                    v.scope_id,
                    v.state.value,
                    sum(e.kind is EntryKind.RESOLVED for e in incidents.timeline(session, v.id)),
                )
                for v in views
            )

    def of_site(self, site: str) -> list[tuple[int, str, str, str, int]]:
        return [i for i in self.incidents() if i[2] == site]

    def outbox(self) -> list[tuple[str, str]]:
        """(message id, status) of every queued message."""
        with transaction(self.db) as session:
            rows = session.execute(select(Notification.payload, Notification.status)).all()
            return sorted((json.loads(payload)["id"], status) for payload, status in rows)

    def polled(self) -> int:
        with transaction(self.db) as session:
            return session.scalar(select(func.count()).select_from(ApStatus)) or 0


def told(receiver: WebhookReceiver, incident_id: int) -> list[str]:
    """What the receiver heard about ``incident_id``: the change, one per message."""
    found = []
    for request in list(receiver.requests):
        for item in json.loads(request.body)["incidents"]:
            if item["id"] == incident_id and item["change"] != "unchanged":
                found.append(item["change"])
    return found


def no_duplicates(watch: Watch, receiver: WebhookReceiver) -> None:
    """No problem has two incidents; every message id is queued and received once."""
    keys = Counter((kind, scope) for _, kind, scope, _, _ in watch.incidents())
    assert all(n == 1 for n in keys.values()), watch.incidents()
    assert all(times <= 1 for *_, times in watch.incidents()), watch.incidents()
    queued = [ident for ident, _ in watch.outbox()]
    assert len(queued) == len(set(queued)), queued
    received = [json.loads(r.body)["id"] for r in list(receiver.requests)]
    assert len(received) == len(set(received)), received


def test_one_incident_and_one_message_per_fault_across_a_leader_kill(
    spawn: Callable[..., Proc],
    tmp_path: Path,
    fresh_postgres_url: str,
    webhook_receiver: WebhookReceiver,
) -> None:
    started = time.monotonic()
    inventory, control = start_simulator(spawn, tmp_path, aps=APS, base=BASE)
    first_site, second_site = two_sites_apart(read_city(inventory))
    state = tmp_path / "state"
    db = open_inventory(fresh_postgres_url, create=True)
    import_file(db, inventory, load_box(Settings(data_dir=state)))
    watch = Watch(db)
    env = citywifi_env(state) | {
        "CITYWIFI_DATABASE_URL": fresh_postgres_url,
        "CITYWIFI_POLL_INTERVAL_S": str(POLL_S),
        "CITYWIFI_SNMP_TIMEOUT_S": "1",
        "CITYWIFI_SNMP_RETRIES": "0",
        "CITYWIFI_DOWN_AFTER_FAILURES": "2",
        "CITYWIFI_FAULT_INTERVAL_S": str(CYCLE_S),
        "CITYWIFI_FAULT_LEADER_LEASE_S": str(LEASE_S),
        "CITYWIFI_INCIDENT_HOLD_S": "1",
        "CITYWIFI_NOTIFY_GROUP_WAIT_S": "0",
        "CITYWIFI_NOTIFY_GROUP_INTERVAL_S": "0",
        "CITYWIFI_NOTIFY_ROUTES": json.dumps(
            [{"name": "noc-hook", "transport": "webhook", "url": webhook_receiver.url,
              "secret": SECRET}]
        ),
    }  # fmt: skip
    collector = spawn(["collect"], env)
    engines = {
        f"faults-{i}": spawn(["faults"], env | {"CITYWIFI_INSTANCE_ID": f"faults-{i}"})
        for i in range(ENGINES)
    }
    api = httpx.Client(base_url=control, timeout=5)
    try:
        wait_for(lambda: watch.polled() == APS, STEP_TIMEOUT_S, "every AP polled")
        first, term = wait_for(watch.leader, STEP_TIMEOUT_S, "a leader")
        assert first in engines and term == 1, first
        for name, proc in engines.items():
            wanted = "leader: this process" if name == first else "standby: "
            wait_for(lambda p=proc, w=wanted: w in p.output(), 10, f"{name}'s standing")  # type: ignore[misc]

        # 1. A fault: one incident, one firing message.
        fault = api.post("/faults", json={"kind": "site_power", "target": first_site,
                                          "duration_s": 600})  # fmt: skip
        assert fault.status_code == 201, fault.text
        first_fault = fault.json()["id"]
        (incident_1, *_), *_ = wait_for(
            lambda: watch.of_site(first_site), STEP_TIMEOUT_S, "the first incident"
        )
        wait_for(lambda: told(webhook_receiver, incident_1), STEP_TIMEOUT_S, "its message")
        wait_for(lambda: all(s == "sent" for _, s in watch.outbox()), 10, "recorded as sent")
        assert told(webhook_receiver, incident_1) == ["new"]
        no_duplicates(watch, webhook_receiver)

        # 2. SIGKILL the leader: a standby takes over within the lease (and a cycle).
        assert watch.leader() == (first, 1)
        engines[first].popen.send_signal(signal.SIGKILL)
        engines[first].popen.wait(10)
        killed_at = time.monotonic()
        second, term = wait_for(
            lambda: watch.leader(besides=(first,)), LEASE_S + 10, "a standby taking over"
        )
        took = time.monotonic() - killed_at
        assert term == 2 and second in engines, second
        assert took <= LEASE_S + 2 * CYCLE_S + 1.0, f"takeover after {took:.1f} s"
        wait_for(lambda: "leader: this process" in engines[second].output(), 10, "its log")
        time.sleep(2 * CYCLE_S)  # the successor's first cycles: nothing new
        assert len(watch.of_site(first_site)) == 1 and told(webhook_receiver, incident_1) == ["new"]
        no_duplicates(watch, webhook_receiver)

        # 3. A second fault, judged and told by the successor.
        fault = api.post("/faults", json={"kind": "site_power", "target": second_site,
                                          "duration_s": 600})  # fmt: skip
        assert fault.status_code == 201, fault.text
        second_fault = fault.json()["id"]
        (incident_2, *_), *_ = wait_for(
            lambda: watch.of_site(second_site), STEP_TIMEOUT_S, "the second incident"
        )
        wait_for(lambda: told(webhook_receiver, incident_2), STEP_TIMEOUT_S, "its message")
        assert told(webhook_receiver, incident_2) == ["new"]
        no_duplicates(watch, webhook_receiver)

        # 4. Both faults end: each incident resolved once, and told so once.
        for ended in (first_fault, second_fault):
            assert api.delete(f"/faults/{ended}").status_code in (204, 404)
        for incident_id in (incident_1, incident_2):
            wait_for(
                lambda i=incident_id: "resolved" in told(webhook_receiver, i),  # type: ignore[misc]
                STEP_TIMEOUT_S, f"incident {incident_id} resolved and told",
            )  # fmt: skip
        time.sleep(2 * CYCLE_S)  # nothing more comes
        for site, incident_id in ((first_site, incident_1), (second_site, incident_2)):
            (found,) = watch.of_site(site)
            assert found == (incident_id, "site_down", site, "resolved", 1), watch.incidents()
            assert told(webhook_receiver, incident_id) == ["new", "resolved"]
        no_duplicates(watch, webhook_receiver)
        assert engines[second].popen.poll() is None

        # 5. A graceful stop releases the lease at once: the last standby takes it
        #    without waiting for it to run out.
        engines[second].popen.send_signal(signal.SIGTERM)
        assert engines[second].popen.wait(20) == 0, engines[second].output()
        after = watch.holder()  # released (or already taken), never still the stopped one's
        assert after is not None and after.owner != second, after
        assert "leader: lease released" in engines[second].output()
        last, term = wait_for(watch.leader, LEASE_S, "the last standby taking over")
        assert term == 3 and last not in (first, second), last
        for proc in engines.values():
            assert SECRET not in proc.output()
    finally:
        api.close()
        for proc in (*engines.values(), collector):  # before the database goes
            proc.stop()
        db.dispose()
    assert time.monotonic() - started < 90
