"""One partner's usage report over a month: JSON and PDF on the embedded store, the same
JSON on VictoriaMetrics beside it (issue 13's performance point).

A plain script, not a test: it prints figures for docs/benchmarks.md ("Partner usage
reports") and asserts only that the reports are right and agree, never a time.

    .venv/bin/python bench/bench_reports.py                 # 500 APs x 30 days, both stores
    .venv/bin/python bench/bench_reports.py --vm-aps 100    # fewer APs on VictoriaMetrics
    .venv/bin/python bench/bench_reports.py --aps 50 --days 3 --vm-aps 50   # a quick try

The city: ``--aps`` APs, two a site, 12 districts. Sites go to partners by ``i % 5``: 0
and 1 to ``p-big`` (the reported partner, 40 % of the fleet: 100 sites, 200 APs at 500),
2 to ``p-two``, 3 to ``p-three``, 4 unsponsored. The month is November 2026 in
Asia/Jakarta (30 days), polled every minute: the issue's 21.6 M samples at 500 APs.
What the report has to work through, all inside the month:

- polls: 0.5 % of them unanswered, spread evenly; one district (d03) loses its sites
  for six hours on day 10 (an ``area_outage`` incident with its APs as members), and
  every tenth AP of the partner has a 40-minute ``ap_down`` incident;
- maintenance: a four-hour window on district d05 and a two-hour one on three single
  sites, so availability is counted over the stretches outside them (extra store calls);
- RADIUS: half of the partner's sites send accounting, 60 sessions a site and day
  (about 90,000 sessions over the month, users drawn from 20,000 hashed identities);
- traffic and clients follow the local hour of the day, with whole-number values so
  the two stores' sums can be compared exactly.

Samples carry the fields the report reads (``reachable``, ``clients``,
``rx_bytes_delta``, ``tx_bytes_delta``) and ``poll_rtt_ms``: fewer than a real poll row
(10 to 22 fields), which makes the load faster than the collector's, not the report.
They are written an hour of the fleet at a time (30,000 samples a call at 500 APs)
through each store's own ``write()``, to both stores from the same batches; the load
times are per store. The embedded store keeps its defaults (raw rows 14 days, then
rollups), so the month is read as a live store would hold it; its rollups are brought
up to date (``compact()``) before anything is timed.

The previous month (the report's month-over-month comparison) has no data: its calls
are made but answer empty, a little cheaper than a real previous month.

The baseline, measured in the same run on the same store, is the least any report must
do: one ``aggregate(by="partner", keys=[p-big])`` over the month. Every figure is the
first call after loading ("first") and the median of ``--repeat`` more.

Without ``--vm-url`` the script starts its own ``victoria-metrics`` (Debian package) on a
free loopback port with the flags citywifi asks for (as tests/fixtures/servers.py does),
its data in the temporary directory, and stops it whatever happens.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from api.report_models import report_public
from core.settings import Settings
from inventory.db import open_inventory, transaction
from inventory.models import (
    AccessPoint,
    AccountingSession,
    CredentialProfile,
    District,
    Incident,
    IncidentAp,
    MaintenanceWindow,
    Partner,
    Site,
)
from reports import UsageReport, month_period, usage_report
from reports.period import Period
from timeseries import AP_MEASUREMENT, MetricStore, open_store
from timeseries.embedded import open_embedded
from timeseries.port import Aggregate, GroupBy, HourBucket, Sample

MONTH = "2026-11"  # 30 days in the city's calendar
PARTNER = "p-big"
STEP_S = 60
HOUR = 3600
DAY = 86_400
SESSIONS_PER_SITE_DAY = 60
USERS = 20_000
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0

T = TypeVar("T")


# --- the city ----------------------------------------------------------------------------


def partner_of_site(s: int) -> str | None:
    return {0: PARTNER, 1: PARTNER, 2: "p-two", 3: "p-three"}.get(s % 5)


@dataclass(frozen=True)
class Fleet:
    """The APs and their tags; ``ours`` the reported partner's APs."""

    tags: list[dict[str, str]]
    ours: list[int]

    @classmethod
    def make(cls, aps: int) -> Fleet:
        tags = []
        for i in range(aps):
            site = i // 2
            found = {
                "ap": f"ap-{i:05d}",
                "site": f"site-{site:05d}",
                "district": f"d{site % 12:02d}",
                "profile": "mikrotik",
            }
            partner = partner_of_site(site)
            if partner is not None:
                found["partner"] = partner
            tags.append(found)
        return cls(tags, [i for i, t in enumerate(tags) if t.get("partner") == PARTNER])


