"""The fault engine: one cycle reads the city's state, decides, and writes the incidents.

A cycle is one database transaction: the snapshot (:mod:`faults.snapshot`), the active
and recently resolved incidents, the decision (:mod:`faults.correlate` then
:mod:`faults.lifecycle`, both pure) and its writes through :mod:`inventory.incidents`
(the only writer of incident rows). Everything the engine knows is in the database, so
it keeps no state between cycles: a second cycle on the same state changes nothing, and
an engine restarted after a crash carries on from the stored incidents, without
duplicates.

It runs centrally, one process for the whole city (``citywifi faults``, started by the
demo), never inside a collector shard, because only the whole city shows that the sites
down in three districts are the sites behind one uplink.

The time is injected (``clock``, or ``now`` per cycle) so tests drive hours of outage
and recovery without sleeping.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.errors import CitywifiError
from core.settings import Settings
from faults.correlate import Key, Thresholds, correlate
from faults.lifecycle import (
    Action,
    Boot,
    Grow,
    Merge,
    Open,
    Policy,
    Reopen,
    Resolve,
    decide,
    verdict_wanted,
)
from faults.snapshot import read_snapshot
from inventory import incidents
from inventory.db import transaction
from timeseries.port import MetricStore

log = logging.getLogger("citywifi.faults")

UPTIME = "uptime_s"


@dataclass(frozen=True)
class CycleReport:
    """What one cycle saw and did."""

    at: float
    aps: int
    problems: int
    opened: int = 0
    reopened: int = 0
    grown: int = 0
    merged: int = 0
    resolved: int = 0
    duration_s: float = 0.0

    @property
    def changes(self) -> int:
        return self.opened + self.reopened + self.grown + self.merged + self.resolved


class FaultEngine:
    """Correlates the collector's AP states into incidents, one cycle at a time.

    ``store`` (optional) gives the APs' newest uptimes for the power-or-path verdict on
    recovery; without it incidents resolve without a verdict."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        store: MetricStore | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.store = store
        self.clock = clock
        self.thresholds = Thresholds.from_settings(settings)
        self.policy = Policy.from_settings(settings)

    def cycle(self, now: float | None = None) -> CycleReport:
        """One cycle at ``now`` (default: the clock), in one transaction."""
        now = self.clock() if now is None else now
        started = time.perf_counter()
        with transaction(self.engine) as session:
            snapshot = read_snapshot(session, now=now)
            problems = correlate(snapshot, self.thresholds)
            active = incidents.active_incidents(session)
            recent = incidents.recently_resolved(session, since=now - self.policy.reopen_s)
            wanted = verdict_wanted(active, snapshot, now=now, policy=self.policy)
            boots = self._boots(wanted)
            actions = decide(
                problems, snapshot, active, recent, now=now, policy=self.policy, boots=boots
            )
            known = {(v.kind, v.scope_id): v.id for v in sorted(active, key=lambda v: -v.id)}
            counts = _apply(session, actions, known, now, self.settings)
        return CycleReport(
            at=now,
            aps=len(snapshot.aps),
            problems=len(problems),
            duration_s=time.perf_counter() - started,
            **counts,
        )

    def run(
        self,
        stop: threading.Event,
        *,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        """Cycle every ``fault_interval_s`` until ``stop`` is set.

        A failed cycle (the database away, a lock held too long) is logged and the next
        one tries again: the engine must outlive a database restart. ``wait`` (default
        ``stop.wait``) is the pause between cycles, injectable for tests."""
        pause = stop.wait if wait is None else wait
        interval = self.settings.fault_interval_s
        while not stop.is_set():
            started = self.clock()
            try:
                report = self.cycle(started)
            except (CitywifiError, SQLAlchemyError) as exc:
                reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
                log.warning("fault engine cycle failed: %s", reason[0] if reason else exc)
            else:
                log.debug(
                    "cycle: %d APs, %d problems, %d changes in %.3f s",
                    report.aps,
                    report.problems,
                    report.changes,
                    report.duration_s,
                )
            if stop.is_set():
                break
            pause(max(0.0, interval - (self.clock() - started)))

    def _boots(self, aps: Collection[str]) -> Mapping[str, Boot]:
        """The newest uptime sample of ``aps`` as boot times; empty without a store or
        when it fails (the verdict is then left out, the resolution still happens)."""
        if not aps or self.store is None:
            return {}
        try:
            latest = self.store.latest(sorted(aps))
        except CitywifiError as exc:
            log.warning("no uptimes for the verdict: %s", exc)
            return {}
        boots = {}
        for ap_id, found in latest.items():
            uptime, at = found.values.get(UPTIME), found.times.get(UPTIME)
            if uptime is not None and at is not None:
                boots[ap_id] = Boot(booted_at=at - uptime, seen_at=at)
        return boots


def _apply(
    session: Session, actions: list[Action], known: dict[Key, int], now: float, settings: Settings
) -> dict[str, int]:
    """Write ``actions`` (in their order) through inventory.incidents; count them."""
    counts = dict.fromkeys(("opened", "reopened", "grown", "merged", "resolved"), 0)
    for action in actions:
        if isinstance(action, Open):
            p = action.problem
            new_id = incidents.open_incident(
                session,
                kind=p.kind,
                scope_id=p.scope_id,
                district_id=p.district_id,
                aps=p.aps,
                explanation=p.explanation,
                now=now,
                responsible=settings.responsible_for(p.kind),
                evidence=p.evidence,
            )
            known[p.key] = new_id
            counts["opened"] += 1
            log.info("opened #%d %s %s: %s", new_id, p.kind, p.scope_id, p.explanation)
        elif isinstance(action, Reopen):
            p = action.problem
            incidents.reopen(session, action.incident_id, now=now, aps=p.aps, detail=p.evidence)
            incidents.set_explanation(session, action.incident_id, p.explanation, now=now)
            known[p.key] = action.incident_id
            counts["reopened"] += 1
            log.info("reopened #%d %s %s", action.incident_id, p.kind, p.scope_id)
        elif isinstance(action, Grow):
            shown = ", ".join(action.added[:12]) + (" ..." if len(action.added) > 12 else "")
            incidents.set_aps(
                session,
                action.incident_id,
                action.aps,
                now=now,
                detail=f"{len(action.added)} more APs down: {shown}",
            )
            incidents.set_explanation(session, action.incident_id, action.explanation, now=now)
            counts["grown"] += 1
            log.info("#%d grew by %d APs", action.incident_id, len(action.added))
        elif isinstance(action, Merge):
            into = known[action.into]
            incidents.merge(session, action.child_id, into, now=now)
            counts["merged"] += 1
            log.info("merged #%d into #%d", action.child_id, into)
        elif isinstance(action, Resolve):
            incidents.resolve(
                session,
                action.incident_id,
                now=now,
                actor=None,
                note=action.note,
                verdict=action.verdict,
            )
            counts["resolved"] += 1
            log.info("resolved #%d: %s", action.incident_id, action.note)
    return counts
