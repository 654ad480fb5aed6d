"""``citywifi faults``: the fault engine as its own process, one active for the whole city.

It reads what the collector(s) wrote (AP states in the inventory database, uptimes in
the metric store) and writes incidents; it polls nothing itself. It keeps no state of
its own, so it can be stopped and started at any time: a new one carries on from the
stored incidents. SIGTERM or Ctrl-C ends it after the cycle in progress (a cycle is one
transaction: it is written whole or not at all).

Several may run against one database (on several machines, so the city keeps its fault
engine when one dies): they elect one through a leader lease in the database
(:mod:`faults.leader`). The leader cycles and notifies; the others are standbys that
only try the lease each cycle, and one of them takes over within the lease
(``fault_leader_lease_s``, default three cycles) after the leader dies or hangs. The log
says which each process is, once per change. A graceful stop releases the lease at
once, so a standby takes over at its next cycle. ``--once`` acts only if it can take the
lease (and gives it back): beside a running leader it does nothing and says so.

Beside the engine, in a thread of its own, the notifier (:mod:`faults.notifier`) plans
notifications for the configured routes and delivers them: a receiver that hangs or is
down delays only its own messages, never a cycle. It is told after each cycle that
there may be something new to tell. It runs without ``notify_routes`` too: its step is
also what wipes the phone numbers of citizens' reports once their incident is resolved
(after telling them, when ``citizen_notify_route`` is set).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from citywifi.command import run_sync, settings_for
from core.errors import first_line

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from core.settings import Settings
    from faults.engine import CycleReport, FaultEngine
    from faults.leader import Leader
    from faults.notifier import Notifier

log = logging.getLogger("citywifi.faults")


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` (the loop ends after its cycle) instead of
    interrupting a transaction half-way."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


#: How long the stop waits for a delivery in progress. Not its whole timeout: a message
#: whose attempt is cut short stays pending (nothing of it was written) and is sent again
#: at the next start, under the same message id, so a receiver can drop the duplicate.
NOTIFIER_STOP_GRACE_S = 2.0


def _report_line(report: CycleReport) -> str:
    return (
        f"{report.aps} APs, {report.problems} problems: {report.opened} opened, "
        f"{report.reopened} reopened, {report.grown} grown, {report.merged} "
        f"merged, {report.resolved} resolved ({report.duration_s * 1000:.0f} ms)"
    )


def _notifier_for(settings: Settings, engine: Engine, leader: Leader) -> Notifier | None:
    """The notifier of the configured routes; a route its transport cannot serve is a
    ConfigError here, at start-up. It runs without routes too: its step also wipes the
    phone numbers of citizens' reports closed by their incident's resolution (after
    telling them, where a citizens' route is set), which must happen whatever is routed."""
    if not settings.notify_routes:
        log.info("notifications: no routes configured (notify_routes)")
    from faults.notifier import Notifier

    return Notifier(settings, engine, leader=leader)


def _release(leader: Leader) -> None:
    """Give the lease up at stop; a database that is away only delays the takeover (the
    lease then runs out by itself)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        leader.release()
    except SQLAlchemyError as exc:
        log.warning(
            "leader lease not released (a standby takes over when it runs out): %s",
            first_line(exc),
        )


def _run_both(
    settings: Settings, fault_engine: FaultEngine, notifier: Notifier | None, leader: Leader
) -> None:
    """The engine in this thread, the notifier in its own, until SIGTERM or Ctrl-C; then
    the lease is released (after the notifier stopped: a send it was in is recorded)."""
    stop = threading.Event()
    thread = notifier.start(stop) if notifier is not None else None

    def pause(seconds: float) -> bool:
        if notifier is not None:
            notifier.nudge()  # a cycle was just written: there may be news to tell
        return stop.wait(seconds)

    log.info(
        "fault engine %s: a cycle every %g s, leader lease %g s",
        leader.owner,
        settings.fault_interval_s,
        leader.lease_s,
    )
    try:
        with _stop_on_signals(stop):
            fault_engine.run(stop, wait=pause)
    finally:
        stop.set()
        if notifier is not None and thread is not None:
            notifier.nudge()
            thread.join(NOTIFIER_STOP_GRACE_S)
            if thread.is_alive():
                log.warning("notifier: a delivery cut short at stop is sent again at start")
        _release(leader)
    log.info("fault engine: stopped")


def _once(fault_engine: FaultEngine, notifier: Notifier | None, leader: Leader) -> None:
    """One cycle and one notifier step, if this process can take the lease; it is given
    back at the end either way."""
    import time

    from inventory import leadership
    from inventory.db import transaction

    if not leader.renew(time.time()):
        with transaction(leader.engine) as session:
            current = leadership.holder(session, leader.role)
        who = "another fault engine" if current is None else current.owner
        typer.echo(f"standby: {who} is the active fault engine; nothing done")
        return
    try:
        report = fault_engine.cycle()
        typer.echo(_report_line(report))
        if notifier is not None:
            step = notifier.step()
            typer.echo(
                f"notifications: {step.queued} queued, {step.delivery.sent} sent, "
                f"{step.delivery.retried} to retry, {step.delivery.failed} failed"
            )
    finally:
        _release(leader)


def faults(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option(help="Run one cycle, print what it did, exit.")] = False,
    interval: Annotated[
        float | None,
        typer.Option(min=0.5, help="Seconds between cycles [env CITYWIFI_FAULT_INTERVAL_S]."),
    ] = None,
) -> None:
    """Correlate AP states into incidents (one per real problem), until SIGTERM or Ctrl-C.

    Run one or more for the whole city, beside the collector(s): one acts (the leader),
    the others stand by and take over within the leader lease when it dies. The
    inventory database must exist at the current schema (else: `citywifi db upgrade`)."""
    settings = settings_for(ctx, fault_interval_s=interval)
    from faults.engine import FaultEngine
    from faults.leader import Leader
    from inventory.db import open_inventory
    from timeseries import open_store

    engine = run_sync(ctx, lambda: open_inventory(settings.db_url, create=False))
    try:
        store = run_sync(ctx, lambda: open_store(settings.store_url))
        try:
            leader = Leader(engine, settings.instance_name, settings.leader_lease_s)
            fault_engine = FaultEngine(settings, engine, store, leader=leader)
            notifier = run_sync(ctx, lambda: _notifier_for(settings, engine, leader), status=2)
            if once:
                run_sync(ctx, lambda: _once(fault_engine, notifier, leader))
                return
            run_sync(ctx, lambda: _run_both(settings, fault_engine, notifier, leader))
        finally:
            store.close()
    finally:
        engine.dispose()