@dataclass(frozen=True)
class Events:
    """What the month holds beside plain polls (times in epoch seconds)."""

    outage: tuple[float, float]  # district d03, every AP
    ap_down: dict[int, tuple[float, float]]  # AP index -> its incident's span
    district_window: tuple[float, float]  # maintenance on d05
    site_windows: dict[str, tuple[float, float]]

    @classmethod
    def make(cls, period: Period, fleet: Fleet) -> Events:
        start = period.start
        at = {i: start + (3 + k % 25) * DAY + 14 * HOUR for k, i in enumerate(fleet.ours[::10])}
        ap_down = {i: (lo, lo + 2400.0) for i, lo in at.items()}
        sites = sorted({fleet.tags[i]["site"] for i in fleet.ours})
        return cls(
            outage=(start + 9 * DAY + 8 * HOUR, start + 9 * DAY + 14 * HOUR),
            ap_down=ap_down,
            district_window=(start + 14 * DAY + 2 * HOUR, start + 14 * DAY + 6 * HOUR),
            site_windows={
                site: (start + (20 + n) * DAY + 10 * HOUR, start + (20 + n) * DAY + 12 * HOUR)
                for n, site in enumerate(sites[1:4])
            },
        )

    def down(self, i: int, district: str, ts: float) -> bool:
        lo, hi = self.outage
        if district == "d03" and lo <= ts < hi:
            return True
        span = self.ap_down.get(i)
        return span is not None and span[0] <= ts < span[1]


def build_inventory(engine: Engine, fleet: Fleet, events: Events, period: Period) -> int:
    """Partners, districts, sites, APs, incidents, windows and sessions; the sessions
    written."""
    rng = random.Random(2)
    sites = sorted({(t["site"], t["district"], t.get("partner")) for t in fleet.tags})
    with transaction(engine) as s:
        s.add(CredentialProfile(id="c1", snmp_version="2c", snmp_community="sealed:v1:x"))
        s.add_all(
            [
                Partner(id=PARTNER, name="PT Sponsor Besar Tbk", sla_target_pct=99.0),
                Partner(id="p-two", name="PT Dua"),
                Partner(id="p-three", name="PT Tiga"),
            ]
        )
        s.add_all(District(id=f"d{d:02d}", name=f"Kecamatan {d:02d}") for d in range(12))
        s.flush()
        s.add_all(
            Site(
                id=site, name=f"Taman {site[5:]}", lat=-6.24, lon=106.99, district_id=district,
                partner_id=partner, kind="park", coverage_radius_m=50.0, status="active",
            )
            for site, district, partner in sites
        )  # fmt: skip
        s.flush()
        s.add_all(
            AccessPoint(
                id=t["ap"], site_id=t["site"], name=t["ap"], host="127.1.0.1", snmp_port=161,
                ssh_port=22, profile="mikrotik", credential_id="c1", enabled=True,
            )
            for t in fleet.tags
        )  # fmt: skip
        s.flush()
        lo, hi = events.outage
        outage = _incident("area_outage", "district", "d03", lo, hi)
        s.add(outage)
        s.flush()
        s.add_all(
            IncidentAp(incident_id=outage.id, ap_id=t["ap"], site_id=t["site"], since=lo)
            for t in fleet.tags
            if t["district"] == "d03"
        )
        for i, (lo, hi) in events.ap_down.items():
            row = _incident("ap_down", "ap", fleet.tags[i]["ap"], lo, hi)
            s.add(row)
            s.flush()
            tags = fleet.tags[i]
            s.add(IncidentAp(incident_id=row.id, ap_id=tags["ap"], site_id=tags["site"], since=lo))
        windows = [("district", "d05", events.district_window)]
        windows += [("site", site, span) for site, span in events.site_windows.items()]
        s.add_all(
            MaintenanceWindow(
                scope_kind=kind, scope_id=scope, starts_at=lo, ends_at=hi, reason="works",
                created_by="bench", created_at=period.start, updated_at=period.start,
            )
            for kind, scope, (lo, hi) in windows
        )  # fmt: skip
    radius_sites = sorted({fleet.tags[i]["site"] for i in fleet.ours})[::2]
    rows: list[dict[str, Any]] = []
    days = round((period.end - period.start) / DAY)
    for site in radius_sites:
        ap = f"ap-{int(site[5:]) * 2:05d}"
        for day in range(days):
            for _ in range(SESSIONS_PER_SITE_DAY):
                started = period.start + day * DAY + rng.uniform(6 * HOUR, 22 * HOUR)
                duration = float(rng.randrange(60, 5400))
                n = len(rows)
                rows.append(
                    dict(
                        ap_id=ap, site_id=site, partner_id=PARTNER, nas_session_id=f"s{n}",
                        generation=0, state="closed", started_at=started,
                        updated_at=started + duration, stopped_at=started + duration,
                        duration_s=duration, input_octets=0, output_octets=0, input_packets=0,
                        output_packets=0, terminate_cause="User-Request", key_month=MONTH,
                        user_hash=f"{rng.randrange(USERS):032x}", station_hash=f"{n:032x}",
                    )
                )  # fmt: skip
    with transaction(engine) as s:
        for at in range(0, len(rows), 10_000):
            s.execute(insert(AccountingSession), rows[at : at + 10_000])
    return len(rows)


