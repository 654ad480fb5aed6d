"""Benchmark the embedded metric store: ingest, latest(), a month's aggregates and series.

A plain script, not a test: it prints figures for docs/benchmarks.md and asserts nothing
about time. Everything happens in a temporary directory that is removed at the end.

    .venv/bin/python bench/bench_embedded_store.py                     # ~2 min
    .venv/bin/python bench/bench_embedded_store.py --month-aps 500     # the full month

Phases, each on its own store:

ingest   ``--aps`` APs polled ``--rounds`` times one minute apart (crossing hour
         boundaries, so the rollup compaction that writes trigger is in the figure),
         one batch per poll round as the collector writes; each AP carries 10 to 22
         fields depending on its profile. Samples are built before the clock starts.
latest   latest() over ``--latest-aps`` APs.
month    ``--days`` days of one-minute polls for ``--month-aps`` APs from the bench's own
         generator (a third of the APs unsponsored, the rest spread over 7 partners),
         written an hour at a time with the default retention (raw rows 14 days), then:
         one partner's totals over the whole period, one AP's 24 h series (from raw
         rows at a 60 s step, from 5-minute rollups at a 300 s step on a day older than
         the raw retention), and the files on disk per AP-month.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from timeseries.embedded import EmbeddedStore
from timeseries.port import Sample

T0 = 1_700_002_800.0  # a whole hour; fixed so runs compare
DAY = 86_400.0
BASE = ("reachable", "poll_rtt_ms", "uptime_s", "clients", "rx_bytes", "tx_bytes")
BASE += ("rx_bps", "tx_bps", "rx_bytes_delta", "tx_bytes_delta")
RICH = ("clients_2g4", "clients_5g", "wlan_rx_bytes", "wlan_tx_bytes", "wlan_rx_bps")
RICH += ("wlan_tx_bps", "cpu_pct", "mem_pct", "noise_dbm", "signal_dbm", "ccq_pct")
RICH += ("hotspot_users", "hotspot_sessions", "if_errors")
# 10, 16 and 22 fields: a bare SNMP AP, a managed one, a hotspot router
PROFILES = (BASE, BASE + RICH[:6], BASE + RICH[:12])


def ap_tags(i: int) -> dict[str, str]:
    return {
        "ap": f"ap-{i:05d}",
        "site": f"site-{i // 2:05d}",
        "district": f"d{i % 12:02d}",
        "partner": "" if i % 3 == 2 else f"partner-{i % 7}",
        "profile": f"profile-{i % 3}",
    }


class Generator:
    """Poll rows with plausible values; field dicts come from a small pool per profile
    (the store copies values out, so sharing them is safe and keeps generation cheap)."""

    def __init__(self, aps: int, seed: int = 1) -> None:
        rnd = random.Random(seed)
        self.tags = [ap_tags(i) for i in range(aps)]
        self.pool = [
            [
                {f: float(rnd.randint(0, 40)) if f != "reachable" else 1.0 for f in profile}
                for _ in range(61)
            ]
            + [{"reachable": 0.0}]
            for profile in PROFILES
        ]

    def round(self, ts: float, k: int) -> list[Sample]:
        pool = self.pool
        return [
            Sample("ap", tags, pool[i % 3][(i * 7 + k) % 62], ts)
            for i, tags in enumerate(self.tags)
        ]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def bench_ingest(root: Path, aps: int, rounds: int) -> None:
    store = EmbeddedStore(root / "ingest")
    gen = Generator(aps)
    batches = [gen.round(T0 + 60 * k, k) for k in range(rounds)]
    values = sum(len(s.fields) for batch in batches for s in batch)
    samples = aps * rounds
    started, cpu_started = time.perf_counter(), time.process_time()
    for batch in batches:
        store.write(batch)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        f"ingest: {aps} APs x {rounds} rounds = {samples:,} samples ({values:,} values,"
        f" {values / samples:.1f} per sample) in {elapsed:.2f} s wall, {cpu:.2f} s CPU ->"
        f" {samples / elapsed:,.0f} samples/s wall, {samples / cpu:,.0f} per CPU-second"
        f" ({values / elapsed:,.0f} values/s)"
    )
    # Writes roll up closed hours only once they have been dirty for a minute, so a run
    # this short leaves the work to do: time it and count it against ingest.
    started, cpu_started = time.perf_counter(), time.process_time()
    while store.compact():
        pass
    rollup, rollup_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        f"rollup of the ingested hours: {rollup:.2f} s wall, {rollup_cpu:.2f} s CPU ->"
        f" ingest including rollups {samples / (elapsed + rollup):,.0f} samples/s wall,"
        f" {samples / (cpu + rollup_cpu):,.0f} per CPU-second"
    )
    replay = batches[: rounds // 4]
    started = time.perf_counter()
    for batch in replay:
        store.write(batch)
    elapsed = time.perf_counter() - started
    print(
        f"replay: {aps * len(replay):,} existing samples rewritten ->"
        f" {aps * len(replay) / elapsed:,.0f} samples/s"
    )
    store.close()


def bench_latest(root: Path, aps: int) -> None:
    store = EmbeddedStore(root / "latest")
    gen = Generator(aps)
    for k in range(3):
        store.write(gen.round(T0 + 60 * k, k))
    assert len(store.latest()) == aps
    all_times = timed(store.latest, 10)
    some = [f"ap-{i:05d}" for i in range(0, aps, 20)]
    some_times = timed(lambda: store.latest(some), 10)
    print(
        f"latest: all {aps} APs: best {min(all_times) * 1000:.1f} ms,"
        f" median {statistics.median(all_times) * 1000:.1f} ms;"
        f" {len(some)} named APs: best {min(some_times) * 1000:.1f} ms"
    )
    store.close()


def table_sizes(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 6"
        ).fetchall()
    except sqlite3.Error:
        return "(dbstat not available)"
    finally:
        conn.close()
    return ", ".join(f"{name} {size / 1e6:,.0f} MB" for name, size in rows)


def bench_month(root: Path, aps: int, days: int) -> None:
    directory = root / "month"
    store = EmbeddedStore(directory)
    gen = Generator(aps, seed=2)
    minutes = int(days * 1440)
    started = time.perf_counter()
    for hour in range(0, minutes, 60):
        batch = [s for m in range(hour, min(hour + 60, minutes)) for s in gen.round(T0 + 60 * m, m)]
        store.write(batch)
    while store.compact():
        pass
    fill = time.perf_counter() - started
    rows = aps * minutes
    store.close()
    size = sum(p.stat().st_size for p in directory.iterdir())
    print(
        f"month: filled {days} days x {aps} APs = {rows:,} poll rows in {fill:.0f} s"
        f" ({rows / fill:,.0f} rows/s, generation included); files {size / 1e6:,.0f} MB ="
        f" {size / 1e6 / aps / (days / 30):.2f} MB per AP-month (raw kept 14 days)"
    )
    print(f"month: largest tables: {table_sizes(directory / 'metrics.sqlite')}")

    end = T0 + days * DAY
    for partner in ("partner-3",):
        for label, start in (("whole period", T0), ("unaligned", T0 + 1234.5)):
            cold = []
            for _ in range(3):
                store = EmbeddedStore(directory)
                t = time.perf_counter()
                result = store.aggregate(start, end - 777.25, "partner", [partner])
                cold.append(time.perf_counter() - t)
                store.close()
            (agg,) = result
            print(
                f"aggregate: {partner} ({agg.aps} APs, {agg.polls:,} polls) over {days} days,"
                f" {label}: cold best {min(cold) * 1000:.0f} ms, median"
                f" {statistics.median(cold) * 1000:.0f} ms"
            )
    store = EmbeddedStore(directory)
    t = time.perf_counter()
    every = store.aggregate(T0, end, "ap")
    took = (time.perf_counter() - t) * 1000
    print(f"aggregate: all {len(every)} APs over the period, grouped by AP: {took:.0f} ms")
    store.close()

    picks = [f"ap-{i:05d}" for i in random.Random(1).sample(range(aps), min(20, aps))]
    for label, day_start, step in (
        ("last day, raw rows, step 60 s, unaligned start", end - DAY - 1234.0, 60.0),
        ("a day past raw retention, 5-minute rollups, step 300 s", T0 + 3 * DAY, 300.0),
    ):
        cold, warm = [], []
        for ap in picks:
            store = EmbeddedStore(directory)
            t = time.perf_counter()
            points = store.series(ap, "clients", day_start, day_start + DAY, step)
            cold.append(time.perf_counter() - t)
            warm += timed(partial(store.series, ap, "clients", day_start, day_start + DAY, step), 3)
            store.close()
            assert sum(p.value is None for p in points) <= len(points) // 20, label
        print(
            f"series: 24 h, {label}: cold median {statistics.median(cold) * 1000:.1f} ms"
            f" (max {max(cold) * 1000:.1f}), warm median {statistics.median(warm) * 1000:.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--aps", type=int, default=500, help="APs in the ingest phase")
    parser.add_argument("--rounds", type=int, default=240, help="poll rounds to ingest")
    parser.add_argument("--latest-aps", type=int, default=2000)
    parser.add_argument("--month-aps", type=int, default=100)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--skip", nargs="*", default=[], choices=["ingest", "latest", "month"])
    parser.add_argument("--dir", type=Path, help="work here instead of a temporary directory")
    args = parser.parse_args()
    if args.days < 5:
        parser.error("--days must be at least 5 (a day past the raw retention is read)")
    with tempfile.TemporaryDirectory(prefix="citywifi-bench-", dir=args.dir) as tmp:
        root = Path(tmp)
        if "ingest" not in args.skip:
            bench_ingest(root, args.aps, args.rounds)
        if "latest" not in args.skip:
            bench_latest(root, args.latest_aps)
        if "month" not in args.skip:
            bench_month(root, args.month_aps, args.days)


if __name__ == "__main__":
    main()
