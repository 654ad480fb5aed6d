"""The fault engine's cost per cycle, on a city of 2,000 and of 20,000 APs.

A plain script, not a test: it prints figures for docs/benchmarks.md ("Fault engine: one
cycle") and asserts only that the engine did what the scenario asks, never a time.

    .venv/bin/python bench/bench_faults.py                  # 2,000 and 20,000 APs, SQLite
    .venv/bin/python bench/bench_faults.py --aps 2000 --url postgresql+psycopg://...

The city: three APs a site, 20 districts, 40 shared uplinks. One district loses power
(every AP of its sites down, within a minute) and 20 single APs elsewhere are down; the
state rows are written straight into ``ap_status`` as the collector would leave them.
The baseline, in the same run, is the least any engine must do each cycle: read every
AP's state row (``SELECT ap_id, state, since FROM ap_status``). The ratios say what the
topology join, the correlation and the incident bookkeeping cost on top of that.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.settings import Settings
from faults.correlate import Thresholds, correlate
from faults.engine import FaultEngine
from faults.lifecycle import Policy, decide
from faults.snapshot import read_snapshot
from inventory import incidents
from inventory.db import open_inventory, transaction
from inventory.models import AccessPoint, ApStatus, CredentialProfile, District, Site, Uplink

T0 = 1_767_225_600.0
ROUNDS = 20


def build_city(engine: Engine, aps: int, seed: int = 1) -> int:
    """The city and its state rows; returns how many APs are down."""
    rng = random.Random(seed)
    n_sites = aps // 3
    site_ids = [f"s{i:05d}" for i in range(n_sites)]
    with transaction(engine) as s:
        s.add(CredentialProfile(id="c", snmp_version="2c"))
        s.add_all(District(id=f"d{d:02d}", name=f"District {d}") for d in range(20))
        s.add_all(Uplink(id=f"u{u:02d}", name=f"U{u}", operator="op") for u in range(40))
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
    return len(down)


def median_s(samples: list[float]) -> float:
    return statistics.median(samples)


def run(aps: int, url: str | None, tmp: Path) -> list[str]:
    settings = Settings(data_dir=tmp / f"state-{aps}", database_url=url)
    engine = open_inventory(url or f"sqlite:///{tmp / f'inventory-{aps}.sqlite'}", create=True)
    try:
        down = build_city(engine, aps)
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
    finally:
        engine.dispose()
    base = median_s(baseline)
    return [
        f"| {aps:,} | {down} | {len(active)} | {base * 1e3:.1f} | {first_s * 1e3:.0f} "
        f"({first_s / base:.1f}) | {median_s(steady) * 1e3:.1f} ({median_s(steady) / base:.1f}) "
        f"| {snapshot_s * 1e3:.1f} | {pure_s * 1e3:.2f} |"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aps", type=int, action="append", help="city size (repeatable)")
    parser.add_argument("--url", help="inventory database URL (default: SQLite in a tmp dir)")
    args = parser.parse_args()
    sizes = args.aps or [2000, 20000]
    when = datetime.now(tz=UTC).strftime("%Y-%m-%d")
    print(f"# {when}, {platform.node()}, {platform.machine()}, "
          f"{'SQLite' if args.url is None else 'given URL'}, {ROUNDS} cycles each")  # fmt: skip
    print(
        "| APs | down | incidents | baseline: read ap_status, ms | first cycle, ms (ratio) "
        "| steady cycle, ms (ratio) | snapshot read, ms | correlate + decide, ms |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        for aps in sizes:
            for line in run(aps, args.url, Path(tmp)):
                print(line, flush=True)


if __name__ == "__main__":
    main()
