"""Delivering the outbox: the transport registry (entry points, never a static import),
a dead webhook retried with growing backoff then failed, and a hanging receiver that
holds up neither the fault engine's cycles nor the notifier's stop."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from importlib.metadata import EntryPoint

import pytest
from sqlalchemy import Engine

from core.errors import ConfigError, DatabaseError
from core.settings import NotifyRoute, Settings
from faults import delivery
from faults.delivery import Deliverer, find_transport, transports_for
from faults.engine import FaultEngine
from faults.notifier import Notifier
from inventory import outbox
from inventory.db import transaction
from inventory.outbox import Status
from tests.faults.city import sites_down, states, write_states
from tests.fixtures.outbox import queue_message
from tests.fixtures.receivers import WebhookReceiver
from transports.email import EmailTransport
from transports.webhook import WebhookTransport

T0 = 1_767_225_600.0
SECRET = "whsec-delivery-S3cret"


def with_hook(settings: Settings, url: str, **timing: float) -> Settings:
    route = NotifyRoute(name="noc-hook", transport="webhook", url=url, secret=SECRET)
    return Settings(
        **{**settings.model_dump(exclude_unset=True), "notify_routes": [route], **timing}
    )


def test_the_registry_finds_the_built_in_transports() -> None:
    assert find_transport("webhook") is WebhookTransport
    assert find_transport("email") is EmailTransport
    with pytest.raises(ConfigError, match=r"no transport named 'pager' \(known: .*webhook"):
        find_transport("pager")


def test_an_installed_entry_point_is_found_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    points = [EntryPoint("pager", "transports.email:EmailTransport", delivery.ENTRY_POINT_GROUP)]

    def entry_points(*, group: str, name: str | None = None) -> list[EntryPoint]:
        assert group == "citywifi.transports"
        return [p for p in points if name is None or p.name == name]

    monkeypatch.setattr(delivery, "entry_points", entry_points)
    assert find_transport("pager") is EmailTransport
    points.append(EntryPoint("broken", "transports.nowhere:Nothing", delivery.ENTRY_POINT_GROUP))
    with pytest.raises(ConfigError, match="transport 'broken' cannot be loaded"):
        find_transport("broken")


def test_the_fault_package_never_imports_a_transport() -> None:
    code = (
        "import sys, faults.delivery, faults.notifier, citywifi.faults_cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'transports'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_route_its_transport_cannot_serve_is_refused_at_start(fault_settings: Settings) -> None:
    settings = with_hook(fault_settings, "http://127.0.0.1:9/")
    settings.notify_routes[0].secret = None
    with pytest.raises(ConfigError, match="route noc-hook: a webhook needs a secret"):
        transports_for(settings)


def test_a_dead_webhook_is_retried_with_growing_backoff_then_failed(
    city_db: Engine, fault_settings: Settings, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.default_status = 503
    timing = {"notify_retry_initial_s": 5.0, "notify_retry_max_s": 30.0, "notify_give_up_s": 120.0}
    settings = with_hook(fault_settings, webhook_receiver.url, notify_timeout_s=2.0, **timing)
    clock = [T0]
    deliverer = Deliverer(settings, city_db, clock=lambda: clock[0])
    row_id = queue_message(city_db, "noc-hook", now=T0)
    attempts: list[float] = []
    report = deliverer.deliver_due(now=T0)
    while report.next_due is not None:
        attempts.append(clock[0] - T0)
        assert report.retried == 1
        assert deliverer.deliver_due(now=report.next_due - 0.001).retried == 0  # not yet
        clock[0] = report.next_due
        report = deliverer.deliver_due()
    attempts.append(clock[0] - T0)
    assert report.failed == 1
    assert attempts == [0.0, 5.0, 15.0, 35.0, 65.0, 95.0, 120.0]
    assert len(webhook_receiver.requests) == len(attempts)
    ids = {r.headers["X-Citywifi-Message-Id"] for r in webhook_receiver.requests}
    assert ids == {"noc-hook:noc:1"}
    with transaction(city_db) as session:
        (row,) = outbox.listing(session, limit=10, offset=0)[0]
    assert (row.id, row.status, row.attempts) == (row_id, Status.FAILED, len(attempts))
    assert row.last_error is not None and "HTTP 503" in row.last_error
    assert row.last_error.startswith("route noc-hook (webhook http://127.0.0.1:")
    assert SECRET not in row.last_error and "t0ken-in-path" not in row.last_error


def test_a_message_for_a_route_no_longer_configured_fails(
    city_db: Engine, fault_settings: Settings
) -> None:
    queue_message(city_db, "gone", now=T0)
    report = Deliverer(fault_settings, city_db, {}).deliver_due(now=T0)
    assert (report.failed, report.next_due) == (1, None)
    with transaction(city_db) as session:
        (row,) = outbox.listing(session, limit=10, offset=0)[0]
    assert row.last_error == "route gone: no longer configured"


@dataclass(frozen=True)
class Planned:
    queued: int
    next_due: float | None


def test_a_step_plans_delivers_and_wakes_at_the_earliest_due_time(
    city_db: Engine, fault_settings: Settings, webhook_receiver: WebhookReceiver
) -> None:
    settings = with_hook(fault_settings, webhook_receiver.url)
    calls: list[float] = []

    def plan(engine: Engine, given: Settings, now: float) -> Planned:
        calls.append(now)
        queue_message(engine, "noc-hook", now=now, sequence=len(calls))
        return Planned(queued=1, next_due=now + 3.5)

    notifier = Notifier(settings, city_db, plan=plan, clock=lambda: T0)  # type: ignore[arg-type]
    step = notifier.step(T0)
    assert (step.queued, step.delivery.sent, step.wake_at) == (1, 1, T0 + 3.5)
    assert calls == [T0]
    webhook_receiver.wait_for_requests(1)


def test_a_failed_plan_is_logged_and_delivery_goes_on(
    city_db: Engine, fault_settings: Settings, webhook_receiver: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    settings = with_hook(fault_settings, webhook_receiver.url)
    queue_message(city_db, "noc-hook", now=T0)

    def plan(engine: Engine, given: Settings, now: float) -> Planned:
        raise DatabaseError("database is locked")

    notifier = Notifier(settings, city_db, plan=plan)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, "citywifi.notify"):
        step = notifier.step(T0)
    assert step.delivery.sent == 1
    assert step.wake_at == T0 + settings.fault_interval_s
    assert "notification planning failed: database is locked" in caplog.text


def test_a_hanging_receiver_delays_no_engine_cycle(
    city_db: Engine, fault_settings: Settings, webhook_receiver: WebhookReceiver
) -> None:
    """The notifier's thread waits on a receiver that accepted and never answers; the
    engine meanwhile runs cycles that open and resolve incidents, at full speed."""
    webhook_receiver.hang()
    settings = with_hook(fault_settings, webhook_receiver.url, notify_timeout_s=20.0)
    queue_message(city_db, "noc-hook", now=time.time())
    notifier = Notifier(settings, city_db, plan=lambda e, s, now: Planned(0, None))  # type: ignore[arg-type,return-value]
    stop = threading.Event()
    thread = notifier.start(stop)
    try:
        webhook_receiver.wait_for_requests(1)  # the send is in progress, and will hang
        engine = FaultEngine(settings, city_db)
        write_states(city_db, states(sites_down({"s3": T0})))
        durations = []
        for i in range(5):
            started = time.monotonic()
            engine.cycle(T0 + 10 * (i + 1))
            durations.append(time.monotonic() - started)
        assert max(durations) < 2.0, durations
        assert thread.is_alive() and len(webhook_receiver.requests) == 1  # still hanging
    finally:
        stop.set()
        notifier.nudge()
        webhook_receiver.release()
        thread.join(10)
    assert not thread.is_alive()


def test_an_incident_reaches_the_webhook_through_the_planner(
    city_db: Engine, fault_settings: Settings, webhook_receiver: WebhookReceiver
) -> None:
    """The whole path with the real planner: a site goes down, the engine opens one
    incident, the notifier plans it after the group wait and delivers it, signed."""
    settings = with_hook(
        fault_settings, webhook_receiver.url, notify_group_wait_s=30.0, fault_interval_s=60.0
    )
    write_states(city_db, states(sites_down({"s3": T0})))
    FaultEngine(settings, city_db).cycle(T0 + 10)
    notifier = Notifier(settings, city_db, clock=lambda: T0 + 10)
    first = notifier.step(T0 + 10)
    assert (first.queued, first.delivery.sent) == (0, 0)
    assert first.wake_at == T0 + 10 + 30  # the group wait, to the second
    second = notifier.step(first.wake_at)
    assert (second.queued, second.delivery.sent) == (1, 1)
    (request,) = webhook_receiver.requests
    body = json.loads(request.body)
    assert body["kind"] == "firing"
    assert [i["class"] for i in body["incidents"]] == ["site_down"]
    assert request.headers["X-Citywifi-Message-Id"] == body["id"]
    assert notifier.step(second.wake_at).queued == 0  # told once
