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

The outage classes are judged every cycle from the AP states. The metric and behaviour
classes (silent_failure, overload, backhaul_saturated: :mod:`faults.metric_classes`;
flapping, unexpected_reboot: :mod:`faults.behaviour`) need the metric store, which
changes once per poll, so they are judged in a *metric pass* at most once per
``poll_interval_s`` (and only with a store): the watched APs' newest samples are read
once and every judge gets them; the classes a judge spoke for are opened, kept and
resolved by the same decision, in the same transaction. A store that fails leaves those
classes unjudged for the pass (nothing opened or resolved from a hole in the data).
The only memory between cycles is when the last pass ran, and the judges' recomputable
caches (busy hours): a restarted engine loses nothing it cannot read again.

Several engines may run against one database; one acts (:mod:`faults.leader`). With a
``leader``, :meth:`FaultEngine.run` renews the lease at every cycle and a standby does
nothing else (no snapshot, no judging, no metric reads: one short transaction a cycle);
every cycle's transaction begins with the fencing check, so an engine that stalled past
its lease and wakes up after a takeover writes nothing, and the cycles' idempotence on
the stored state lets the successor carry on where the last committed cycle left off.
Without a ``leader`` (tests, a lone engine) every cycle acts.

The time is injected (``clock``, or ``now`` per cycle) so tests drive hours of outage
and recovery without sleeping.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.errors import CitywifiError, first_line
from core.settings import Settings
from faults.assessment import Assessment
from faults.behaviour import BehaviourJudge, boots_of
from faults.correlate import Key, Thresholds, correlate
from faults.leader import Leader
from faults.lifecycle import (
    Action,
    Boot,
    Grow,
    Merge,
    Open,
    Policy,
    Reopen,
    Resolve,
    StoredIncident,
    decide,
    verdict_wanted,
)
from faults.metric_classes import MetricJudge
from faults.snapshot import Snapshot, read_snapshot
from fieldwork.verify import verify_fixed
from inventory import incidents
from inventory.db import transaction
from timeseries.port import Latest, MetricStore

log = logging.getLogger("citywifi.faults")


class Judge(Protocol):
    """A judge of metric classes (faults.metric_classes.MetricJudge is one)."""

    def assess(
        self,
        snapshot: Snapshot,
        latest: Mapping[str, Latest],
        active: Sequence[StoredIncident],
        *,
        now: float,
    ) -> Assessment: ...


def metric_judges(settings: Settings, store: MetricStore) -> list[Judge]:
    """The judges of the metric classes the engine runs by default."""
    return [MetricJudge(settings, store)]


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
    verified: int = 0  # work orders telemetry showed fixed (fieldwork.verify)
    duration_s: float = 0.0
    metric_pass: bool = False  # the metric and behaviour classes were judged
    acted: bool = True  # False: fenced out (another engine leads), nothing read or written

    @property
    def changes(self) -> int:
        return self.opened + self.reopened + self.grown + self.merged + self.resolved


