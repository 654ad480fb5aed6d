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
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from core.errors import CitywifiError, first_line
from core.settings import Settings
from faults.delivery import Deliverer, DeliveryReport
from faults.leader import Leader
from faults.planner import PlanReport, plan_once

log = logging.getLogger("citywifi.notify")


#: A planning step: ``faults.planner.plan_once`` (tests pass their own).
Plan = Callable[[Engine, Settings, float], PlanReport]


def default_plan(engine: Engine, settings: Settings, now: float) -> PlanReport:
    return plan_once(engine, settings, now=now)


def fenced_plan(leader: Leader) -> Plan:
    """The default planning, fenced by ``leader``'s lease."""

    def plan(engine: Engine, settings: Settings, now: float) -> PlanReport:
        return plan_once(engine, settings, now=now, fence=leader.fence)

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