def _incident(kind: str, scope_kind: str, scope_id: str, lo: float, hi: float) -> Incident:
    return Incident(
        kind=kind, scope_kind=scope_kind, scope_id=scope_id, state="resolved", opened_at=lo,
        updated_at=hi, resolved_at=hi, responsible="operator", explanation="bench",
    )  # fmt: skip


# --- the samples -------------------------------------------------------------------------


class Polls:
    """One hour of the fleet's polls at a time. Field dicts come from a small pool per
    local hour of the day (the stores copy values out, so sharing them is safe and keeps
    generation cheap); whole numbers, so sums compare exactly across stores."""

    LOST: ClassVar[dict[str, float]] = {"reachable": 0.0}

    def __init__(self, fleet: Fleet, events: Events, tz_offset_h: int) -> None:
        rng = random.Random(1)
        self.fleet, self.events, self.offset = fleet, events, tz_offset_h
        busy = [0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 0.7, 1.0, 1.2, 1.3, 1.4, 1.5]
        busy += [1.6, 1.5, 1.4, 1.4, 1.5, 1.7, 2.0, 2.2, 2.0, 1.5, 0.9, 0.5]
        self.pool = [
            [
                {
                    "reachable": 1.0,
                    "clients": float(rng.randint(0, round(12 * factor) + 1)),
                    "rx_bytes_delta": float(rng.randint(0, round(3_000_000 * factor))),
                    "tx_bytes_delta": float(rng.randint(0, round(600_000 * factor))),
                    "poll_rtt_ms": float(rng.randint(2, 40)),
                }
                for _ in range(31)
            ]
            for factor in busy
        ]

    def hour(self, at: float) -> list[Sample]:
        """The polls of [at, at + 1 h)."""
        pool = self.pool[(int(at // HOUR) + self.offset) % 24]
        out: list[Sample] = []
        for i, tags in enumerate(self.fleet.tags):
            district = tags["district"]
            for k in range(HOUR // STEP_S):
                ts = at + k * STEP_S
                n = int(ts // STEP_S) + i * 7
                if n % 200 == 0 or self.events.down(i, district, ts):
                    fields = self.LOST
                else:
                    fields = pool[n % 31]
                out.append(Sample(AP_MEASUREMENT, tags, fields, ts))
        return out


# --- timing ------------------------------------------------------------------------------


@dataclass
class Timed:
    first: float
    rest: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.rest) if self.rest else self.first


def timed(fn: Callable[[], T], repeat: int) -> tuple[T, Timed]:
    began = time.perf_counter()
    result = fn()
    first = time.perf_counter() - began
    rest = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        rest.append(time.perf_counter() - began)
    return result, Timed(first, rest)


@dataclass
class StoreCalls:
    """A MetricStore that counts and times the report's calls (the store's share)."""

    store: MetricStore
    n: int = 0
    s: float = 0.0
    kinds: dict[str, int] = field(default_factory=dict)

    def _time(self, kind: str, began: float) -> None:
        self.n += 1
        self.s += time.perf_counter() - began
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def reset(self) -> None:
        self.n, self.s, self.kinds = 0, 0.0, {}

    def aggregate(
        self, start: float, end: float, by: GroupBy = "ap", keys: Collection[str] | None = None
    ) -> list[Aggregate]:
        began = time.perf_counter()
        try:
            return self.store.aggregate(start, end, by, keys)
        finally:
            self._time(f"aggregate by {by}", began)

    def hourly(
        self, start: float, end: float, by: GroupBy = "partner", keys: Collection[str] | None = None
    ) -> list[HourBucket]:
        began = time.perf_counter()
        try:
            return self.store.hourly(start, end, by, keys)
        finally:
            self._time("hourly", began)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


# --- VictoriaMetrics ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def victoria_metrics(directory: Path) -> Iterator[str]:
    """A throw-away victoria-metrics on loopback with citywifi's flags; its base URL.
    Stopped (terminate, then kill) whatever happens, also on Ctrl-C."""
    binary = shutil.which("victoria-metrics")
    if binary is None:
        raise SystemExit("victoria-metrics is not installed (Debian package victoria-metrics)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = directory / "victoria-metrics.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                binary,
                f"-httpListenAddr=127.0.0.1:{port}",
                f"-storageDataPath={directory / 'vm-data'}",
                "-retentionPeriod=100y",
                "-search.latencyOffset=0s",
                "-dedup.minScrapeInterval=1ms",
                "-loggerLevel=WARN",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise SystemExit(f"victoria-metrics exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"victoria-metrics not ready in {START_TIMEOUT_S:g} s")
            time.sleep(0.05)
        yield base
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT_S)


def vm_version() -> str:
    """The Debian package's version (the binary's ``-version`` prints nothing there)."""
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "victoria-metrics"],
        capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    return done.stdout.strip() or "unknown"


# --- the run -----------------------------------------------------------------------------


@dataclass
class Loaded:
    samples: int
    seconds: float
    extra: str = ""


def load(
    stores: dict[str, tuple[MetricStore, int]], polls: Polls, period: Period
) -> dict[str, Loaded]:
    """Every hour of the period to every store (each its first ``aps`` APs), timed per
    store; generation is timed apart."""
    took = dict.fromkeys(stores, 0.0)
    counts = dict.fromkeys(stores, 0)
    generating = 0.0
    hours = int((period.end - period.start) // HOUR)
    for h in range(hours):
        began = time.perf_counter()
        batch = polls.hour(period.start + h * HOUR)
        generating += time.perf_counter() - began
        per_ap = HOUR // STEP_S
        for name, (store, aps) in stores.items():
            part = batch[: aps * per_ap]
            began = time.perf_counter()
            store.write(part)
            took[name] += time.perf_counter() - began
            counts[name] += len(part)
        if h % 24 == 23:
            done = ", ".join(f"{n} {took[n]:.0f} s" for n in stores)
            print(
                f"  day {(h + 1) // 24} loaded: {done}, generating {generating:.0f} s", flush=True
            )
    return {name: Loaded(counts[name], took[name]) for name in stores}


@dataclass
class Figures:
    baseline: Timed
    json: Timed
    store_calls: int
    store_s: float
    kinds: dict[str, int]
    report: UsageReport
    json_bytes: int


def report_figures(
    engine: Engine, store: MetricStore, settings: Settings, period: Period, repeat: int
) -> Figures:
    timed_store = StoreCalls(store)
    now = period.end + DAY  # generated on the 1st of the next month

    def baseline() -> list[Aggregate]:
        return store.aggregate(period.start, period.end, by="partner", keys=[PARTNER])

    def json_report() -> tuple[UsageReport, str]:
        with Session(engine) as session:
            store_seen: Any = timed_store  # a MetricStore by duck typing
            found = usage_report(
                session, store_seen, settings, partner=PARTNER, period=period, now=now
            )
        return found, report_public(found).model_dump_json()

    base, base_t = timed(baseline, repeat)
    assert base and base[0].polls > 0, base
    timed_store.reset()
    (report, text), json_t = timed(json_report, 0)
    calls, store_s, kinds = timed_store.n, timed_store.s, dict(timed_store.kinds)
    _, more = timed(json_report, repeat - 1)
    json_t.rest = [more.first, *more.rest]
    return Figures(base_t, json_t, calls, store_s, kinds, report, len(text))


def check(report: UsageReport, aps: int, fleet: Fleet, events: Events, period: Period) -> None:
    """The report is the partner's, has all its sites, and counted every poll once."""
    sites = {fleet.tags[i]["site"] for i in fleet.ours}  # active: listed, polled or not
    assert {s.site for s in report.sites} == sites, "the partner's sites, only they"
    ours = [i for i in fleet.ours if i < aps]
    polls_in = len(ours) * int((period.end - period.start) // STEP_S)
    excused = 0
    for i in ours:
        t = fleet.tags[i]
        spans = []
        if t["district"] == "d05":
            spans.append(events.district_window)
        if t["site"] in events.site_windows:
            spans.append(events.site_windows[t["site"]])
        clipped = [(max(lo, period.start), min(hi, period.end)) for lo, hi in spans]
        excused += sum(int((hi - lo) // STEP_S) for lo, hi in clipped if hi > lo)
    assert report.totals.polls == polls_in - excused, (report.totals.polls, polls_in, excused)
    assert report.totals.polls_ok < report.totals.polls
    assert sum(d.polls for d in report.days) == polls_in
    assert len(report.days) == round((period.end - period.start) / DAY)


def agree(a: UsageReport, b: UsageReport) -> None:
    """Two stores' reports on the same data: the same numbers."""
    assert a.totals.polls == b.totals.polls and a.totals.polls_ok == b.totals.polls_ok
    assert (a.totals.down_bytes, a.totals.up_bytes) == (b.totals.down_bytes, b.totals.up_bytes)
    assert a.totals.clients_peak == b.totals.clients_peak
    assert [s.figures.polls_ok for s in a.sites] == [s.figures.polls_ok for s in b.sites]
    assert a.days == b.days and a.heatmap == b.heatmap


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def row(what: str, t: Timed, base: Timed, target: str = "") -> str:
    return f"| {what} | {ms(t.first)} | {ms(t.median)} | {t.median / base.median:.1f} | {target} |"


def run(args: argparse.Namespace, tmp: Path, vm_base: str | None) -> None:
    settings = Settings(data_dir=tmp / "state")
    tz = settings.city_tz
    period = month_period(MONTH, tz)
    days = args.days
    period = Period(period.start, period.start + days * DAY, period.label, period.month)
    if days != 30:
        print(f"(only {days} days: the period is the first {days} days of {MONTH})")
    fleet = Fleet.make(args.aps)
    events = Events.make(period, fleet)
    engine = open_inventory(f"sqlite:///{tmp / 'inventory.sqlite'}", create=True)
    settings = Settings(data_dir=tmp / "state", database_url=str(engine.url))
    try:
        began = time.perf_counter()
        sessions = build_inventory(engine, fleet, events, period)
        print(
            f"inventory: {args.aps} APs, {len({t['site'] for t in fleet.tags})} sites; "
            f"{PARTNER}: {len(fleet.ours)} APs; {sessions:,} RADIUS sessions; "
            f"{time.perf_counter() - began:.1f} s"
        )
        offset = round(datetime.fromtimestamp(period.start, tz).utcoffset().total_seconds() / HOUR)  # type: ignore[union-attr]
        polls = Polls(fleet, events, offset)
        embedded = open_embedded(f"embedded://{tmp / 'embedded'}")
        stores: dict[str, tuple[MetricStore, int]] = {"embedded": (embedded, args.aps)}
        vm: MetricStore | None = None
        if vm_base is not None and args.vm_aps:
            vm = open_store(f"victoriametrics+{vm_base}?timeout=120")
            stores["VictoriaMetrics"] = (vm, args.vm_aps)
        try:
            loaded = load(stores, polls, period)
            began = time.perf_counter()
            while embedded.compact():
                pass
            loaded["embedded"].extra = f" + compact() {time.perf_counter() - began:.1f} s"
            if vm is not None and vm_base is not None:
                began = time.perf_counter()
                httpx.get(vm_base + "/internal/force_flush", timeout=120).raise_for_status()
                loaded["VictoriaMetrics"].extra = f" + flush {time.perf_counter() - began:.1f} s"
            for name, got in loaded.items():
                print(
                    f"load {name}: {got.samples:,} samples in {got.seconds:.0f} s "
                    f"({got.samples / got.seconds:,.0f}/s){got.extra}"
                )
            lines = figures_table(args, engine, embedded, vm, settings, period, fleet, events)
        finally:
            embedded.close()
            if vm is not None:
                vm.close()
    finally:
        engine.dispose()
    print()
    print("\n".join(lines))


def figures_table(
    args: argparse.Namespace,
    engine: Engine,
    embedded: MetricStore,
    vm: MetricStore | None,
    settings: Settings,
    period: Period,
    fleet: Fleet,
    events: Events,
) -> list[str]:
    repeat = args.repeat
    emb = report_figures(engine, embedded, settings, period, repeat)
    check(emb.report, args.aps, fleet, events, period)
    began = time.perf_counter()
    from reports.pdf import render_pdf  # what the API pays on its first PDF

    import_s = time.perf_counter() - began
    pdf, pdf_t = timed(lambda: render_pdf(emb.report), max(repeat // 2, 2))
    assert pdf.startswith(b"%PDF")
    total = Timed(emb.json.first + pdf_t.first, [emb.json.median + pdf_t.median])
    t = emb.report.totals
    out = [
        f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average "
        f"{os.getloadavg()[0]:.1f} at the end",
        f"report: {len(emb.report.sites)} sites, {t.polls:,} polls outside maintenance, "
        f"availability {t.availability_pct:.3f} %, {t.down_bytes / 1e9:,.1f} GB down, "
        f"{t.sessions:,} sessions, {t.users:,} users; JSON {emb.json_bytes / 1e3:,.0f} kB; "
        f"PDF {len(pdf) / 1e3:,.0f} kB",
        f"embedded store calls per report: {emb.store_calls} ({emb.kinds}), "
        f"{ms(emb.store_s)} ms of the first report",
        "",
        "| step | first ms | median ms | ratio to baseline | target |",
        "| --- | ---: | ---: | ---: | --- |",
        row("embedded: baseline `aggregate` partner x month", emb.baseline, emb.baseline),
        row("embedded: JSON (`usage_report` + API model)", emb.json, emb.baseline, "< 1 s"),
        f"| embedded: `import reports.pdf` (first PDF only) | {ms(import_s)} | | | |",
        row("embedded: `render_pdf` alone", pdf_t, emb.baseline),
        row("embedded: PDF (report + `render_pdf`)", total, emb.baseline, "< 5 s"),
    ]
    if vm is not None:
        vmf = report_figures(engine, vm, settings, period, repeat)
        if args.vm_aps == args.aps:
            agree(emb.report, vmf.report)
            out[2] += "; VictoriaMetrics: the same figures (checked)"
        else:
            check(vmf.report, args.vm_aps, fleet, events, period)
        label = "VictoriaMetrics" + (f" ({args.vm_aps} APs)" if args.vm_aps != args.aps else "")
        out[2] += f"; {label} calls: {vmf.store_calls}, {ms(vmf.store_s)} ms of the first"
        out += [
            row(f"{label}: baseline `aggregate` partner x month", vmf.baseline, vmf.baseline),
            row(f"{label}: JSON (`usage_report` + API model)", vmf.json, vmf.baseline),
            f"| {label} JSON / embedded JSON (medians) | | | "
            f"{vmf.json.median / emb.json.median:.1f} | |",
        ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--aps", type=int, default=500)
    parser.add_argument("--days", type=int, default=30, help="of November 2026 (1-30)")
    parser.add_argument(
        "--vm-aps", type=int, default=None, help="APs on VictoriaMetrics (default: --aps; 0: none)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs after the first")
    parser.add_argument("--vm-url", help="a running single-node VictoriaMetrics (data left there)")
    args = parser.parse_args()
    if args.vm_aps is None:
        args.vm_aps = args.aps
    if not 1 <= args.days <= 30 or not 0 <= args.vm_aps <= args.aps or args.aps % 2:
        parser.error("--days 1..30, --vm-aps 0..--aps, --aps even")
    print(f"victoria-metrics: {vm_version()}")
    with tempfile.TemporaryDirectory(prefix="citywifi-report-bench-") as tmp:
        if args.vm_url or not args.vm_aps:
            run(args, Path(tmp), args.vm_url.rstrip("/") if args.vm_url else None)
            return
        with victoria_metrics(Path(tmp)) as base:
            run(args, Path(tmp), base)


if __name__ == "__main__":
    main()
