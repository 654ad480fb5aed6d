"""The metric classes: silent_failure, overload and backhaul_saturated, judged from the
metric store.

The outage classes need only the APs' states; these need what the APs say when they do
answer. The engine reads the watched APs' newest values once per metric pass
(``store.latest``) and hands them in; that picks the few *candidates* (an AP with no
clients now, a CPU above the line now, an uplink full now), and only those are confirmed
against their series over the class's whole window (``store.series``): one good or bad
sample neither opens nor resolves anything, and a 20,000-AP city never costs one query
per AP.

- ``silent_failure`` (scope: the AP): the AP is up and answers, its ``clients`` has been 0
  in every sample of the last ``silent_after_s`` (with samples in at least half the poll
  intervals of that window, one of them in its first quarter: enough to say so), and the
  hour is busy for it: its own history at this clock hour
  (:class:`faults.busy_hours.BusyHours`) AND its neighbours now (the other APs of its
  site, else of its district: mean current clients) reach ``silent_min_clients``; an AP
  with no history yet is judged by its site-mates alone. At 03:00 both are about 0, so
  an empty AP then is no incident. An AP that reports no ``clients`` at all (OpenWrt,
  generic SNMP devices: docs/metrics.md) is never judged: there is nothing to tell
  "nobody there" from "nobody can connect".
- ``overload`` (scope: the AP): ``cpu_pct`` ≥ ``overload_cpu_pct``, or ``mem_pct`` ≥
  ``overload_mem_pct``, or ``clients`` ≥ ``overload_clients`` (when set), in every sample
  of the last ``overload_after_s``.
- ``backhaul_saturated`` (scope: the uplink; its APs: every watched AP behind it): the sum
  of ``rx_bps + tx_bps`` of the APs behind an uplink whose ``capacity_mbps`` is known
  reaches ``backhaul_util_pct`` % of it over the last ``backhaul_after_s``. An AP that is
  down adds nothing, which is what it carries.

Recovery, for an active incident of these classes: its condition absent over the last
``incident_hold_s`` (clients > 0 in every sample; load or traffic below the line in
every sample), so one good sample does not resolve it and the next bad one reopen it.
An incident whose AP (or every AP behind whose uplink) is no longer watched or is under
maintenance recovers too, with a note saying so. An active incident that is neither
present again nor recovered (an AP down, so no samples; a silent AP in a quiet hour) is
left as it is: the assessment says nothing about it.

Thresholds are per site kind (``Settings.thresholds_for``); an uplink serves sites of
several kinds, so ``backhaul_saturated`` uses the city's.

A window is read in buckets of one poll interval (two for the sum over an uplink's APs,
whose polls are spread over the interval), so a bucket's mean is about one sample: "every
sample" is "every bucket with data". A store error makes the whole pass judge nothing
(``judged`` empty: no incident of these classes opens or resolves on half a picture),
logged once as a warning until the store answers again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from core.errors import StoreError
from core.incidents import IncidentClass
from core.settings import FaultThresholds, Settings
from core.states import ApState
from faults.assessment import Assessment
from faults.busy_hours import BusyHours
from faults.correlate import Key, Problem
from faults.lifecycle import StoredIncident
from faults.snapshot import Snapshot
from faults.words import ap_label, clock, plural, site_label
from timeseries.port import Latest, MetricStore, series_window

log = logging.getLogger("citywifi.faults")

SILENT = IncidentClass.SILENT_FAILURE
OVERLOAD = IncidentClass.OVERLOAD
BACKHAUL = IncidentClass.BACKHAUL_SATURATED
#: The classes a :class:`MetricJudge` speaks for.
JUDGED = frozenset({SILENT, OVERLOAD, BACKHAUL})

CLIENTS, CPU, MEM, RX, TX = "clients", "cpu_pct", "mem_pct", "rx_bps", "tx_bps"

#: A newest value older than this many poll intervals is not "now" (the AP is not being
#: polled, or not answering): it neither makes a candidate nor counts as a neighbour.
STALE_POLLS = 3.0


@dataclass(frozen=True)
class Window:
    """One series (or a sum of several) over [start, end) in buckets of ``step``: each
    bucket's mean, None where there was no sample."""

    start: float
    end: float
    step: float
    values: list[float | None]

    @property
    def known(self) -> list[float]:
        return [v for v in self.values if v is not None]

    def covered(self) -> bool:
        """Enough samples to speak for the whole window: data in at least half its
        buckets, one of them in its first quarter (so it is not only the recent end)."""
        have = [i for i, v in enumerate(self.values) if v is not None]
        return bool(have) and 2 * len(have) >= len(self.values) and have[0] <= len(self.values) // 4

    def span(self) -> str:
        return f"{clock(self.start)} to {clock(self.end)}"