class FaultEngine:
    """Correlates the collector's AP states into incidents, one cycle at a time.

    ``store`` (optional) gives the APs' newest uptimes for the power-or-path verdict on
    recovery, and the metrics of the metric pass; without it incidents resolve without a
    verdict and only the outage classes are judged. ``judges`` replaces the metric
    judges (default: :func:`metric_judges`; tests give fakes). ``leader``: this
    process's standing among several engines (None: it alone acts, unfenced)."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        store: MetricStore | None = None,
        *,
        clock: Callable[[], float] = time.time,
        judges: Sequence[Judge] | None = None,
        leader: Leader | None = None,
    ) -> None:
        self.settings = settings
        self.leader = leader
        self.engine = engine
        self.store = store
        self.clock = clock
        self.thresholds = Thresholds.from_settings(settings)
        self.policy = Policy.from_settings(settings)
        self.judges: list[Judge] = []
        self.behaviour: BehaviourJudge | None = None
        if store is not None:
            self.judges = list(judges) if judges is not None else metric_judges(settings, store)
            self.behaviour = BehaviourJudge(settings, store)
        # When the last metric pass ran: only a pace, recomputed after a restart.
        self._last_pass: float | None = None

    def cycle(self, now: float | None = None) -> CycleReport:
        """One cycle at ``now`` (default: the clock), in one transaction; with a leader,
        one that first passed the fencing check (else nothing is read or written)."""
        now = self.clock() if now is None else now
        started = time.perf_counter()
        with transaction(self.engine) as session:
            if self.leader is not None and not self.leader.fence(session):
                return CycleReport(at=now, aps=0, problems=0, acted=False)
            snapshot = read_snapshot(session, now=now)
            problems = correlate(snapshot, self.thresholds)
            active = incidents.active_incidents(session)
            recent = incidents.recently_resolved(session, since=now - self.policy.reopen_s)
            wanted = verdict_wanted(active, snapshot, now=now, policy=self.policy)
            latest = self._latest(snapshot, now)
            assessments = (
                self._assess(session, snapshot, latest, active, recent, now)
                if latest is not None
                else []
            )
            if latest is not None:
                boots: Mapping[str, Boot] = boots_of({a: latest[a] for a in wanted if a in latest})
            else:
                boots = self._boots(wanted)
            actions = decide(
                problems,
                snapshot,
                active,
                recent,
                now=now,
                policy=self.policy,
                boots=boots,
                assessments=assessments,
            )
            known = {(v.kind, v.scope_id): v.id for v in sorted(active, key=lambda v: -v.id)}
            counts = _apply(session, actions, known, now, self.settings)
            # After the incidents are written: verifying a fix may resolve a citizens'
            # incident, which this cycle's decision must not then act on again.
            # Clients come from the SNMP poll or, for some vendors, the slower SSH poll.
            clients_s = max(self.settings.poll_interval_s, self.settings.ssh_poll_interval_s)
            verified = (
                verify_fixed(session, latest, now=now, poll_s=clients_s)
                if latest is not None
                else []
            )
        return CycleReport(
            at=now,
            aps=len(snapshot.aps),
            problems=len(problems),
            duration_s=time.perf_counter() - started,
            metric_pass=latest is not None,
            opened=counts["opened"],
            reopened=counts["reopened"],
            grown=counts["grown"],
            merged=counts["merged"],
            resolved=counts["resolved"],
            verified=len(verified),
        )

    def _latest(self, snapshot: Snapshot, now: float) -> Mapping[str, Latest] | None:
        """The watched APs' newest samples when a metric pass is due (at most one per
        poll interval, give or take half an engine cycle), else None."""
        if self.store is None or not (self.judges or self.behaviour):
            return None
        due = self.settings.poll_interval_s - self.settings.fault_interval_s / 2
        if self._last_pass is not None and now - self._last_pass < due:
            return None
        try:
            latest = self.store.latest(sorted(snapshot.aps))
        except CitywifiError as exc:
            log.warning("metric pass skipped, no latest samples: %s", exc)
            return None
        self._last_pass = now
        return latest

    def _assess(
        self,
        session: Session,
        snapshot: Snapshot,
        latest: Mapping[str, Latest],
        active: Sequence[StoredIncident],
        recent: Sequence[StoredIncident],
        now: float,
    ) -> list[Assessment]:
        """Every judge's word this pass; one that fails is left out (its classes are
        neither opened nor resolved) and the others still count."""
        found = []
        for judge in self.judges:
            try:
                found.append(judge.assess(snapshot, latest, active, now=now))
            except CitywifiError as exc:
                log.warning("%s skipped this pass: %s", type(judge).__name__, exc)
        if self.behaviour is not None:
            found += self.behaviour.assess(session, snapshot, latest, active, recent, now=now)
        return found

    def tick(self, now: float | None = None) -> CycleReport | None:
        """One turn of :meth:`run` at ``now`` (default: the clock): with a leader, the
        lease renewed first, and the cycle only while this engine leads (None: a
        standby, which does nothing else)."""
        now = self.clock() if now is None else now
        if self.leader is not None and not self.leader.renew(now):
            return None
        return self.cycle(now)

    def run(
        self,
        stop: threading.Event,
        *,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        """:meth:`tick` every ``fault_interval_s`` until ``stop`` is set.

        A failed turn (the database away, a lock held too long) is logged and the next
        one tries again: the engine must outlive a database restart. ``wait`` (default
        ``stop.wait``) is the pause between cycles, injectable for tests."""
        pause = stop.wait if wait is None else wait
        interval = self.settings.fault_interval_s
        while not stop.is_set():
            started = self.clock()
            try:
                report = self.tick(started)
            except (CitywifiError, SQLAlchemyError) as exc:
                log.warning("fault engine cycle failed: %s", first_line(exc))
            else:
                if report is not None:
                    log.debug(
                        "cycle: %d APs, %d problems, %d changes in %.3f s%s",
                        report.aps,
                        report.problems,
                        report.changes,
                        report.duration_s,
                        "" if report.acted else " (fenced out: another engine leads)",
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
        return boots_of(latest)


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
