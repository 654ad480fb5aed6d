"""The notifier: plans notifications from the incidents and delivers the outbox, in a
thread of its own beside the fault engine.

Its own thread because a receiver may hang for ``notify_timeout_s`` on every attempt:
the engine's cycles must go on meanwhile (the engine and the notifier share nothing but
the database, and a delivery holds no transaction while it waits). Each step plans
(``faults.planner.plan_once``: new outbox rows, in the planner's own transaction) and
then delivers what is due; the loop then sleeps until the earliest of the planner's next
due time (a group's wait or repeat, honoured to the second rather than rounded to a
tick), the outbox's next retry, ``fault_interval_s``, or a nudge (the engine finished a
cycle: there may be something new to tell).

Several ``citywifi faults`` may run against one database; only the leader's notifier
plans and delivers (``leader``, :mod:`faults.leader`): a standby's step does nothing, the
planning transaction begins with the fencing check (a stale leader queues nothing), and
so does the delivery's read of the due messages.

Delivery is at least once, never exactly once, and receivers must drop duplicates by
the message id (``X-Citywifi-Message-Id`` and the payload's ``id``, stable across
attempts and processes: "<route>:<group>:<sequence>"). The hole that remains: a send
and the record that it was sent cannot be one transaction with the receiver, so

- a leader killed (or cut off from the database) after a receiver took a message and
  before it recorded it as sent leaves the message pending: its successor sends it
  again, under the same id;
- a leader that stalls between asking whether its lease still runs and sending (a
  pause longer than what is left of its lease) may send while its successor sends the
  same message, under the same id.

Planning has no such hole: a message is queued in the transaction that decides it, once.

Citizens are told here too (:func:`tell_citizens`, part of each planning step, fenced
like it). The one rule: a report closed *because its incident was resolved* (by the
engine, a person or a verified work order: ``inventory.incidents.resolve``) keeps its
sealed phone number until this step, which, in one transaction, queues "the WiFi at
<site> you reported (report R-<id>) works again" to ``citizen_notify_route`` (when one is
set) and wipes the number, told or not. A report closed by hand loses its number at once
and is never told; one whose incident is open again by the time of the step waits until
it is resolved again. The citizens' route hears nothing else: incident messages are
planned for ``settings.incident_routes`` only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.errors import CitywifiError, ConflictError, first_line
from core.settings import Settings
from faults.delivery import BATCH, Deliverer, DeliveryReport
from faults.leader import Leader
from faults.planner import PlanReport, plan_once
from inventory import citizen_reports, notifications
from inventory.db import transaction

log = logging.getLogger("citywifi.notify")


#: A planning step: ``faults.planner.plan_once`` then :func:`tell_citizens` (tests pass
#: their own).
Plan = Callable[[Engine, Settings, float], PlanReport]

#: A citizen's message: what the site's name and the city's make of it.
CITIZEN_TEXT = (
    "The WiFi at {site} you reported (report R-{report}) works again. Thank you. — {city}"
)


def citizen_text(settings: Settings, report_id: int, site_name: str | None) -> str:
    """What the citizen who reported ``report_id`` is told (nothing of what they sent)."""
    return CITIZEN_TEXT.format(
        site=site_name or "the hotspot", report=report_id, city=settings.city_name
    )


def tell_citizens(
    engine: Engine,
    settings: Settings,
    *,
    now: float,
    fence: Callable[[Session], bool] | None = None,
    limit: int = BATCH,
) -> int:
    """Queue a message for each report closed by its incident's resolution that still
    holds a phone number (when ``citizen_notify_route`` names a route), and wipe those
    numbers, in one transaction; how many messages were queued. ``fence`` first, as
    for the planner. At most ``limit`` reports a step (the rest at the next ones).

    Another notifier that dealt with a report meanwhile (a leader past its lease) makes
    this one roll back whole (nothing queued twice); it is logged and left."""
    route = settings.citizen_notify_route
    try:
        with transaction(engine) as session:
            if fence is not None and not fence(session):
                return 0
            owed = citizen_reports.owed_notices(session, limit=limit)
            told = 0
            for notice in owed:
                if route is None or not notice.works_again:
                    continue
                notifications.queue_citizen_notice(
                    session,
                    route=route,
                    report_id=notice.id,
                    text=citizen_text(settings, notice.id, notice.site_name),
                    phone_sealed=notice.phone_sealed,
                    now=now,
                )
                told += 1
            citizen_reports.wipe_phones(session, (notice.id for notice in owed))
    except ConflictError as exc:
        log.warning("citizens' messages at %.3f given up, another notifier: %s", now, exc)
        return 0
    if owed:
        log.info("citizens: %d told, %d phone numbers wiped", told, len(owed))
    return told


def _incidents_only(settings: Settings) -> Settings:
    """``settings`` as the incident planner must see them: without the citizens' route."""
    if settings.citizen_notify_route is None:
        return settings
    return settings.model_copy(update={"notify_routes": settings.incident_routes})