@dataclass(frozen=True)
class _Limit:
    """One overload rule: ``metric`` at or above ``threshold``."""

    metric: str
    threshold: float
    words: str  # "CPU", "memory", "clients"

    def reading(self, value: float) -> str:
        if self.metric == CLIENTS:
            return f"{value:.0f} clients (line {self.threshold:.0f})"
        return f"{self.words} at {value:.0f} % (line {self.threshold:.0f} %)"


@dataclass(frozen=True)
class _Neighbours:
    """The current clients of an AP's neighbours: the other APs of its site, else of its
    district (``where``)."""

    mean: float
    count: int
    where: str

    def who(self) -> str:
        if self.count == 1:
            return f"the other AP of its {self.where}"
        return f"the {self.count} other APs of its {self.where}"

    def words(self) -> str:
        if self.count == 1:
            return f"{self.who()} has {self.mean:.0f} now"
        return f"{self.who()} have {self.mean:.0f} on average now"


def _busy(
    busy: BusyHours,
    ap_id: str,
    neighbours: _Neighbours | None,
    limits: FaultThresholds,
    now: float,
) -> bool:
    """Whether the hour is one in which the AP should have clients: its own history at
    this hour AND its neighbours now both say so (either one alone is fooled: a quiet
    day makes the history wrong, one AP's share of a district's crowd makes the
    neighbours wrong). An AP with no history yet is judged by its site-mates alone (the
    same place, the same crowd), never by its district's mean: an AP at a mosque is not
    empty because the district's markets are busy."""
    usual = busy.usual_clients(ap_id, days=limits.silent_history_days, now=now)
    if usual is not None:
        return usual >= limits.silent_min_clients and (
            neighbours is None or neighbours.mean >= limits.silent_min_clients
        )
    return (
        neighbours is not None
        and neighbours.where == "site"
        and neighbours.mean >= limits.silent_min_clients
    )


class MetricJudge:
    """Judges the metric classes, one pass at a time (see the module docstring).

    Keeps only recomputable caches (the busy hours) between passes: a restarted engine
    judges the same."""

    def __init__(self, settings: Settings, store: MetricStore) -> None:
        self.settings = settings
        self.store = store
        self.busy = BusyHours(store)
        self._failing = False

    def assess(
        self,
        snapshot: Snapshot,
        latest: Mapping[str, Latest],
        active: Sequence[StoredIncident],
        *,
        now: float,
    ) -> Assessment:
        """The problems of the judged classes now, and which of their active incidents
        have recovered. ``latest``: ``store.latest()`` of the watched APs."""
        try:
            assessment = _Pass(self, snapshot, latest, active, now).run()
        except StoreError as exc:
            if not self._failing:
                log.warning("metric classes not judged (store error): %s", exc)
            self._failing = True
            return Assessment(judged=frozenset())
        if self._failing:
            log.info("metric classes judged again: the store answers")
            self._failing = False
        return assessment


