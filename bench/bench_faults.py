"""The fault engine's cost per cycle, on a city of 2,000 and of 20,000 APs.

A plain script, not a test: it prints figures for docs/benchmarks.md ("Fault engine: one
cycle") and asserts only that the engine did what the scenario asks, never a time.

    .venv/bin/python bench/bench_faults.py                  # 2,000 and 20,000 APs, SQLite
    .venv/bin/python bench/bench_faults.py --aps 2000 --url postgresql+psycopg://...
    .venv/bin/python bench/bench_faults.py --aps 20000 --profile   # cProfile of one pass

The city: three APs a site, 20 districts, 40 shared uplinks. One district loses power
(every AP of its sites down, within a minute) and 20 single APs elsewhere are down; the
state rows are written straight into ``ap_status`` as the collector would leave them.
The baseline, in the same run, is the least any engine must do each cycle: read every
AP's state row (``SELECT ap_id, state, since FROM ap_status``). The ratios say what the
topology join, the correlation and the incident bookkeeping cost on top of that.

The second table is the same city with a real embedded metric store, filled with what a
collector polling every 60 s would have written over the last 20 minutes (:class:`Polls`:
the outage's APs answer nothing after they went down; 0.5 % of the APs flap, another
0.5 % lost one poll, a few are silent, overloaded or just rebooted, 2 % of the sites are
empty). Each round writes one more poll of the whole city (the collector goes on) and
runs one cycle a poll interval later than the last, so every cycle makes a metric pass.
The store and the judges are wrapped to time their share (:class:`TimedStore`).
"""

from __future__ import annotations

import argparse
import cProfile
import platform
import pstats
import random
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.incidents import IncidentClass, IncidentState
from core.settings import FaultThresholds, Settings
from faults.assessment import Assessment
from faults.behaviour import BehaviourJudge
from faults.correlate import Thresholds, correlate
from faults.engine import FaultEngine
from faults.lifecycle import Policy, StoredIncident, decide
from faults.metric_classes import MetricJudge
from faults.snapshot import Snapshot, read_snapshot
from inventory import incidents
from inventory.db import open_inventory, transaction
from inventory.models import (
    AccessPoint,
    ApEvent,
    ApStatus,
    CredentialProfile,
    District,
    Incident,
    Site,
    Uplink,
)
from timeseries import open_store
from timeseries.port import Aggregate, GroupBy, Latest, MetricStore, Point, Sample

T0 = 1_767_225_600.0
ROUNDS = 20

POLL_S = 60.0  # the collector's poll interval (Settings default)
HISTORY_POLLS = 20  # polls in the store before the first metric pass
FIRST_PASS = T0 + 420.0  # seven minutes into the outage
HISTORY_START = FIRST_PASS - HISTORY_POLLS * POLL_S
#: silent_after_s shortened from 1800 s so the 20 minutes of history cover its window;
#: overload (300 s), flapping (900 s) and reboot (600 s) keep their defaults.
SILENT_AFTER_S = 900.0
UPLINK_MBPS = 10_000.0  # so no uplink is saturated (the APs carry ~2 Mbit/s each)
FLAP_FROM = 6  # flapping APs lose every other poll from this poll index on
GLITCH_AT = 12  # the poll the "glitchy" APs lost, once
OLD_BOOT = T0 - 40 * 86_400.0  # when the rebooted APs had booted before


@dataclass
class City:
    """What build_city made: every AP with its site, and the down APs with since."""

    ap_sites: list[tuple[str, str]]
    down: dict[str, float]


