"""The behaviour classes: ``flapping`` and ``unexpected_reboot``, judged from how an AP
behaved over the last minutes rather than from its state now.

- **flapping** (scope AP): at least ``flap_min_changes`` state changes within
  ``flap_window_s``. Two sources are read and the larger count wins: the collector's
  transitions (``ap_events``) and the flips of the ``reachable`` series. The second is
  what catches a flapping AP polled less often than it flaps: with
  ``down_after_failures`` 2, an AP that drops every other poll is never judged down, yet
  every answered poll after a lost one is a change. Counting starts again when its last
  flapping incident was resolved, so an incident that just resolved is not reopened by the
  changes it was resolved for. Recovery: the AP up and no poll lost for
  ``max(incident_hold_s, 2 poll intervals)`` (one answered poll between two lost ones is
  no recovery). A flapping AP's ap_down is explained by it (:mod:`faults.lifecycle`).
- **unexpected_reboot** (scope AP): its uptime restarted (booted_at = sample time - uptime,
  within ``reboot_window_s``) while the collector kept it up across the boot (up since
  at least a poll interval before it), outside any maintenance window of that AP, and
  not while an outage incident held it (a power cut's boot is the outage's, told by its
  verdict). A sysUpTime wrap
  (TimeTicks wrap after 2^32 centiseconds, ~497 days: the sample before the "boot" was
  near the wrap and the uptime carried on from it) is not a reboot. Recovery: up for
  ``incident_hold_s`` since the boot with no newer one; a new boot after the incident was
  resolved opens it again (reopened within ``incident_reopen_s``).

The decisions (:func:`flapping`, :func:`reboot_candidates`, :func:`reboots`) are pure and
table-tested; :class:`BehaviourJudge` reads their inputs in the engine's cycle: one query
of ``ap_events``, one of the maintenance windows, one store aggregate, and a ``series``
read only for the few APs the aggregate or the uptimes single out.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import CitywifiError
from core.incidents import IncidentClass
from core.settings import FaultThresholds, Settings
from core.states import ApState
from faults.assessment import Assessment
from faults.correlate import RANK, Key, Problem
from faults.lifecycle import Boot, Policy, StoredIncident
from faults.snapshot import Snapshot
from faults.words import ap_label, clock, site_label
from inventory.maintenance import Span, windows_by_ap
from inventory.models import ApEvent
from timeseries.port import Latest, MetricStore

log = logging.getLogger("citywifi.faults")

FLAPPING = IncidentClass.FLAPPING
REBOOT = IncidentClass.UNEXPECTED_REBOOT

#: sysUpTime is TimeTicks (centiseconds, 32 bits): it wraps after this many seconds.
WRAP_S = 2**32 / 100
#: How far a wrap's arithmetic may be off (sample times vs the agent's clock).
WRAP_TOLERANCE_S = 10.0
#: At most this many ``series`` reads per metric pass (a city-wide outage recovering
#: makes many APs look like candidates; the most likely are read first).
MAX_SERIES = 500
#: At most this many times named in an evidence line.
EVIDENCE_TIMES = 12
#: A poll interval in which at least this many watched APs (and at least
#: :data:`MASS_LOSS_SHARE` of them) lost their poll is a loss of the collector or of the
#: network in front of it, not flapping of each AP: those polls are left out of the
#: flapping count (an outage of that size is the outage classes' business).
MASS_LOSS_MIN_APS = 10
MASS_LOSS_SHARE = 0.05

UPTIME = "uptime_s"
REACHABLE = "reachable"


@dataclass(frozen=True, slots=True)
class Reachability:
    """One AP's recent polls: ``transitions`` (collector state changes between up and
    down), ``flips`` (answered after lost or lost after answered, from ``reachable``) and
    ``lost`` (when polls were lost, or it was judged down)."""

    transitions: tuple[float, ...] = ()
    flips: tuple[float, ...] = ()
    lost: tuple[float, ...] = ()


def _label(snapshot: Snapshot, ap_id: str) -> str:
    return f"AP {ap_label(snapshot, ap_id)} at {site_label(snapshot, snapshot.aps[ap_id].site_id)}"


def _thresholds(settings: Settings, snapshot: Snapshot, ap_id: str) -> FaultThresholds:
    return settings.thresholds_for(snapshot.sites[snapshot.aps[ap_id].site_id].kind)


def _by_ap(incidents: Iterable[StoredIncident], kind: IncidentClass) -> dict[str, StoredIncident]:
    """The incident of ``kind`` per AP (scope id); the newest resolution wins."""
    found: dict[str, StoredIncident] = {}
    for incident in incidents:
        if incident.kind is not kind:
            continue
        seen = found.get(incident.scope_id)
        if seen is None or (incident.resolved_at or math.inf) > (seen.resolved_at or math.inf):
            found[incident.scope_id] = incident
    return found


def _problem(
    snapshot: Snapshot, kind: IncidentClass, ap_id: str, since: float, why: str, evidence: str
) -> Problem:
    ap = snapshot.aps[ap_id]
    return Problem(
        kind=kind,
        scope_id=ap_id,
        district_id=snapshot.sites[ap.site_id].district_id,
        aps={ap_id: ap.site_id},
        since=since,
        explanation=f"{_label(snapshot, ap_id)} {why}",
        evidence=evidence,
    )


# --- flapping --------------------------------------------------------------------------


def quiet_after(settings: Settings) -> float:
    """How long without a lost poll ends flapping: the hold, and at least two polls."""
    return max(settings.incident_hold_s, 2 * settings.poll_interval_s)


def flapping(
    snapshot: Snapshot,
    reach: Mapping[str, Reachability],
    active: Iterable[StoredIncident],
    recent: Iterable[StoredIncident],
    *,
    now: float,
    settings: Settings,
) -> Assessment:
    """The flapping APs now, and the flapping incidents that may resolve."""
    current = _by_ap(active, FLAPPING)
    resolved = _by_ap(recent, FLAPPING)
    quiet = quiet_after(settings)
    problems: list[Problem] = []
    recovered: set[Key] = set()
    notes: dict[Key, str] = {}
    for ap_id, seen in sorted(reach.items()):
        ap = snapshot.aps.get(ap_id)
        if ap is None:
            continue
        last_lost = max(seen.lost, default=-math.inf)
        down_for = now - snapshot.since(ap_id) if ap.state is ApState.DOWN else 0.0
        key = (FLAPPING, ap_id)
        if ap_id in current:
            if down_for >= quiet:
                recovered.add(key)
                notes[key] = f"stopped flapping: down for {down_for:.0f} s (an ap_down follows)"
            elif ap.state is ApState.UP and now - last_lost >= quiet:
                recovered.add(key)
                notes[key] = f"no poll lost for {quiet:.0f} s: stable again"
            continue
        if now - last_lost >= quiet or down_for >= quiet:
            continue
        thresholds = _thresholds(settings, snapshot, ap_id)
        start = now - thresholds.flap_window_s
        before = resolved.get(ap_id)
        if before is not None and before.resolved_at is not None:
            start = max(start, before.resolved_at)
        transitions = [t for t in seen.transitions if start <= t <= now]
        flips = [t for t in seen.flips if start <= t <= now]
        changes = max(transitions, flips, key=len)
        if len(changes) < thresholds.flap_min_changes:
            continue
        minutes = thresholds.flap_window_s / 60
        source = "state changes" if changes is transitions else "answered/lost flips"
        shown = ", ".join(clock(t) for t in changes[-EVIDENCE_TIMES:])
        problems.append(
            _problem(
                snapshot,
                FLAPPING,
                ap_id,
                min(changes),
                f"changed state {len(changes)} times in the last {minutes:.0f} min "
                "(lost polls between answers): unstable power, cable, radio or firmware",
                f"{source}: {shown}",
            )
        )
    for ap_id in current:
        if ap_id not in reach and ap_id in snapshot.aps and snapshot.aps[ap_id].state is ApState.UP:
            key = (FLAPPING, ap_id)
            recovered.add(key)
            notes[key] = f"no poll lost for {quiet:.0f} s: stable again"
    return Assessment(frozenset({FLAPPING}), problems, frozenset(recovered), notes)


def mass_loss(
    polls: Mapping[str, Sequence[tuple[float, float | None]]], watched: int
) -> frozenset[float]:
    """The buckets (start times, shared by every AP's series of one pass) in which so
    many APs lost their poll at once that the loss was the collector's or its network's
    (:data:`MASS_LOSS_MIN_APS`, :data:`MASS_LOSS_SHARE` of ``watched``)."""
    floor = max(MASS_LOSS_MIN_APS, MASS_LOSS_SHARE * watched)
    lost = Counter(
        ts for values in polls.values() for ts, value in values if value is not None and value < 0.5
    )
    return frozenset(ts for ts, n in lost.items() if n >= floor)


def flips_of(values: Sequence[tuple[float, float | None]], step: float) -> Reachability:
    """``reachable`` buckets (start, mean; None: no poll) as flips and lost polls: a
    bucket under 0.5 is a lost poll (ended by the bucket's end)."""
    flips: list[float] = []
    lost: list[float] = []
    previous: bool | None = None
    for ts, value in values:
        if value is None:
            continue
        answered = value >= 0.5
        if not answered:
            lost.append(ts + step)
        if previous is not None and answered != previous:
            flips.append(ts)
        previous = answered
    return Reachability(flips=tuple(flips), lost=tuple(lost))


# --- unexpected reboot -----------------------------------------------------------------


def boots_of(latest: Mapping[str, Latest]) -> dict[str, Boot]:
    """Per AP, its boot time as its newest uptime sample says."""
    boots = {}
    for ap_id, found in latest.items():
        uptime, at = found.values.get(UPTIME), found.times.get(UPTIME)
        if uptime is not None and at is not None:
            boots[ap_id] = Boot(booted_at=at - uptime, seen_at=at)
    return boots


def _in_window(at: float, spans: Iterable[Span]) -> bool:
    return any(starts <= at <= ends for starts, ends in spans)


def _outage_held(
    ap_id: str, at: float, outages: Iterable[StoredIncident], lead_s: float
) -> StoredIncident | None:
    for incident in outages:
        if incident.kind not in RANK or ap_id not in incident.aps:
            continue
        ended = math.inf if incident.resolved_at is None else incident.resolved_at
        if incident.opened_at - lead_s <= at <= ended:
            return incident
    return None


def reboot_candidates(
    snapshot: Snapshot,
    boots: Mapping[str, Boot],
    windows: Mapping[str, Sequence[Span]],
    active: Sequence[StoredIncident],
    recent: Sequence[StoredIncident],
    *,
    now: float,
    settings: Settings,
    lead_s: float,
    slack_s: float = 0.0,
) -> list[str]:
    """The APs whose newest boot looks unexpected (before the wrap check, which needs
    the sample before it): recent, kept up across it, not planned, not an outage's, and
    not yet told (no active incident, none resolved since that boot).

    "Kept up across it" means judged up more than ``slack_s`` before the boot: a boot
    time is a sample's time minus an uptime, off by the poll's latency, so an AP that
    came back from an outage by booting (up since just after the boot) must not look
    as if it had rebooted while up."""
    current = _by_ap(active, REBOOT)
    resolved = _by_ap(recent, REBOOT)
    outages = [*active, *recent]
    found = []
    for ap_id, boot in sorted(boots.items()):
        ap = snapshot.aps.get(ap_id)
        if ap is None or ap.state is not ApState.UP or ap_id in current:
            continue
        window = _thresholds(settings, snapshot, ap_id).reboot_window_s
        if (
            now - boot.booted_at > window
            or ap.since is None
            or ap.since >= boot.booted_at - slack_s
        ):
            continue
        before = resolved.get(ap_id)
        if before is not None and (before.resolved_at or -math.inf) >= boot.booted_at:
            continue
        if _in_window(boot.booted_at, windows.get(ap_id, ())):
            continue
        if _outage_held(ap_id, boot.booted_at, outages, lead_s) is not None:
            continue
        found.append(ap_id)
    return found


def is_wrap(boot: Boot, previous: tuple[float, float] | None, tolerance: float) -> bool:
    """Whether the uptime "reset" is sysUpTime wrapping: the sample before it
    (``previous`` = (time, uptime)) carried on to the wrap exactly when the new uptime
    says it restarted."""
    if previous is None:
        return False
    at, uptime = previous
    return abs(uptime + (boot.booted_at - at) - WRAP_S) <= tolerance


def reboots(
    snapshot: Snapshot,
    boots: Mapping[str, Boot],
    candidates: Iterable[str],
    previous: Mapping[str, tuple[float, float] | None],
    active: Sequence[StoredIncident],
    *,
    now: float,
    settings: Settings,
    tolerance: float = WRAP_TOLERANCE_S,
) -> Assessment:
    """Unexpected reboots among ``candidates`` (see :func:`reboot_candidates`; a wrap
    is none), and the reboot incidents that may resolve."""
    problems = []
    for ap_id in candidates:
        boot = boots[ap_id]
        if is_wrap(boot, previous.get(ap_id), tolerance):
            continue
        uptime = boot.seen_at - boot.booted_at
        up_since = snapshot.aps[ap_id].since
        problems.append(
            _problem(
                snapshot,
                REBOOT,
                ap_id,
                boot.booted_at,
                f"rebooted at {clock(boot.booted_at)} while it kept answering, outside any "
                "maintenance window: a crash, a watchdog or a power-cycle nobody planned",
                f"uptime {uptime:.0f} s at {clock(boot.seen_at)} (booted "
                f"{clock(boot.booted_at)}); answering since {clock(up_since or now)}",
            )
        )
    recovered: set[Key] = set()
    notes: dict[Key, str] = {}
    hold = settings.incident_hold_s
    for ap_id in _by_ap(active, REBOOT):
        ap = snapshot.aps.get(ap_id)
        if ap is None or ap.state is not ApState.UP:
            continue
        newest = boots.get(ap_id)
        started = newest.booted_at if newest is not None else (ap.since or now)
        if now - started >= hold:
            key = (REBOOT, ap_id)
            recovered.add(key)
            notes[key] = f"answering for {hold:.0f} s since its boot, no newer boot"
    return Assessment(frozenset({REBOOT}), problems, frozenset(recovered), notes)


# --- reading the inputs ----------------------------------------------------------------


@dataclass
class BehaviourJudge:
    """Reads what :func:`flapping` and :func:`reboots` decide on, in the engine's
    transaction; keeps nothing between passes."""

    settings: Settings
    store: MetricStore
    policy: Policy = field(init=False)

    def __post_init__(self) -> None:
        self.policy = Policy.from_settings(self.settings)

    def assess(
        self,
        session: Session,
        snapshot: Snapshot,
        latest: Mapping[str, Latest],
        active: Sequence[StoredIncident],
        recent: Sequence[StoredIncident],
        *,
        now: float,
    ) -> list[Assessment]:
        """This pass's flapping and reboot assessments; a store failure leaves the class
        it concerns unjudged (nothing opened or resolved), logged as a warning."""
        return [
            self._flapping(session, snapshot, active, recent, now),
            self._reboots(session, snapshot, latest, active, recent, now),
        ]

    def _max(self, snapshot: Snapshot, name: str) -> float:
        kinds = {site.kind for site in snapshot.sites.values()} or {None}
        return max(float(getattr(self.settings.thresholds_for(k), name)) for k in kinds)

    def _flapping(
        self,
        session: Session,
        snapshot: Snapshot,
        active: Sequence[StoredIncident],
        recent: Sequence[StoredIncident],
        now: float,
    ) -> Assessment:
        start = now - self._max(snapshot, "flap_window_s")
        transitions: dict[str, list[float]] = defaultdict(list)
        down_at: dict[str, list[float]] = defaultdict(list)
        judged = {ApState.UP.value, ApState.DOWN.value}
        rows = session.execute(
            select(ApEvent.ap_id, ApEvent.at, ApEvent.from_state, ApEvent.to_state)
            .where(ApEvent.at >= start, ApEvent.at <= now)
            .order_by(ApEvent.at, ApEvent.id)
        ).all()
        for ap_id, at, before, after in rows:
            if ap_id in snapshot.aps and before in judged and after in judged:
                transitions[ap_id].append(at)
                if after == ApState.DOWN.value:
                    down_at[ap_id].append(at)
        flapping_now = {i.scope_id for i in active if i.kind is FLAPPING}
        step = max(1.0, self.settings.poll_interval_s / 2)
        end = now + step  # windows are half-open: a sample taken at ``now`` counts
        try:
            totals = self.store.aggregate(start, end, "ap")
            mixed = {
                a.key: a.polls - a.polls_ok
                for a in totals
                if a.key in snapshot.aps and 0 < a.polls_ok < a.polls
            }
            quiet = quiet_after(self.settings)
            # An AP down for the quiet time cannot be flapping now (flapping() drops it):
            # reading its series would crowd real flappers out of the MAX_SERIES reads
            # while a large outage is young. The most lost polls are read first.
            steady_down = {
                ap_id
                for ap_id, ap in snapshot.aps.items()
                if ap.state is ApState.DOWN
                and now - snapshot.since(ap_id) >= quiet
                and ap_id not in flapping_now
            }
            ranked = sorted(
                (flapping_now | mixed.keys() | transitions.keys())
                & snapshot.aps.keys() - steady_down,
                key=lambda a: (
                    a not in flapping_now,
                    -mixed.get(a, 0),
                    -len(transitions.get(a, ())),
                    a,
                ),
            )
            if len(ranked) > MAX_SERIES:
                log.info("flapping: %d candidates, reading the first %d", len(ranked), MAX_SERIES)
            polls = {
                ap_id: [
                    (p.ts, p.value) for p in self.store.series(ap_id, REACHABLE, start, end, step)
                ]
                for ap_id in ranked[:MAX_SERIES]
            }
            mass = mass_loss(polls, len(snapshot.aps))
            if mass:
                log.warning(
                    "polls lost by many APs at once at %s: the collector or its network, "
                    "not flapping APs (left out of the flapping count)",
                    ", ".join(clock(ts) for ts in sorted(mass)[-EVIDENCE_TIMES:]),
                )
            reach: dict[str, Reachability] = {}
            for ap_id, values in polls.items():
                seen = flips_of([(ts, None if ts in mass else v) for ts, v in values], step)
                reach[ap_id] = Reachability(
                    transitions=tuple(transitions.get(ap_id, ())),
                    flips=seen.flips,
                    lost=tuple(sorted((*seen.lost, *down_at.get(ap_id, ())))),
                )
        except CitywifiError as exc:
            log.warning("flapping not judged this pass: %s", exc)
            return Assessment(frozenset())
        return flapping(snapshot, reach, active, recent, now=now, settings=self.settings)

    def _reboots(
        self,
        session: Session,
        snapshot: Snapshot,
        latest: Mapping[str, Latest],
        active: Sequence[StoredIncident],
        recent: Sequence[StoredIncident],
        now: float,
    ) -> Assessment:
        boots = boots_of(latest)
        window = self._max(snapshot, "reboot_window_s")
        lead = self.policy.lead_s
        windows = windows_by_ap(session, start=now - window - lead, end=now)
        candidates = reboot_candidates(
            snapshot,
            boots,
            windows,
            active,
            recent,
            now=now,
            settings=self.settings,
            lead_s=lead,
            slack_s=self.settings.poll_interval_s,
        )
        previous: dict[str, tuple[float, float] | None] = {}
        lookback = 3 * self.settings.poll_interval_s + WRAP_TOLERANCE_S
        step = 1.0
        try:
            for ap_id in candidates[:MAX_SERIES]:
                booted = boots[ap_id].booted_at
                points = self.store.series(ap_id, UPTIME, booted - lookback, booted, step)
                known = [(p.ts, p.value) for p in points if p.value is not None]
                previous[ap_id] = known[-1] if known else None
        except CitywifiError as exc:
            log.warning("unexpected reboots not judged this pass: %s", exc)
            return Assessment(frozenset())
        return reboots(
            snapshot,
            boots,
            candidates[:MAX_SERIES],
            previous,
            active,
            now=now,
            settings=self.settings,
            tolerance=WRAP_TOLERANCE_S + step,
        )
