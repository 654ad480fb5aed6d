"""Benchmark the embedded metric store: ingest rate, latest() and a 24 h series query.

A plain script, not a test: it prints figures for docs/benchmarks.md and asserts nothing
about time. Everything happens in a temporary directory that is removed at the end.

    .venv/bin/python bench/bench_embedded_store.py            # defaults, about a minute
    .venv/bin/python bench/bench_embedded_store.py --days 7   # smaller history, faster

Three phases, each on its own store:

ingest   APs x 8 fields x timestamps, written in batches of one poll round of every AP
         (what the collector does); the rate counts field values, the unit of the target.
latest   latest() over ``--latest-aps`` APs holding 8 fields each; best of several runs.
series   a history of ``--days`` days x ``--history-aps`` APs x 1 field at one-minute
         resolution, then 24 h series queries (1-minute and 5-minute steps) for APs picked
         across the store, each from a cold connection-pool and a warm one.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from timeseries.embedded import EmbeddedStore
from timeseries.port import Sample
from timeseries.vocabulary import AP_METRICS

T0 = 1_700_000_000.0  # a fixed epoch keeps runs comparable
FIELDS = tuple(AP_METRICS)  # the 8 AP metrics


def ap_tags(i: int) -> dict[str, str]:
    return {
        "ap": f"ap-{i:05d}",
        "site": f"site-{i // 2:05d}",
        "district": f"d{i % 12:02d}",
        "partner": "" if i % 3 else f"partner-{i % 7}",
        "profile": "generic-snmp",
    }


def poll_round(tags: list[dict[str, str]], ts: float, fields: tuple[str, ...]) -> list[Sample]:
    rnd = random.random
    return [Sample("ap", t, {f: rnd() * 1000 for f in fields}, ts) for t in tags]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def bench_ingest(root: Path, aps: int, timestamps: int) -> None:
    store = EmbeddedStore(root / "ingest")
    tags = [ap_tags(i) for i in range(aps)]
    rounds = [poll_round(tags, T0 + 60 * k, FIELDS) for k in range(timestamps)]
    values = aps * len(FIELDS) * timestamps
    started, cpu_started = time.perf_counter(), time.process_time()
    for batch in rounds:
        store.write(batch)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        f"ingest: {aps} APs x {len(FIELDS)} fields x {timestamps} timestamps = {values:,} values"
        f" in {elapsed:.2f} s wall, {cpu:.2f} s CPU -> {values / elapsed:,.0f} values/s wall,"
        f" {values / cpu:,.0f} values/s per CPU-second (batches of {aps} samples)"
    )
    # Replaying the same data (after a collector outage) is an upsert of existing keys.
    started = time.perf_counter()
    for batch in rounds[: max(1, timestamps // 4)]:
        store.write(batch)
    replayed = aps * len(FIELDS) * max(1, timestamps // 4)
    elapsed = time.perf_counter() - started
    print(f"replay: {replayed:,} existing values rewritten -> {replayed / elapsed:,.0f} values/s")
    store.close()


def bench_latest(root: Path, aps: int) -> None:
    store = EmbeddedStore(root / "latest")
    tags = [ap_tags(i) for i in range(aps)]
    for k in range(3):
        store.write(poll_round(tags, T0 + 60 * k, FIELDS))
    result = store.latest()
    assert len(result) == aps
    all_times = timed(store.latest, 10)
    some = [f"ap-{i:05d}" for i in range(0, aps, 20)]
    some_times = timed(lambda: store.latest(some), 10)
    print(
        f"latest: all {aps} APs x {len(FIELDS)} fields: best {min(all_times) * 1000:.1f} ms,"
        f" median {statistics.median(all_times) * 1000:.1f} ms;"
        f" {len(some)} named APs: best {min(some_times) * 1000:.1f} ms"
    )
    store.close()


def bench_series(root: Path, aps: int, days: int) -> None:
    directory = root / "history"
    store = EmbeddedStore(directory)
    tags = [ap_tags(i) for i in range(aps)]
    minutes = days * 24 * 60
    chunk = 60  # one hour of one-minute polls per batch
    started = time.perf_counter()
    for hour in range(0, minutes, chunk):
        batch = [
            Sample("ap", t, {"clients": float((hour + m + i) % 40)}, T0 + 60 * (hour + m))
            for m in range(min(chunk, minutes - hour))
            for i, t in enumerate(tags)
        ]
        store.write(batch)
    fill = time.perf_counter() - started
    store.close()
    size_mb = sum(p.stat().st_size for p in directory.iterdir()) / 1e6
    print(
        f"series: filled {days} days x {aps} APs x 1 field = {aps * minutes:,} points"
        f" in {fill:.1f} s ({aps * minutes / fill:,.0f} values/s); files {size_mb:,.0f} MB"
    )

    picks = [f"ap-{i:05d}" for i in random.Random(1).sample(range(aps), 20)]
    day = 86_400.0
    for step in (60.0, 300.0):
        cold, warm = [], []
        for n, ap in enumerate(picks):
            start = T0 + (n % max(1, days - 1)) * day + 1234.0  # not aligned to a poll
            store = EmbeddedStore(directory)  # new connections: nothing cached by SQLite
            t = time.perf_counter()
            points = store.series(ap, "clients", start, start + day, step)
            cold.append(time.perf_counter() - t)
            warm += timed(partial(store.series, ap, "clients", start, start + day, step), 3)
            store.close()
            assert len(points) == int(day // step)
            assert sum(p.value is None for p in points) <= 1
        print(
            f"series: 24 h at step {step:.0f} s ({int(day // step)} buckets) over"
            f" {len(picks)} APs: cold median {statistics.median(cold) * 1000:.1f} ms"
            f" (max {max(cold) * 1000:.1f}), warm median {statistics.median(warm) * 1000:.1f} ms"
            f" (max {max(warm) * 1000:.1f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aps", type=int, default=300, help="APs in the ingest phase")
    parser.add_argument("--timestamps", type=int, default=200, help="poll rounds to ingest")
    parser.add_argument("--latest-aps", type=int, default=2000)
    parser.add_argument("--history-aps", type=int, default=300)
    parser.add_argument("--days", type=int, default=30, help="history for the series query")
    parser.add_argument("--dir", type=Path, help="work here instead of a temporary directory")
    args = parser.parse_args()
    if args.days < 2:
        parser.error("--days must be at least 2: the 24 h windows start at an offset")
    with tempfile.TemporaryDirectory(prefix="citywifi-bench-", dir=args.dir) as tmp:
        root = Path(tmp)
        bench_ingest(root, args.aps, args.timestamps)
        bench_latest(root, args.latest_aps)
        bench_series(root, args.history_aps, args.days)


if __name__ == "__main__":
    main()