def build_city(engine: Engine, aps: int, seed: int = 1) -> City:
    """The city and its state rows."""
    rng = random.Random(seed)
    n_sites = aps // 3
    site_ids = [f"s{i:05d}" for i in range(n_sites)]
    with transaction(engine) as s:
        s.add(CredentialProfile(id="c", snmp_version="2c"))
        s.add_all(District(id=f"d{d:02d}", name=f"District {d}") for d in range(20))
        s.add_all(
            Uplink(id=f"u{u:02d}", name=f"U{u}", operator="op", capacity_mbps=UPLINK_MBPS)
            for u in range(40)
        )
        s.flush()
        s.add_all(
            Site(
                id=sid, name=sid, lat=0.0, lon=0.0, district_id=f"d{i % 20:02d}", kind="park",
                coverage_radius_m=50.0, status="active", uplink_id=f"u{rng.randrange(40):02d}",
            )
            for i, sid in enumerate(site_ids)
        )  # fmt: skip
        s.flush()
        ap_sites = [(f"ap{i:05d}", site_ids[i % n_sites]) for i in range(aps)]
        s.add_all(
            AccessPoint(
                id=ap, site_id=site, name=ap, host="127.0.0.1", snmp_port=161, ssh_port=22,
                profile="generic", credential_id="c", enabled=True,
            )
            for ap, site in ap_sites
        )  # fmt: skip
        s.flush()
        down = {ap: T0 + rng.uniform(0, 60) for ap, site in ap_sites if int(site[1:]) % 20 == 3}
        for ap, _ in rng.sample(ap_sites, 20):
            down.setdefault(ap, T0)
        s.add_all(
            ApStatus(
                ap_id=ap, state="down" if ap in down else "up",
                since=down.get(ap, T0 - 86_400.0), last_poll=T0 + 90.0,
            )
            for ap, _ in ap_sites
        )  # fmt: skip
    return City(ap_sites, down)


def median_s(samples: list[float]) -> float:
    return statistics.median(samples)


@dataclass
class Outage:
    """The outage-only figures, and the baseline the metric table's ratios use."""

    row: str
    baseline_s: float


def run(aps: int, url: str | None, tmp: Path, profile: bool) -> list[str]:
    settings = Settings(data_dir=tmp / f"state-{aps}", database_url=url)
    engine = open_inventory(url or f"sqlite:///{tmp / f'inventory-{aps}.sqlite'}", create=True)
    try:
        city = build_city(engine, aps)
        outage = outage_only(engine, settings, aps, len(city.down))
        metric = with_store(engine, city, tmp / f"metrics-{aps}", url, outage.baseline_s, profile)
    finally:
        engine.dispose()
    return [outage.row, metric]


def outage_only(engine: Engine, settings: Settings, aps: int, down: int) -> Outage:
    """(a) The engine without a store: the outage classes only (the first table)."""
    faults = FaultEngine(settings, engine)
    started = time.perf_counter()
    first = faults.cycle(T0 + 300)
    first_s = time.perf_counter() - started
    assert first.changes > 0, first
    baseline: list[float] = []
    steady: list[float] = []
    for k in range(ROUNDS):
        with Session(engine) as session:
            began = time.perf_counter()
            rows = session.execute(select(ApStatus.ap_id, ApStatus.state, ApStatus.since))
            assert len(rows.all()) == aps
            baseline.append(time.perf_counter() - began)
        began = time.perf_counter()
        report = faults.cycle(T0 + 310 + k)
        steady.append(time.perf_counter() - began)
        assert report.changes == 0, report  # the same state: nothing to do
        assert not report.metric_pass
    with Session(engine) as session:
        began = time.perf_counter()
        snapshot = read_snapshot(session, now=T0 + 400)
        snapshot_s = time.perf_counter() - began
        active = incidents.active_incidents(session)
        resolved = incidents.recently_resolved(session, since=T0)
    began = time.perf_counter()
    for _ in range(ROUNDS):
        problems = correlate(snapshot, Thresholds.from_settings(settings))
        decide(
            problems, snapshot, active, resolved, now=T0 + 400,
            policy=Policy.from_settings(settings),
        )  # fmt: skip
    pure_s = (time.perf_counter() - began) / ROUNDS
    base = median_s(baseline)
    row = (
        f"| {aps:,} | {down} | {len(active)} | {base * 1e3:.1f} | {first_s * 1e3:.0f} "
        f"({first_s / base:.1f}) | {median_s(steady) * 1e3:.1f} ({median_s(steady) / base:.1f}) "
        f"| {snapshot_s * 1e3:.1f} | {pure_s * 1e3:.2f} |"
    )
    return Outage(row, base)


