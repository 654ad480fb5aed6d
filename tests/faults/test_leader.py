"""Several fault engines on one database (SQLite and PostgreSQL), driven by an injected
clock: only the leader writes, a standby takes over after the lease without duplicating
anything, a stalled ex-leader that wakes up writes nothing, and only the leader's
notifier plans and delivers."""

from __future__ import annotations

import json
import logging
import threading

import pytest
from sqlalchemy import Engine, func, select

from core.incidents import IncidentClass, IncidentState
from core.settings import NotifyRoute, Settings
from faults.delivery import Deliverer, DeliveryReport
from faults.engine import CycleReport, FaultEngine
from faults.leader import Leader
from faults.notifier import Notifier, StepReport
from faults.planner import plan_once
from inventory import incidents, outbox
from inventory.db import transaction
from inventory.incidents import EntryKind
from inventory.models import Incident, Notification
from tests.faults.city import T0, aps_of, sites_down, states, write_states
from tests.fixtures.receivers import WebhookReceiver

SECRET = "whsec-leader-S3cret"


def engines(settings: Settings, db: Engine, *owners: str) -> list[FaultEngine]:
    """One FaultEngine per owner, each with its own standing, as separate processes."""
    return [
        FaultEngine(settings, db, leader=Leader(db, owner, settings.leader_lease_s))
        for owner in owners
    ]


def leader_of(engine: FaultEngine) -> Leader:
    assert engine.leader is not None
    return engine.leader


def summary(db: Engine) -> list[tuple[str, str, str, int]]:
    """Every incident: (class, scope, state, how many times it was resolved)."""
    with transaction(db) as session:
        rows = session.scalars(select(Incident).order_by(Incident.id))
        return [
            (
                view.kind.value,
                view.scope_id,
                view.state.value,
                sum(e.kind is EntryKind.RESOLVED for e in incidents.timeline(session, view.id)),
            )
            for view in incidents.views(session, rows)
        ]


def acted(report: CycleReport | None) -> CycleReport:
    assert report is not None and report.acted, report
    return report


def test_two_engines_on_one_database_only_the_leader_writes(
    city_db: Engine, fault_settings: Settings
) -> None:
    a, b = engines(fault_settings, city_db, "a", "b")
    write_states(city_db, states(sites_down({"s3": T0})))
    assert acted(a.tick(T0 + 5)).opened == 1
    for step in range(1, 6):
        assert b.tick(T0 + 5 + step) is None  # a standby: not even a snapshot
        assert acted(a.tick(T0 + 5 + 10 * step)).changes == 0
    assert summary(city_db) == [("site_down", "s3", "open", 0)]
    assert (leader_of(a).term, leader_of(b).term) == (1, None)


def test_a_stopped_leader_is_taken_over_after_its_lease_without_duplicates(
    city_db: Engine, fault_settings: Settings
) -> None:
    """The leader just stops renewing (killed): the standby takes over once the lease
    ran out, carries on from the stored incidents (nothing opened twice), opens the
    next fault once and resolves both once; the old leader, back, stays a standby."""
    lease = fault_settings.leader_lease_s
    a, b = engines(fault_settings, city_db, "a", "b")
    write_states(city_db, states(sites_down({"s3": T0})))
    assert acted(a.tick(T0 + 5)).opened == 1
    assert b.tick(T0 + 6) is None
    assert acted(a.tick(T0 + 15)).changes == 0  # its last renewal: until T0 + 15 + lease
    assert b.tick(T0 + 15 + lease - 0.01) is None
    taken = acted(b.tick(T0 + 15 + lease))
    assert taken.changes == 0 and taken.problems == 1  # the same site, already open
    assert leader_of(b).term == 2
    write_states(city_db, states(sites_down({"s3": T0, "s10": T0 + 50})))
    assert acted(b.tick(T0 + 56)).opened == 1
    assert acted(b.tick(T0 + 66)).changes == 0
    assert a.tick(T0 + 70) is None  # the old leader is back: b holds the lease
    write_states(city_db, states())  # all up again
    assert acted(b.tick(T0 + 200)).resolved == 2
    assert acted(b.tick(T0 + 210)).changes == 0
    assert a.tick(T0 + 211) is None
    assert summary(city_db) == [
        ("site_down", "s3", "resolved", 1),
        ("site_down", "s10", "resolved", 1),
    ]