class _Pass:
    """One pass of :meth:`MetricJudge.assess`: its inputs and per-pass tallies."""

    def __init__(
        self,
        judge: MetricJudge,
        snapshot: Snapshot,
        latest: Mapping[str, Latest],
        active: Sequence[StoredIncident],
        now: float,
    ) -> None:
        self.judge = judge
        self.store = judge.store
        self.settings = judge.settings
        self.snapshot = snapshot
        self.latest = latest
        self.now = now
        self.poll_s = self.settings.poll_interval_s
        self.active = [i for i in active if i.kind in JUDGED]
        self.active_keys = {(i.kind, i.scope_id) for i in self.active}
        self._by_kind: dict[str | None, FaultThresholds] = {}

    def run(self) -> Assessment:
        problems = self._silent() + self._overload() + self._backhaul()
        recovered: set[Key] = set()
        notes: dict[Key, str] = {}
        for incident in self.active:
            key = (incident.kind, incident.scope_id)
            note = self._recovery(incident)
            if note is not None:
                recovered.add(key)
                notes[key] = note
        return Assessment(
            judged=JUDGED, problems=problems, recovered=frozenset(recovered), notes=notes
        )

    # --- shared reads --------------------------------------------------------------------

    def thresholds(self, site_id: str | None) -> FaultThresholds:
        site = self.snapshot.sites.get(site_id) if site_id is not None else None
        kind = site.kind if site is not None else None
        if kind not in self._by_kind:
            self._by_kind[kind] = self.settings.thresholds_for(kind)
        return self._by_kind[kind]

    def fresh(self, ap_id: str, metric: str) -> float | None:
        """The AP's newest value of ``metric`` if it is recent enough to mean "now"."""
        found = self.latest.get(ap_id)
        if found is None:
            return None
        value, at = found.values.get(metric), found.times.get(metric)
        if value is None or at is None or self.now - at > STALE_POLLS * self.poll_s:
            return None
        return value

    def up(self, ap_id: str) -> bool:
        view = self.snapshot.aps.get(ap_id)
        return view is not None and view.state is ApState.UP

    def window(self, ap_id: str, metric: str, length: float, step: float) -> Window:
        start = self.now - length
        points = self.store.series(ap_id, metric, start, self.now, min(step, length))
        return Window(start, self.now, min(step, length), [p.value for p in points])

    def traffic(self, ap_ids: Iterable[str], length: float) -> Window:
        """The sum of ``rx_bps + tx_bps`` of ``ap_ids`` per bucket (an AP without a
        sample in a bucket adds nothing; a bucket where none has one is unknown)."""
        step = min(2 * self.poll_s, length)
        total: list[float | None] | None = None
        for ap_id in ap_ids:
            for metric in (RX, TX):
                values = self.window(ap_id, metric, length, step).values
                if total is None:
                    total = [None] * len(values)
                for i, v in enumerate(values):
                    if v is not None:
                        total[i] = (total[i] or 0.0) + v
        start = self.now - length
        if total is None:  # no AP to read: every bucket unknown
            window = series_window(start, self.now, step)
            total = [None] * (window.buckets if window is not None else 0)
        return Window(start, self.now, step, total)

    # --- silent_failure ------------------------------------------------------------------

    def _silent(self) -> list[Problem]:
        clients: dict[str, float] = {}  # UP APs with a current clients count
        for ap_id in self.snapshot.aps:
            value = self.fresh(ap_id, CLIENTS) if self.up(ap_id) else None
            if value is not None:
                clients[ap_id] = value
        by_site: dict[str, list[str]] = defaultdict(list)
        district_sum: dict[str | None, tuple[float, int]] = defaultdict(lambda: (0.0, 0))
        for ap_id, value in clients.items():
            site = self.snapshot.sites[self.snapshot.aps[ap_id].site_id]
            by_site[site.site_id].append(ap_id)
            total, count = district_sum[site.district_id]
            district_sum[site.district_id] = (total + value, count + 1)

        problems = []
        for ap_id in sorted(clients):
            if clients[ap_id] > 0 or (SILENT, ap_id) in self.active_keys:
                continue
            ap = self.snapshot.aps[ap_id]
            site = self.snapshot.sites[ap.site_id]
            limits = self.thresholds(ap.site_id)
            others = [clients[a] for a in by_site[site.site_id] if a != ap_id]
            neighbours: _Neighbours | None = None
            if others:
                neighbours = _Neighbours(sum(others) / len(others), len(others), "site")
            elif site.district_id is not None:
                total, count = district_sum[site.district_id]  # this AP adds 0 clients
                if count > 1:
                    neighbours = _Neighbours(total / (count - 1), count - 1, "district")
            if not _busy(self.judge.busy, ap_id, neighbours, limits, self.now):
                continue
            usual = self.judge.busy.usual_clients(
                ap_id, days=limits.silent_history_days, now=self.now
            )
            seen = self.window(ap_id, CLIENTS, limits.silent_after_s, self.poll_s)
            if not seen.covered() or any(v > 0 for v in seen.known):
                continue
            problems.append(self._silent_problem(ap_id, seen, usual, neighbours, limits))
        return problems

    def _silent_problem(
        self,
        ap_id: str,
        seen: Window,
        usual: float | None,
        neighbours: _Neighbours | None,
        limits: FaultThresholds,
    ) -> Problem:
        ap = self.snapshot.aps[ap_id]
        site = self.snapshot.sites[ap.site_id]
        reasons = []
        if usual is not None:
            reasons.append(f"it usually has {usual:.0f} at this hour")
        if neighbours is not None:
            reasons.append(neighbours.words())
        hour = datetime.fromtimestamp(self.now, UTC).hour
        evidence = [f"clients 0 in {_of(seen)} poll intervals {seen.span()}"]
        evidence.append(
            f"usual at {hour:02d}h UTC over {limits.silent_history_days} days: "
            + ("no history" if usual is None else f"{usual:.1f}")
        )
        if neighbours is not None:
            evidence.append(f"{neighbours.who()} now: {neighbours.mean:.1f}")
        return Problem(
            kind=SILENT,
            scope_id=ap_id,
            district_id=site.district_id,
            aps={ap_id: site.site_id},
            since=seen.start,
            explanation=f"AP {ap_label(self.snapshot, ap_id)} at "
            f"{site_label(self.snapshot, site.site_id)} answers but has had no clients for "
            f"{_duration(limits.silent_after_s)} while {' and '.join(reasons)}: SSID, DHCP "
            "or captive portal broken",
            evidence="; ".join(evidence),
        )

    # --- overload ------------------------------------------------------------------------

    @staticmethod
    def limits(thresholds: FaultThresholds) -> list[_Limit]:
        rules = [
            _Limit(CPU, thresholds.overload_cpu_pct, "CPU"),
            _Limit(MEM, thresholds.overload_mem_pct, "memory"),
        ]
        if thresholds.overload_clients is not None:
            rules.append(_Limit(CLIENTS, thresholds.overload_clients, "clients"))
        return rules

    def _overload(self) -> list[Problem]:
        problems = []
        for ap_id in sorted(self.snapshot.aps):
            if not self.up(ap_id) or (OVERLOAD, ap_id) in self.active_keys:
                continue
            thresholds = self.thresholds(self.snapshot.aps[ap_id].site_id)
            hot = [
                rule
                for rule in self.limits(thresholds)
                if (value := self.fresh(ap_id, rule.metric)) is not None and value >= rule.threshold
            ]
            confirmed = []
            for rule in hot:
                seen = self.window(ap_id, rule.metric, thresholds.overload_after_s, self.poll_s)
                if seen.covered() and all(v >= rule.threshold for v in seen.known):
                    confirmed.append((rule, seen))
            if confirmed:
                problems.append(self._overload_problem(ap_id, confirmed, thresholds))
        return problems

    def _overload_problem(
        self, ap_id: str, confirmed: list[tuple[_Limit, Window]], thresholds: FaultThresholds
    ) -> Problem:
        ap = self.snapshot.aps[ap_id]
        site = self.snapshot.sites[ap.site_id]
        readings = [rule.reading(sum(w.known) / len(w.known)) for rule, w in confirmed]
        evidence = [
            f"{rule.metric} ≥ {rule.threshold:g} in {_of(w)} poll intervals {w.span()} "
            f"(lowest {min(w.known):g})"
            for rule, w in confirmed
        ]
        return Problem(
            kind=OVERLOAD,
            scope_id=ap_id,
            district_id=site.district_id,
            aps={ap_id: site.site_id},
            since=confirmed[0][1].start,
            explanation=f"AP {ap_label(self.snapshot, ap_id)} at "
            f"{site_label(self.snapshot, site.site_id)} has been overloaded for "
            f"{_duration(thresholds.overload_after_s)}: {', '.join(readings)}: more clients "
            "than it can serve or a runaway process",
            evidence="; ".join(evidence),
        )

    # --- backhaul_saturated --------------------------------------------------------------

    @cached_property
    def behind(self) -> dict[str, list[str]]:
        """Per uplink, the watched APs behind it."""
        found: dict[str, list[str]] = defaultdict(list)
        for ap_id in sorted(self.snapshot.aps):
            uplink = self.snapshot.sites[self.snapshot.aps[ap_id].site_id].uplink_id
            if uplink is not None:
                found[uplink].append(ap_id)
        return found

    def limit_bps(self, uplink_id: str) -> float | None:
        """The traffic at which the uplink counts as saturated; None: capacity unknown."""
        uplink = self.snapshot.uplinks.get(uplink_id)
        if uplink is None or uplink.capacity_mbps is None or uplink.capacity_mbps <= 0:
            return None
        return uplink.capacity_mbps * 1e6 * self.thresholds(None).backhaul_util_pct / 100

    def now_bps(self, ap_ids: Iterable[str]) -> float | None:
        """The current rx + tx of the APs that answer; None when none has a rate."""
        rates = [
            value
            for ap_id in ap_ids
            if self.up(ap_id)
            for metric in (RX, TX)
            if (value := self.fresh(ap_id, metric)) is not None
        ]
        return sum(rates) if rates else None

    def _backhaul(self) -> list[Problem]:
        problems = []
        after = self.thresholds(None).backhaul_after_s
        for uplink_id, ap_ids in sorted(self.behind.items()):
            limit = self.limit_bps(uplink_id)
            if limit is None or (BACKHAUL, uplink_id) in self.active_keys:
                continue
            current = self.now_bps(ap_ids)
            if current is None or current < limit:
                continue
            carrying = [a for a in ap_ids if self.up(a)]
            seen = self.traffic(carrying, after)
            if seen.covered() and all(v >= limit for v in seen.known):
                problems.append(self._backhaul_problem(uplink_id, ap_ids, seen, current, limit))
        return problems

    def _backhaul_problem(
        self, uplink_id: str, ap_ids: list[str], seen: Window, current: float, limit: float
    ) -> Problem:
        uplink = self.snapshot.uplinks[uplink_id]
        capacity = uplink.capacity_mbps or 0.0
        pct = self.thresholds(None).backhaul_util_pct
        aps = {a: self.snapshot.aps[a].site_id for a in ap_ids}
        districts = {self.snapshot.sites[s].district_id for s in aps.values()}
        return Problem(
            kind=BACKHAUL,
            scope_id=uplink_id,
            district_id=districts.pop() if len(districts) == 1 else None,
            aps=aps,
            since=seen.start,
            explanation=f"Uplink {uplink.name} ({uplink.operator}) has carried "
            f"{current / 1e6:.0f} Mbit/s of its {capacity:.0f} Mbit/s "
            f"({100 * current / 1e6 / capacity:.0f} %) for {_duration(seen.end - seen.start)}, "
            f"for the {plural(len(aps), 'AP')} behind it: the backhaul is saturated, its "
            "operator must add capacity",
            evidence=f"rx_bps+tx_bps of the APs behind it ≥ {limit / 1e6:.0f} Mbit/s "
            f"({pct:g} % of {capacity:g}) in {_of(seen)} intervals of {seen.step:g} s "
            f"{seen.span()} (lowest {min(seen.known) / 1e6:.0f} Mbit/s)",
        )

    # --- recovery ------------------------------------------------------------------------

    def _recovery(self, incident: StoredIncident) -> str | None:
        """The note that resolves ``incident``, or None while it has not recovered."""
        if incident.kind is BACKHAUL:
            return self._backhaul_recovery(incident.scope_id)
        ap_id = incident.scope_id
        if ap_id in self.snapshot.maintenance:
            return f"AP {ap_id} is under maintenance"
        if ap_id not in self.snapshot.aps:
            return f"AP {ap_id} is no longer watched"
        if not self.up(ap_id):
            return None  # no samples to judge by: an outage incident speaks for it now
        hold = self.settings.incident_hold_s
        thresholds = self.thresholds(self.snapshot.aps[ap_id].site_id)
        if incident.kind is SILENT:
            now = self.fresh(ap_id, CLIENTS)
            if now is None or now <= 0:
                return None
            if hold >= self.poll_s:
                seen = self.window(ap_id, CLIENTS, hold, self.poll_s)
                if not seen.covered() or any(v <= 0 for v in seen.known):
                    return None
            return f"clients back for {_duration(hold)} ({now:.0f} now)"
        rules = self.limits(thresholds)
        current = {r.metric: v for r in rules if (v := self.fresh(ap_id, r.metric)) is not None}
        if not current or any(
            current[r.metric] >= r.threshold for r in rules if r.metric in current
        ):
            return None
        if hold >= self.poll_s:
            for rule in rules:
                if rule.metric not in current:
                    continue
                seen = self.window(ap_id, rule.metric, hold, self.poll_s)
                if not seen.covered() or any(v >= rule.threshold for v in seen.known):
                    return None
        shown = ", ".join(r.reading(current[r.metric]) for r in rules if r.metric in current)
        return f"load below the lines for {_duration(hold)} ({shown})"

    def _backhaul_recovery(self, uplink_id: str) -> str | None:
        limit = self.limit_bps(uplink_id)
        if limit is None:
            return f"the capacity of uplink {uplink_id} is no longer known"
        ap_ids = self.behind.get(uplink_id, [])
        if not ap_ids:
            return f"no watched AP behind uplink {uplink_id} (maintenance or removed)"
        current = self.now_bps(ap_ids)
        if current is None or current >= limit:
            return None
        hold = self.settings.incident_hold_s
        if hold >= 2 * self.poll_s:
            seen = self.traffic([a for a in ap_ids if self.up(a)], hold)
            if not seen.covered() or any(v >= limit for v in seen.known):
                return None
        return (
            f"traffic below {limit / 1e6:.0f} Mbit/s for {_duration(hold)} "
            f"({current / 1e6:.0f} Mbit/s now)"
        )


# --- words ---------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _of(window: Window) -> str:
    """ "28 of 30": buckets with data of all buckets."""
    return f"{len(window.known)} of {len(window.values)}"