# --- the metric pass -------------------------------------------------------------------


@dataclass
class Calls:
    """Time and count of one kind of call, since the last reset."""

    n: int = 0
    s: float = 0.0

    def add(self, began: float) -> None:
        self.n += 1
        self.s += time.perf_counter() - began


@dataclass
class TimedStore:
    """A MetricStore that times the calls the engine makes through it."""

    store: MetricStore
    calls: dict[str, Calls] = field(default_factory=lambda: defaultdict(Calls))

    def reset(self) -> None:
        self.calls.clear()

    def write(self, samples: Sequence[Sample]) -> None:
        self.store.write(samples)

    def latest(self, aps: Collection[str] | None = None) -> dict[str, Latest]:
        began = time.perf_counter()
        try:
            return self.store.latest(aps)
        finally:
            self.calls["latest"].add(began)

    def series(self, ap: str, metric: str, start: float, end: float, step: float) -> list[Point]:
        began = time.perf_counter()
        try:
            return self.store.series(ap, metric, start, end, step)
        finally:
            self.calls[f"series {metric}"].add(began)

    def aggregate(
        self,
        start: float,
        end: float,
        by: GroupBy = "ap",
        keys: Collection[str] | None = None,
    ) -> list[Aggregate]:
        began = time.perf_counter()
        try:
            return self.store.aggregate(start, end, by, keys)
        finally:  # an hour: the busy hours (MetricJudge); else the flap window
            self.calls["aggregate hour" if end - start >= 3600 else "aggregate"].add(began)

    def close(self) -> None:
        self.store.close()


@dataclass
class TimedMetricJudge:
    """The engine's MetricJudge, timed."""

    judge: MetricJudge
    took: Calls = field(default_factory=Calls)

    def assess(
        self,
        snapshot: Snapshot,
        latest: Mapping[str, Latest],
        active: Sequence[StoredIncident],
        *,
        now: float,
    ) -> Assessment:
        began = time.perf_counter()
        try:
            return self.judge.assess(snapshot, latest, active, now=now)
        finally:
            self.took.add(began)


class TimedBehaviour(BehaviourJudge):
    """The engine's BehaviourJudge, timed."""

    took: Calls

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
        began = time.perf_counter()
        try:
            return super().assess(session, snapshot, latest, active, recent, now=now)
        finally:
            self.took.add(began)