def test_a_stalled_ex_leader_that_wakes_up_after_a_takeover_writes_nothing(
    city_db: Engine, fault_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """a renews, then stalls inside its turn for longer than its lease; b takes over and
    writes; a resumes its cycle where it stopped: fenced out, nothing read or written."""
    lease = fault_settings.leader_lease_s
    a, b = engines(fault_settings, city_db, "a", "b")
    assert acted(a.tick(T0 + 5)).changes == 0
    write_states(city_db, states(sites_down({"s10": T0 + 6})))
    assert acted(b.tick(T0 + 5 + lease)).opened == 1  # a's lease ran out
    with caplog.at_level(logging.INFO, "citywifi.faults"):
        woke = a.cycle(T0 + 5 + lease + 1)  # its renewal was long ago: only the fence
    assert woke == CycleReport(at=T0 + 5 + lease + 1, aps=0, problems=0, acted=False)
    assert summary(city_db) == [("site_down", "s10", "open", 0)]
    assert leader_of(a).term is None
    assert "standby: lost the lease (term 1 was taken over); b leads now" in caplog.text
    assert a.tick(T0 + 5 + lease + 2) is None  # its next turn: b holds the lease
    write_states(city_db, states())
    assert acted(b.tick(T0 + 200)).resolved == 1


def test_a_released_lease_is_taken_at_the_next_turn(
    city_db: Engine, fault_settings: Settings
) -> None:
    a, b = engines(fault_settings, city_db, "a", "b")
    acted(a.tick(T0 + 5))
    assert b.tick(T0 + 6) is None
    leader_of(a).release()  # a graceful stop
    assert leader_of(a).term is None and not leader_of(a).acting(T0 + 7)
    acted(b.tick(T0 + 7))  # long before a's lease would have ended
    assert leader_of(b).term == 2


def test_changes_of_standing_are_logged_once_each(
    city_db: Engine, fault_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    lease = fault_settings.leader_lease_s
    a, b = engines(fault_settings, city_db, "a", "b")
    with caplog.at_level(logging.INFO, "citywifi.faults"):
        for step in range(4):
            a.tick(T0 + 10 * step)
            b.tick(T0 + 10 * step + 1)
        for step in range(4):  # a stops; b takes over once a's lease ran out
            b.tick(T0 + 30 + lease + 10 * step)
        for step in range(3):  # a is back, while b's lease runs
            a.tick(T0 + 30 + lease + 35 + step)
    lines = [r.getMessage() for r in caplog.records if r.name == "citywifi.faults"]
    standing = [line for line in lines if line.startswith(("leader:", "standby:"))]
    assert standing == [
        "leader: this process (a) is the active fault engine, term 1",
        "standby: a is the active fault engine, term 1",
        "leader: this process (b) is the active fault engine, term 2",
        "standby: lost the lease (its lease was not renewed in time); b leads now",
    ]


def test_a_standby_run_cycles_only_the_lease_until_it_leads(
    city_db: Engine, fault_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run`` on an injected clock: the standby's turns renew nothing but the lease
    (its cycle is never called) until the leader releases; then it cycles."""
    interval = fault_settings.fault_interval_s
    a, b = engines(fault_settings, city_db, "a", "b")
    acted(a.tick(T0))
    clock = [T0 + 1.0]
    b.clock = lambda: clock[0]
    cycles: list[float] = []
    real_cycle = b.cycle

    def counted(now: float | None = None) -> CycleReport:
        cycles.append(clock[0])
        return real_cycle(now)

    monkeypatch.setattr(b, "cycle", counted)
    stop = threading.Event()
    turns = [0]

    def wait(seconds: float) -> bool:
        turns[0] += 1
        clock[0] += seconds
        a.tick(clock[0] - 0.5)  # the leader keeps renewing, until turn 3
        if turns[0] == 3:
            leader_of(a).release()
            a.leader = None  # a stops: it renews no more
            a.tick = lambda now=None: None  # type: ignore[method-assign]
        if turns[0] == 6:
            stop.set()
        return stop.is_set()

    b.run(stop, wait=wait)
    assert cycles == [T0 + 1 + 3 * interval, T0 + 1 + 4 * interval, T0 + 1 + 5 * interval]


# --- the notifier ----------------------------------------------------------------------


def with_hook(settings: Settings, url: str) -> Settings:
    route = NotifyRoute(name="noc-hook", transport="webhook", url=url, secret=SECRET)
    return Settings(
        **{
            **settings.model_dump(exclude_unset=True),
            "notify_routes": [route],
            "notify_group_wait_s": 0.0,
            "notify_group_interval_s": 0.0,
        }
    )


def queued(db: Engine) -> int:
    with transaction(db) as session:
        return session.scalar(select(func.count()).select_from(Notification)) or 0


def test_only_the_leaders_notifier_plans_and_delivers_across_a_takeover(
    city_db: Engine, fault_settings: Settings, webhook_receiver: WebhookReceiver
) -> None:
    """Two processes, each an engine and a notifier sharing its standing: one firing
    and one resolved message reach the receiver, each once, the second from the
    successor after the first leader stopped."""
    settings = with_hook(fault_settings, webhook_receiver.url)
    lease = settings.leader_lease_s
    a, b = engines(settings, city_db, "a", "b")
    clock = [T0]
    notify_a, notify_b = (
        Notifier(settings, city_db, leader=leader_of(e), clock=lambda: clock[0]) for e in (a, b)
    )

    def step(notifier: Notifier, now: float) -> StepReport:
        clock[0] = now
        return notifier.step()

    write_states(city_db, states(sites_down({"s3": T0})))
    acted(a.tick(T0 + 5))
    assert b.tick(T0 + 6) is None
    standby = step(notify_b, T0 + 6)
    assert (standby.queued, standby.delivery.sent) == (0, 0) and queued(city_db) == 0
    first = step(notify_a, T0 + 6)
    assert (first.queued, first.delivery.sent) == (1, 1)
    assert step(notify_b, T0 + 7).queued == 0 and step(notify_a, T0 + 7).queued == 0
    # a stops; b takes over; the site comes back.
    assert acted(b.tick(T0 + 5 + lease)).changes == 0
    write_states(city_db, states())
    assert acted(b.tick(T0 + 200)).resolved == 1
    assert step(notify_a, T0 + 201).queued == 0  # a's lease ran out long ago
    second = step(notify_b, T0 + 201)
    assert (second.queued, second.delivery.sent) == (1, 1)
    bodies = [json.loads(r.body) for r in webhook_receiver.requests]
    assert [(body["kind"], body["id"]) for body in bodies] == [
        ("firing", "noc-hook:noc:1"),
        ("resolved", "noc-hook:noc:2"),
    ]
    assert queued(city_db) == 2


def test_a_stale_leaders_planning_and_delivery_are_fenced(
    city_db: Engine, fault_settings: Settings, webhook_receiver: WebhookReceiver
) -> None:
    """a still believes it leads (its own clock says its lease runs; b's clock runs
    ahead, or a stalled): the fencing check in its planning and delivery transactions
    finds b's term, so it queues and sends nothing, and b then does both, once."""
    settings = with_hook(fault_settings, webhook_receiver.url)
    lease = settings.leader_lease_s
    a, b = engines(settings, city_db, "a", "b")
    acted(a.tick(T0))
    write_states(city_db, states(sites_down({"s3": T0})))
    acted(b.tick(T0 + lease + 1))  # b's clock: a's lease is over
    assert leader_of(a).acting(T0 + 2)  # a's clock: not yet
    assert plan_once(city_db, settings, now=T0 + 2, fence=leader_of(a).fence).queued == 0
    stale = Notifier(settings, city_db, leader=leader_of(a), clock=lambda: T0 + 2).step()
    assert (stale.queued, stale.delivery.sent) == (0, 0)
    assert queued(city_db) == 0 and not webhook_receiver.requests
    fresh = Notifier(settings, city_db, leader=leader_of(b), clock=lambda: T0 + lease + 2).step()
    assert (fresh.queued, fresh.delivery.sent) == (1, 1)
    (request,) = webhook_receiver.requests
    assert json.loads(request.body)["incidents"][0]["class"] == IncidentClass.SITE_DOWN.value


def test_the_successor_resends_a_message_sent_but_not_recorded_under_the_same_id(
    city_db: Engine, fault_settings: Settings, webhook_receiver: WebhookReceiver
) -> None:
    """The documented hole: the leader is killed after the receiver took a message and
    before it recorded it. The successor sends it again, with the same message id, so
    the receiver can drop it; nothing is planned twice."""
    settings = with_hook(fault_settings, webhook_receiver.url)
    lease = settings.leader_lease_s
    a, b = engines(settings, city_db, "a", "b")
    write_states(city_db, states(sites_down({"s3": T0})))
    acted(a.tick(T0 + 5))
    dying = KilledAfterSend(settings, city_db)
    killed = Notifier(settings, city_db, dying, leader=leader_of(a), clock=lambda: T0 + 6)
    assert killed.step().queued == 1
    acted(b.tick(T0 + 5 + lease))
    successor = Notifier(settings, city_db, leader=leader_of(b), clock=lambda: T0 + 5 + lease)
    resent = successor.step()
    assert (resent.queued, resent.delivery.sent) == (0, 1)
    ids = [json.loads(r.body)["id"] for r in webhook_receiver.requests]
    assert ids == ["noc-hook:noc:1", "noc-hook:noc:1"]
    assert queued(city_db) == 1


class KilledAfterSend(Deliverer):
    """A delivery pass that sends every due message and dies before recording any."""

    def deliver_due(
        self, *, now: float | None = None, limit: int = 50, leader: Leader | None = None
    ) -> DeliveryReport:
        with transaction(self.engine) as session:
            due = outbox.due(session, now=T0 if now is None else now, limit=limit)
        for row in due:
            self._attempt(row)
        return DeliveryReport()


def test_both_engines_see_the_same_incident_states(
    city_db: Engine, fault_settings: Settings
) -> None:
    """What the standby reads after taking over is what the leader wrote (a sanity
    check of the scenario: the incident's state and members)."""
    a, b = engines(fault_settings, city_db, "a", "b")
    write_states(city_db, states(sites_down({"s3": T0})))
    acted(a.tick(T0 + 5))
    acted(b.tick(T0 + 5 + fault_settings.leader_lease_s))
    with transaction(city_db) as session:
        (view,) = incidents.active_incidents(session)
    assert (view.state, dict(view.aps)) == (IncidentState.OPEN, aps_of("s3"))
