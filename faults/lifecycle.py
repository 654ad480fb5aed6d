"""What to do with the incidents, given the problems now: open, grow, merge, reopen, resolve.

Pure: the decision depends only on its arguments (the problems, the snapshot they came
from, the stored incidents, the time and the policy), so it is table-tested, and a second
cycle on the same state decides nothing, which is what makes the engine idempotent and
lets it resume after a restart from the stored incidents alone.

The rules, one place each:

- A problem whose (class, scope) has an active incident keeps it; APs it has gained
  join it (members only ever grow while it is open: the incident records every AP the
  problem touched, recovered ones too).
- A problem whose APs all belong to an active incident that explains at least as much
  (same or larger rank, :data:`faults.correlate.RANK`) is that incident's, seen while it
  recovers part by part: nothing is opened.
- Otherwise the problem is new, and once it is settled (:mod:`faults.correlate`: what
  it is can no longer change with the next polls) an incident of the same class and
  scope resolved less than ``reopen_s`` ago is reopened, else one is opened. One
  resolved by a person while the same outage went on (every AP down since before it was
  resolved) is left resolved: the operator has dealt with it.
- An active incident of smaller rank that shares APs with a problem is merged into the
  problem's incident (a site_down that turns out to be part of an area outage).
- An active incident that no problem holds resolves when every member still watched has
  been up for ``hold_s`` (so a flapping AP does not churn); APs no longer watched
  (disabled, removed, site retired) do not hold it open. Its verdict, for the classes
  that cut whole sites, comes from the members' uptimes: booted after the incident
  opened means they lost power, an uptime older than that means the path was cut.

The other classes (metric and behaviour: :mod:`faults.assessment`) are managed only in
the cycles an :class:`~faults.assessment.Assessment` judges them: a present problem
keeps, opens or reopens its incident as above; an active one whose key the assessment
says ``recovered`` resolves with the assessment's note; one of a class nobody judged
this cycle is left alone. ``flapping`` explains its AP's ``ap_down``: an active ap_down
of a flapping AP is merged into the flapping incident, and none opens while it is
active (a flapping AP is sometimes judged down between two answers).

Citizens' reports (issue 16): a ``citizen_reported`` incident is opened by a report,
never by the engine, and the engine never resolves it (the monitoring may see nothing
wrong: that is the point of the report) nor lets it cover a problem of its own. Once a
problem of any engine class shares an AP with it, the engine has found the cause: the
citizens' incident is merged into the problem's (its reports and priority follow).

Maintenance: APs under a maintenance window are not in the snapshot. An active incident
every watched member of which has left it for maintenance resolves saying so (the
planned work, not the AP's recovery, ended it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from core.incidents import IncidentClass, Verdict
from core.settings import Settings
from core.states import ApState
from faults.assessment import Assessment
from faults.correlate import RANK, Key, Problem
from faults.snapshot import Snapshot

#: Classes whose recovery tells power from path by the APs' uptime.
VERDICT_CLASSES = frozenset(
    {IncidentClass.SITE_DOWN, IncidentClass.UPLINK_DOWN, IncidentClass.AREA_OUTAGE}
)


#: Opened by citizens' reports only: merged into the engine's incidents, never resolved.
CITIZENS = IncidentClass.CITIZEN_REPORTED


class StoredIncident(Protocol):
    """What the lifecycle reads of a stored incident (inventory.incidents.IncidentView
    has it all; the protocol keeps this module free of the database)."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> IncidentClass: ...
    @property
    def scope_id(self) -> str: ...
    @property
    def opened_at(self) -> float: ...
    @property
    def resolved_at(self) -> float | None: ...
    @property
    def resolved_by(self) -> str | None: ...
    @property
    def aps(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class Policy:
    """The lifecycle settings (core.settings incident_hold_s, incident_reopen_s).

    ``lead_s`` bounds how long before an incident opened its outage may have begun (the
    collector's failures before "down", plus an engine cycle): an AP that booted after
    ``opened_at - lead_s`` booted during the outage."""

    hold_s: float = 60.0
    reopen_s: float = 900.0
    lead_s: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        lead = (
            settings.down_after_failures * (settings.poll_interval_s + settings.snmp_timeout_s)
            + settings.fault_interval_s
        )
        return cls(settings.incident_hold_s, settings.incident_reopen_s, lead)


@dataclass(frozen=True, slots=True)
class Boot:
    """An AP's boot time as its newest uptime sample says: ``booted_at`` = the sample's
    time minus the uptime, ``seen_at`` = the sample's time."""

    booted_at: float
    seen_at: float


@dataclass(frozen=True)
class Open:
    problem: Problem


@dataclass(frozen=True)
class Reopen:
    incident_id: int
    problem: Problem


@dataclass(frozen=True)
class Grow:
    """Members become ``aps`` (the old ones and ``added``); the explanation is renewed."""

    incident_id: int
    aps: Mapping[str, str]
    added: tuple[str, ...]
    explanation: str


@dataclass(frozen=True)
class Merge:
    """``child_id`` is part of the incident of problem ``into`` (opened, reopened or kept
    in the same cycle: the engine knows its id once the opens are applied)."""

    child_id: int
    into: Key


@dataclass(frozen=True)
class Resolve:
    incident_id: int
    verdict: Verdict | None
    note: str


Action = Open | Reopen | Grow | Merge | Resolve


def _key(incident: StoredIncident) -> Key:
    return (IncidentClass(incident.kind), incident.scope_id)


def _managed(
    incidents: Iterable[StoredIncident], classes: Collection[IncidentClass] = RANK.keys()
) -> list[StoredIncident]:
    return sorted((i for i in incidents if i.kind in classes), key=lambda i: i.id)


def explains(parent: IncidentClass, child: IncidentClass, *, strictly: bool) -> bool:
    """Whether an incident of class ``parent`` holding an AP explains a ``child`` on it:
    a larger outage a smaller one (:data:`RANK`; ``strictly``: larger, else at least as
    large), a flapping AP its own ap_down, and any class of the engine what citizens
    report (a citizens' incident explains nothing: it is a symptom, not a cause). One
    place for the rule, used both to merge children and to absorb problems into an open
    incident."""
    if parent is CITIZENS:
        return False
    if child is CITIZENS:
        return True
    if parent in RANK and child in RANK:
        return RANK[parent] > RANK[child] if strictly else RANK[parent] >= RANK[child]
    return parent is IncidentClass.FLAPPING and child is IncidentClass.AP_DOWN


def decide(
    problems: Sequence[Problem],
    snapshot: Snapshot,
    active: Iterable[StoredIncident],
    recent: Iterable[StoredIncident],
    *,
    now: float,
    policy: Policy,
    boots: Mapping[str, Boot] | None = None,
    assessments: Sequence[Assessment] = (),
) -> list[Action]:
    """The actions that bring the incidents in line with ``problems`` (the outage
    classes, from :func:`faults.correlate.correlate`) and ``assessments`` (the classes
    each judged this cycle), in the order the engine applies them: opens and reopens,
    growth, merges, then resolutions."""
    judged: set[IncidentClass] = set()
    recovered: dict[Key, str] = {}
    assessed: list[Problem] = []
    for assessment in assessments:
        judged |= assessment.judged
        assessed += [p for p in assessment.problems if p.kind in assessment.judged]
        for key in assessment.recovered:
            if key[0] in assessment.judged:
                recovered[key] = assessment.notes.get(key, "condition gone")
    classes = RANK.keys() | judged
    every_active = _managed(active, set(IncidentClass))
    active_list = _managed(active, classes)
    # What a problem may merge: the engine's own incidents, and the citizens' (which are
    # otherwise left alone: not in active_list, so never resolved here).
    children = _managed(active, classes | {CITIZENS})
    active_by_key: dict[Key, StoredIncident] = {}
    for incident in every_active:
        active_by_key.setdefault(_key(incident), incident)
    flapping = {ap for p in assessed if p.kind is IncidentClass.FLAPPING for ap in p.aps}
    problems = [
        p
        for p in [*problems, *assessed]
        if not (p.kind is IncidentClass.AP_DOWN and p.aps.keys() <= flapping)
    ]
    latest_resolved: dict[Key, StoredIncident] = {}
    for incident in _managed(recent, classes):
        at = incident.resolved_at
        if at is None or now - at > policy.reopen_s:
            continue
        seen = latest_resolved.get(_key(incident))
        if seen is None or (seen.resolved_at or 0.0) < at:
            latest_resolved[_key(incident)] = incident

    openings: list[Action] = []
    growth: list[Action] = []
    merges: list[Action] = []
    held: set[int] = set()  # incidents a problem keeps open this cycle
    merged: set[int] = set()
    for problem in sorted(problems, key=lambda p: (-p.rank, p.scope_id)):
        kept = active_by_key.get(problem.key)
        if kept is not None:
            held.add(kept.id)
            added = tuple(sorted(problem.aps.keys() - kept.aps.keys()))
            if added:
                aps = {**kept.aps, **problem.aps}
                growth.append(Grow(kept.id, aps, added, problem.explanation))
        else:
            covering = _covering(problem, [i for i in every_active if _key(i) not in recovered])
            if covering is not None:
                held.add(covering.id)
                if covering.id not in merged:
                    # The problem is the covering incident's, and so are the citizens'
                    # reports about its APs.
                    citizens = [c for c in children if c.kind is CITIZENS]
                    merges += _merges(problem, _key(covering), citizens, merged)
                continue
            if not problem.settled:
                continue  # not yet known what it is: the next cycles will say
            previous = latest_resolved.get(problem.key)
            if previous is not None and _resolved_by_hand_during(previous, problem, snapshot):
                continue
            if previous is not None:
                openings.append(Reopen(previous.id, problem))
            else:
                openings.append(Open(problem))
        explained = [
            c
            for c in children
            if c.id not in held and explains(problem.kind, c.kind, strictly=True)
        ]
        merges += _merges(problem, problem.key, explained, merged)

    resolutions: list[Action] = []
    for incident in active_list:
        if incident.id in held or incident.id in merged:
            continue
        if _left_for_maintenance(incident, snapshot):
            resolutions.append(_maintenance_resolution(incident, snapshot))
        elif incident.kind not in RANK:
            if _key(incident) in recovered:
                resolutions.append(Resolve(incident.id, None, recovered[_key(incident)]))
        elif _recovered(incident, snapshot, now, policy.hold_s):
            resolutions.append(_resolution(incident, snapshot, policy, boots or {}))
    return openings + growth + merges + resolutions


def _merges(
    problem: Problem, into: Key, candidates: Iterable[StoredIncident], merged: set[int]
) -> list[Action]:
    """Merge each candidate sharing an AP with ``problem`` into the incident of ``into``,
    once (``merged`` is updated: a child goes to the first, largest problem only)."""
    found: list[Action] = []
    for child in candidates:
        if (
            child.id not in merged
            and _key(child) != into
            and not problem.aps.keys().isdisjoint(child.aps.keys())
        ):
            merged.add(child.id)
            found.append(Merge(child.id, into))
    return found


def _left_for_maintenance(incident: StoredIncident, snapshot: Snapshot) -> bool:
    """No member is watched any more and at least one left for a maintenance window."""
    return not any(ap in snapshot.aps for ap in incident.aps) and any(
        ap in snapshot.maintenance for ap in incident.aps
    )


def _maintenance_resolution(incident: StoredIncident, snapshot: Snapshot) -> Resolve:
    """Planned work took the members out of watch: say so, not "answering again"."""
    n, under = len(incident.aps), sum(ap in snapshot.maintenance for ap in incident.aps)
    if under == n:
        what = "its AP is" if n == 1 else f"all {n} of its APs are"
        note = f"{what} under a maintenance window: planned work, not a recovery"
    else:
        note = (
            f"{under} of its {n} APs are under a maintenance window and the others are no "
            "longer watched: planned work, not a recovery"
        )
    return Resolve(incident.id, None, note)


def verdict_wanted(
    active: Iterable[StoredIncident], snapshot: Snapshot, *, now: float, policy: Policy
) -> set[str]:
    """The APs whose boot times a verdict may need this cycle: members of the active
    incidents of :data:`VERDICT_CLASSES` that have recovered (so the engine asks the
    metric store only when something is about to resolve)."""
    return {
        ap_id
        for incident in _managed(active)
        if incident.kind in VERDICT_CLASSES and _recovered(incident, snapshot, now, policy.hold_s)
        for ap_id in incident.aps
        if ap_id in snapshot.aps
    }


def _covering(problem: Problem, active: Sequence[StoredIncident]) -> StoredIncident | None:
    """An active incident (another class or scope) of at least the problem's rank that
    already holds every AP of the problem."""
    for incident in active:
        if (
            _key(incident) != problem.key
            and explains(incident.kind, problem.kind, strictly=False)
            and problem.aps.keys() <= incident.aps.keys()
        ):
            return incident
    return None


def _resolved_by_hand_during(
    previous: StoredIncident, problem: Problem, snapshot: Snapshot
) -> bool:
    """A person resolved ``previous`` while this same problem went on (an outage: every
    AP down since before; another class: the problem began before)."""
    at = previous.resolved_at
    if previous.resolved_by is None or at is None:
        return False
    if problem.kind not in RANK:
        return problem.since <= at
    return all(snapshot.since(ap) <= at for ap in problem.aps if ap in snapshot.aps)


def _recovered(incident: StoredIncident, snapshot: Snapshot, now: float, hold_s: float) -> bool:
    """Every member still watched has been up for at least ``hold_s``."""
    for ap_id in incident.aps:
        ap = snapshot.aps.get(ap_id)
        if ap is None:
            continue
        if ap.state is not ApState.UP:
            return False
        if ap.since is not None and now - ap.since < hold_s:
            return False
    return True


def _resolution(
    incident: StoredIncident, snapshot: Snapshot, policy: Policy, boots: Mapping[str, Boot]
) -> Resolve:
    watched = [a for a in incident.aps if a in snapshot.aps]
    verdict = None
    if incident.kind in VERDICT_CLASSES:
        verdict = verdict_of(incident, snapshot, boots, lead_s=policy.lead_s)
    note = (
        f"all {len(watched)} APs answering again for {policy.hold_s:.0f} s"
        if len(watched) != 1
        else f"answering again for {policy.hold_s:.0f} s"
    )
    if verdict is Verdict.POWER:
        note += "; their uptime restarted: they lost power"
    elif verdict is Verdict.PATH:
        note += "; their uptime is intact: the path to them was cut"
    return Resolve(incident.id, verdict, note)


def verdict_of(
    incident: StoredIncident,
    snapshot: Snapshot,
    boots: Mapping[str, Boot],
    *,
    lead_s: float = 0.0,
) -> Verdict | None:
    """Power or path, by majority of the members with an uptime sample taken since the
    incident opened (so since they came back: a down AP gives no sample): booted after
    the outage began (``opened_at - lead_s``) = power; before = path. None when no member
    has such a sample (or it is a tie)."""
    power = path = 0
    for ap_id in incident.aps:
        ap = snapshot.aps.get(ap_id)
        boot = boots.get(ap_id)
        if ap is None or boot is None or ap.state is not ApState.UP:
            continue
        if boot.seen_at <= incident.opened_at:
            continue  # from before the outage (a down AP gives none): says nothing of it
        if boot.booted_at > incident.opened_at - lead_s:
            power += 1
        else:
            path += 1
    if power > path:
        return Verdict.POWER
    if path > power:
        return Verdict.PATH
    return None