@dataclass
class Polls:
    """What the collector writes for the city at each poll, anomalies included.

    AP ``i`` is polled at ``HISTORY_START + j * POLL_S + offset[i]`` (poll ``j``, the
    offsets spread over the interval as a collector spreads its polls)."""

    city: City
    seed: int = 2
    tags: dict[str, dict[str, str]] = field(init=False)
    offset: dict[str, float] = field(init=False)
    clients: dict[str, float] = field(init=False)
    rx: dict[str, float] = field(init=False)
    cpu: dict[str, float] = field(init=False)
    mem: dict[str, float] = field(init=False)
    booted: dict[str, float] = field(init=False)
    flapping: set[str] = field(init=False)
    glitchy: set[str] = field(init=False)
    silent: set[str] = field(init=False)
    overloaded: set[str] = field(init=False)
    rebooted: set[str] = field(init=False)
    spiky: set[str] = field(init=False)
    quiet_sites: set[str] = field(init=False)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        aps = self.city.ap_sites
        n = len(aps)
        district = {site: f"d{int(site[1:]) % 20:02d}" for _, site in aps}
        self.tags = {
            ap: {"ap": ap, "site": site, "district": district[site], "partner": "",
                 "profile": "generic"}
            for ap, site in aps
        }  # fmt: skip
        self.offset = {ap: POLL_S * i / n for i, (ap, _) in enumerate(aps)}
        self.clients = {ap: float(rng.randint(3, 30)) for ap, _ in aps}
        self.rx = {ap: rng.uniform(0.2e6, 3e6) for ap, _ in aps}
        self.cpu = {ap: rng.uniform(5, 60) for ap, _ in aps}
        self.mem = {ap: rng.uniform(30, 70) for ap, _ in aps}
        self.booted = {ap: T0 - rng.uniform(2, 60) * 86_400 for ap, _ in aps}
        sites = sorted({site for _, site in aps})
        down_sites = {site for ap, site in aps if ap in self.city.down}
        self.quiet_sites = set(rng.sample(sites, len(sites) // 50))
        # Anomalies on distinct APs of distinct sites that are up and not empty, so a
        # silent AP's neighbours have clients and nobody's anomaly hides another's.
        usable = [site for site in sites if site not in down_sites | self.quiet_sites]
        picked = iter(rng.sample(usable, len(usable)))
        first_ap = {site: ap for ap, site in reversed(aps)}
        few = 3 + n // 4000

        def take(count: int) -> set[str]:
            return {first_ap[next(picked)] for _ in range(count)}

        self.flapping = take(n // 200)
        self.glitchy = take(n // 200)
        self.silent = take(few)
        self.overloaded = take(few)
        self.rebooted = take(few)
        self.spiky = take(n // 200)
        for ap in self.overloaded:
            self.cpu[ap] = rng.uniform(96, 99)
        for ap in self.rebooted:
            self.booted[ap] = FIRST_PASS - 200.0
        for ap, site in aps:
            if ap in self.silent or site in self.quiet_sites:
                self.clients[ap] = 0.0

    def poll(self, j: int) -> list[Sample]:
        """Poll ``j`` of every AP, as the collector writes it."""
        out = []
        base = HISTORY_START + j * POLL_S
        for ap, _site in self.city.ap_sites:
            ts = base + self.offset[ap]
            down_since = self.city.down.get(ap)
            lost = (ap in self.flapping and j >= FLAP_FROM and j % 2 == 1) or (
                ap in self.glitchy and j == GLITCH_AT
            )
            if lost or (down_since is not None and ts >= down_since):
                out.append(Sample("ap", self.tags[ap], {"reachable": 0.0}, ts))
                continue
            cpu = 93.0 if ap in self.spiky and j % 9 == 0 else self.cpu[ap]
            rx = self.rx[ap] * (0.8 + 0.05 * (j % 8))
            fields = {
                "reachable": 1.0,
                "uptime_s": ts - (self.booted[ap] if ts >= self.booted[ap] else OLD_BOOT),
                "clients": self.clients[ap] + (j % 3 if self.clients[ap] else 0.0),
                "cpu_pct": cpu,
                "mem_pct": self.mem[ap],
                "rx_bps": rx,
                "tx_bps": 0.3 * rx,
            }
            out.append(Sample("ap", self.tags[ap], fields, ts))
        return out

    def expected(self) -> Counter[str]:
        """The metric incidents the first pass must open."""
        return Counter(
            {
                IncidentClass.FLAPPING.value: len(self.flapping),
                IncidentClass.SILENT_FAILURE.value: len(self.silent),
                IncidentClass.OVERLOAD.value: len(self.overloaded),
                IncidentClass.UNEXPECTED_REBOOT.value: len(self.rebooted),
            }
        )


METRIC_CLASSES = (
    IncidentClass.FLAPPING,
    IncidentClass.SILENT_FAILURE,
    IncidentClass.OVERLOAD,
    IncidentClass.UNEXPECTED_REBOOT,
    IncidentClass.BACKHAUL_SATURATED,
)


def open_by_class(engine: Engine) -> Counter[str]:
    """Active incidents of the metric classes, per class."""
    with Session(engine) as session:
        kinds = session.scalars(
            select(Incident.kind).where(
                Incident.state != IncidentState.RESOLVED.value,
                Incident.kind.in_([k.value for k in METRIC_CLASSES]),
            )
        ).all()
    return Counter(kinds)


@dataclass
class PassFigures:
    """One metric-pass cycle: its total and its parts."""

    total_s: float
    latest_s: float
    metric_s: float
    behaviour_s: float
    aggregate_s: float  # the flapping judge's aggregate over the flap window
    busy_s: float  # the busy hours' aggregates (MetricJudge, once per clock hour)
    series: int
    series_s: float


def with_store(
    engine: Engine, city: City, directory: Path, url: str | None, base: float, profile: bool
) -> str:
    """(b) The engine with a filled embedded store: a metric pass every cycle."""
    settings = Settings(
        data_dir=directory / "state",
        database_url=url,
        fault_thresholds=FaultThresholds(silent_after_s=SILENT_AFTER_S),
    )
    polls = Polls(city)
    with transaction(engine) as s:  # the collector's transitions of the outage's APs
        s.add_all(
            ApEvent(ap_id=ap, at=at, from_state="up", to_state="down", cause="timeout")
            for ap, at in city.down.items()
        )
    store = TimedStore(
        open_store(f"embedded://{directory}?raw_days=100000&fine_days=100000&rollup_days=100000")
    )
    try:
        began = time.perf_counter()
        for j in range(HISTORY_POLLS):
            store.write(polls.poll(j))
        fill_s = time.perf_counter() - began
        began = time.perf_counter()
        while compact(store.store):
            pass
        compact_s = time.perf_counter() - began
        metric = TimedMetricJudge(MetricJudge(settings, store))
        faults = FaultEngine(settings, engine, store, judges=[metric])
        behaviour = TimedBehaviour(settings, store)
        behaviour.took = Calls()
        faults.behaviour = behaviour

        def one_pass(now: float) -> tuple[PassFigures, int]:
            store.reset()
            metric.took, behaviour.took = Calls(), Calls()
            began = time.perf_counter()
            report = faults.cycle(now)
            total = time.perf_counter() - began
            assert report.metric_pass, report
            series = [c for name, c in store.calls.items() if name.startswith("series")]
            figures = PassFigures(
                total_s=total,
                latest_s=store.calls["latest"].s,
                metric_s=metric.took.s,
                behaviour_s=behaviour.took.s,
                aggregate_s=store.calls["aggregate"].s,
                busy_s=store.calls["aggregate hour"].s,
                series=sum(c.n for c in series),
                series_s=sum(c.s for c in series),
            )
            return figures, report.changes

        before = open_by_class(engine)
        assert not before, before
        first, _ = one_pass(FIRST_PASS)
        opened = open_by_class(engine)
        expected = polls.expected()
        missing = expected - opened
        extra = opened - expected
        assert not extra, f"unexpected incidents: {extra}"
        # The outage's APs are flapping candidates while their answered polls are in the
        # flap window; at most MAX_SERIES of them are read, those with transitions first.
        late = dict(missing)
        write_s: list[float] = []
        steady: list[tuple[int, PassFigures, int]] = []
        profiler = cProfile.Profile() if profile else None
        for k in range(1, ROUNDS + 1):
            samples = polls.poll(HISTORY_POLLS - 1 + k)
            began = time.perf_counter()
            store.write(samples)
            write_s.append(time.perf_counter() - began)
            if profiler is not None and k == ROUNDS:
                profiler.enable()
            figures, changes = one_pass(FIRST_PASS + k * POLL_S)
            if profiler is not None and k == ROUNDS:
                profiler.disable()
            steady.append((k, figures, changes))
        final = open_by_class(engine)
        # Every anomaly still present at the end is an incident; the reboots resolved
        # (up for incident_hold_s since the boot, no newer one).
        still = expected - Counter({IncidentClass.UNEXPECTED_REBOOT.value: len(polls.rebooted)})
        assert final == still, (final, still)
    finally:
        store.close()
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(15)
    # Rounds while the outage's answered polls are inside the 900 s flap window, and after.
    window = FaultThresholds().flap_window_s
    outage_end = max(city.down.values()) if city.down else T0
    recent = [f for k, f, _ in steady if FIRST_PASS + k * POLL_S - window <= outage_end]
    later = [f for k, f, _ in steady if FIRST_PASS + k * POLL_S - window > outage_end]
    per_round = [c for _, _, c in steady]
    samples_n = HISTORY_POLLS * len(city.ap_sites)
    print(
        f"# {len(city.ap_sites):,} APs: fill {samples_n:,} samples in {fill_s:.1f} s "
        f"({samples_n / fill_s:,.0f}/s) + compact {compact_s:.1f} s; one poll written in "
        f"{median_s(write_s) * 1e3:.0f} ms (median); changes per steady round {per_round}; "
        f"first pass opened {dict(opened)}"
        + (f"; NOT opened by the first pass: {late}" if late else ""),
        flush=True,
    )
    for name, rows in (("first", [first]), ("outage < 15 min", recent), ("quiet", later)):
        if rows:
            print(f"#   {name}: {describe(rows)}", flush=True)
    cells = [f"{len(city.ap_sites):,}", f"{base * 1e3:.1f}"]
    cells.append(f"{first.total_s * 1e3:.0f} ({first.total_s / base:.1f})")
    for rows in (recent, later):
        if rows:
            total = median_s([f.total_s for f in rows])
            cells.append(f"{total * 1e3:.0f} ({total / base:.1f})")
        else:
            cells.append("-")
    parts = later or recent
    cells += [
        f"{median_s([f.latest_s for f in parts]) * 1e3:.0f}",
        f"{median_s([f.metric_s for f in parts]) * 1e3:.0f}",
        f"{median_s([f.behaviour_s for f in parts]) * 1e3:.0f}",
        f"{median_s([f.aggregate_s for f in parts]) * 1e3:.0f}",
        "/".join(f"{median_s([float(f.series) for f in r]):.0f}" for r in (recent, later) if r),
        f"{fill_s:.1f}",
    ]
    return "| " + " | ".join(cells) + " |"


def describe(rows: list[PassFigures]) -> str:
    def ms(values: list[float]) -> str:
        return f"{median_s(values) * 1e3:.1f}"

    return (
        f"{len(rows)} passes, median total {ms([f.total_s for f in rows])} ms = latest "
        f"{ms([f.latest_s for f in rows])} + MetricJudge {ms([f.metric_s for f in rows])} "
        f"(of which busy-hours aggregates {ms([f.busy_s for f in rows])}) + BehaviourJudge "
        f"{ms([f.behaviour_s for f in rows])} (of which flap-window aggregate "
        f"{ms([f.aggregate_s for f in rows])}) + the rest (snapshot, correlate, decide, "
        f"writes); series reads "
        f"{median_s([float(f.series) for f in rows]):.0f} taking "
        f"{ms([f.series_s for f in rows])} ms"
    )


def compact(store: MetricStore) -> int:
    """Roll up what the fill left dirty (the embedded store's bulk-load step)."""
    done = getattr(store, "compact", None)
    return int(done()) if done is not None else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aps", type=int, action="append", help="city size (repeatable)")
    parser.add_argument("--url", help="inventory database URL (default: SQLite in a tmp dir)")
    parser.add_argument("--profile", action="store_true", help="cProfile the last metric pass")
    args = parser.parse_args()
    sizes = args.aps or [2000, 20000]
    when = datetime.now(tz=UTC).strftime("%Y-%m-%d")
    print(f"# {when}, {platform.node()}, {platform.machine()}, "
          f"{'SQLite' if args.url is None else 'given URL'}, {ROUNDS} cycles each")  # fmt: skip
    outage_rows: list[str] = []
    metric_rows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for aps in sizes:
            outage_row, metric_row = run(aps, args.url, Path(tmp), args.profile)
            outage_rows.append(outage_row)
            metric_rows.append(metric_row)
    print(
        "| APs | down | incidents | baseline: read ap_status, ms | first cycle, ms (ratio) "
        "| steady cycle, ms (ratio) | snapshot read, ms | correlate + decide, ms |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for line in outage_rows:
        print(line)
    print()
    print(
        "| APs | baseline, ms | first pass (opens), ms (ratio) "
        "| pass, outage < 15 min old, ms (ratio) | pass, quiet, ms (ratio) "
        "| store.latest, ms | MetricJudge, ms | BehaviourJudge, ms "
        "| of which flap-window aggregate, ms "
        "| series reads per pass | fill, s |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for line in metric_rows:
        print(line)


if __name__ == "__main__":
    main()
