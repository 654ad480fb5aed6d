"""Benchmark ``simulate --history``: computing the city's past and writing it to a store.

A plain script, not a test: it prints figures for docs/benchmarks.md and asserts nothing
about time. The store lives in a temporary directory that is removed at the end.

    .venv/bin/python bench/bench_history.py                    # 7 days x 300 APs, 300 s
    .venv/bin/python bench/bench_history.py --days 1 --aps 50  # quick

Two phases on the same window:

generate  the rows alone (simulators.history), to separate the simulator's cost from the
          store's
write     write_history into a fresh embedded store, batches of --batch samples; the rate
          counts field values, the unit of the store benchmark
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from citywifi.history import DAY_S, write_history
from simulators.city import build_city
from simulators.history import history_rows
from timeseries.embedded import EmbeddedStore

END = 1_700_000_000.0  # a fixed epoch keeps runs comparable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aps", type=int, default=300)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--step", type=float, default=300.0)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    rows = values = 0
    city = build_city(args.aps, args.seed)
    for row in history_rows(city, END - args.days * DAY_S, END, args.step):
        rows += 1
        values += len(row.fields)
    generate_s = time.perf_counter() - started
    print(
        f"generate  {args.aps} APs x {args.days:g} d every {args.step:g} s:"
        f" {rows:,} samples, {values:,} values in {generate_s:.1f} s"
        f" ({rows / generate_s:,.0f} samples/s, {values / generate_s:,.0f} values/s)"
    )

    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        city = build_city(args.aps, args.seed)  # fresh: no tables built by the first phase
        with EmbeddedStore(Path(tmp)) as store:
            report = write_history(
                city, store, days=args.days, step_s=args.step, end=END, batch=args.batch
            )
            size_mb = store.path.stat().st_size / 1e6
        print(
            f"write     {report.samples:,} samples, {report.values:,} values in"
            f" {report.seconds:.1f} s ({report.samples / report.seconds:,.0f} samples/s,"
            f" {report.values_per_s:,.0f} values/s), store file {size_mb:,.0f} MB"
        )


if __name__ == "__main__":
    main()