def _step(
    engine: Engine, settings: Settings, now: float, fence: Callable[[Session], bool] | None
) -> PlanReport:
    planned = plan_once(engine, _incidents_only(settings), now=now, fence=fence)
    told = tell_citizens(engine, settings, now=now, fence=fence)
    return PlanReport(queued=planned.queued + told, next_due=planned.next_due)


def default_plan(engine: Engine, settings: Settings, now: float) -> PlanReport:
    return _step(engine, settings, now, None)


def fenced_plan(leader: Leader) -> Plan:
    """The default planning, fenced by ``leader``'s lease."""

    def plan(engine: Engine, settings: Settings, now: float) -> PlanReport:
        return _step(engine, settings, now, leader.fence)

    return plan


@dataclass(frozen=True)
class StepReport:
    queued: int
    delivery: DeliveryReport
    wake_at: float


def _failure(exc: Exception) -> str:
    return first_line(exc)


class Notifier:
    """Plans and delivers, one step at a time (``step``) or until stopped (``run``).

    ``leader``: this process's standing among several engines (None: it alone acts);
    with one, the default planning is fenced and only the leader delivers."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        deliverer: Deliverer | None = None,
        *,
        plan: Plan | None = None,
        clock: Callable[[], float] = time.time,
        leader: Leader | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.deliverer = deliverer or Deliverer(settings, engine, clock=clock)
        self.leader = leader
        self.plan = plan or (default_plan if leader is None else fenced_plan(leader))
        self.clock = clock
        self.wake = threading.Event()

    def step(self, now: float | None = None) -> StepReport:
        """Plan at ``now``, deliver what is due; say when the next step should run.
        A standby (``leader`` given, not leading at ``now``) does neither.

        A failure (the database away) is logged and the step retried at the next
        interval: the notifier outlives a database restart like the engine."""
        now = self.clock() if now is None else now
        wake_at = now + self.settings.fault_interval_s
        queued = 0
        if self.leader is not None and not self.leader.acting(now):
            return StepReport(queued=0, delivery=DeliveryReport(), wake_at=wake_at)
        try:
            planned = self.plan(self.engine, self.settings, now)
        except (CitywifiError, SQLAlchemyError) as exc:
            log.warning("notification planning failed: %s", _failure(exc))
        else:
            queued = planned.queued
            if planned.next_due is not None:
                wake_at = min(wake_at, planned.next_due)
        try:
            delivery = self.deliverer.deliver_due(now=now, leader=self.leader)
        except (CitywifiError, SQLAlchemyError) as exc:
            log.warning("notification delivery failed: %s", _failure(exc))
            delivery = DeliveryReport()
        if delivery.next_due is not None:
            wake_at = min(wake_at, delivery.next_due)
        return StepReport(queued=queued, delivery=delivery, wake_at=wake_at)

    def nudge(self) -> None:
        """Step now (the engine has just written a cycle)."""
        self.wake.set()

    def run(self, stop: threading.Event) -> None:
        """Step until ``stop`` is set; set ``stop`` then :meth:`nudge` to end it at once
        (a send in progress ends within its own timeout)."""
        while not stop.is_set():
            self.wake.clear()  # before the step: a nudge during it is not lost
            report = self.step()
            if stop.is_set():
                break
            self.wake.wait(max(0.0, report.wake_at - self.clock()))

    def start(self, stop: threading.Event) -> threading.Thread:
        """:meth:`run` in a daemon thread (a receiver hanging at exit cannot keep the
        process alive past its stop)."""
        thread = threading.Thread(target=self.run, args=(stop,), name="notifier", daemon=True)
        thread.start()
        return thread
