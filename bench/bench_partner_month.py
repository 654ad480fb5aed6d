"""Benchmark the partner-month aggregate on VictoriaMetrics (the VM column beside the
embedded store's figures from bench/bench_embedded_store.py).

A plain script, not a test: it prints figures for docs/benchmarks.md ("Partner-month
query: VictoriaMetrics") and asserts only that the answer is right, never a time.

    .venv/bin/python bench/bench_partner_month.py                      # 100 APs x 30 days
    .venv/bin/python bench/bench_partner_month.py --aps 500 --days 3   # the fleet, 3 days
    .venv/bin/python bench/bench_partner_month.py --url http://vm:8428 # a running server

Without ``--url`` it starts its own victoria-metrics (Debian package) on loopback with
the flags citywifi asks for, in a temporary directory removed at the end.

Why not the issue's full 500 APs x 30 days x 1-minute samples: that is 21.6 M samples,
each five series values (reachable, clients, rx/tx_bytes_delta, hotspot_sessions), over
100 M values; loading them from Python takes longer than the benchmark is worth on a
small machine. 100 APs x 30 days keeps the query's shape (a whole month of one-minute
samples per series, the lookbehind it has to read) at a fifth of the series; 500 x 3
keeps the series count at a tenth of the window. Both figures are printed per run.

Loading posts line protocol straight to ``/write`` (what the store's write() sends, minus
the per-sample checks), because load speed is not what is measured; the query goes
through :class:`~timeseries.victoriametrics.VictoriaMetricsStore`, exactly as the API
will call it.
"""

from __future__ import annotations

import argparse
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from timeseries.port import Aggregate, GroupBy
from timeseries.victoriametrics import open_victoriametrics

T0 = 1_700_000_000.0  # a fixed epoch keeps runs comparable (and matches the embedded bench)
STEP_S = 60


def ap_tags(i: int) -> dict[str, str]:
    """The embedded bench's fleet: two APs a site, 12 districts, a third sponsored."""
    return {
        "ap": f"ap-{i:05d}",
        "site": f"site-{i // 2:05d}",
        "district": f"d{i % 12:02d}",
        "partner": "" if i % 3 else f"partner-{i % 7}",
        "profile": "generic-snmp",
    }


def ap_lines(i: int, first: int, count: int, rng: random.Random) -> Iterator[str]:
    """One AP's polls ``first`` .. ``first + count - 1`` as line protocol (ms times)."""
    tags = ",".join(f"{k}={v}" for k, v in ap_tags(i).items() if v)
    for k in range(first, first + count):
        ms = int((T0 + k * STEP_S) * 1000)
        if rng.random() < 0.02:
            yield f"ap,{tags} reachable=0 {ms}"
            continue
        yield (
            f"ap,{tags} reachable=1,clients={rng.randrange(40)},"
            f"rx_bytes_delta={rng.randrange(50_000_000)},tx_bytes_delta={rng.randrange(9_000_000)},"
            f"hotspot_sessions={rng.randrange(25)} {ms}"
        )


def load(base: str, aps: int, days: int) -> tuple[int, float]:
    """Write the fleet's history, a day of every AP per request; (samples, seconds)."""
    per_day = 86_400 // STEP_S
    rng = random.Random(1)
    samples = 0
    began = time.perf_counter()
    with httpx.Client(timeout=300) as http:
        for day in range(days):
            for first_ap in range(0, aps, 50):
                body = "\n".join(
                    line
                    for i in range(first_ap, min(aps, first_ap + 50))
                    for line in ap_lines(i, day * per_day, per_day, rng)
                )
                samples += body.count("\n") + 1
                response = http.post(base + "/write", params={"precision": "ms"}, content=body)
                response.raise_for_status()
        http.get(base + "/internal/force_flush").raise_for_status()
    return samples, time.perf_counter() - began


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        out.append(time.perf_counter() - began)
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def own_server(directory: Path) -> Iterator[str]:
    """A throw-away victoria-metrics with citywifi's flags; its base URL."""
    binary = shutil.which("victoria-metrics")
    if binary is None:
        raise SystemExit("victoria-metrics is not installed (Debian package victoria-metrics)")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            f"-httpListenAddr=127.0.0.1:{port}",
            f"-storageDataPath={directory / 'data'}",
            "-retentionPeriod=100y",  # the fixed epoch is in 2023
            "-search.latencyOffset=0s",
            "-dedup.minScrapeInterval=1ms",
            "-loggerLevel=ERROR",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(30)


def disk_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def run(base: str, aps: int, days: int, repeat: int, data_dir: Path | None) -> None:
    samples, seconds = load(base, aps, days)
    print(f"fleet: {aps} APs x {days} days x 1-minute polls = {samples:,} samples")
    print(f"load: {seconds:.1f} s ({samples / seconds:,.0f} samples/s, 5 values each)")
    if data_dir is not None:
        print(f"disk: {disk_bytes(data_dir) / 1e6:.0f} MB")
    start, end = T0, T0 + days * 86_400
    with open_victoriametrics(f"victoriametrics+{base}") as store:

        def query(by: GroupBy, s: float = start, e: float = end) -> list[Aggregate]:
            return store.aggregate(s, e, by=by)

        began = time.perf_counter()
        partners = query("partner")
        first = time.perf_counter() - began
        polls = sum(a.polls for a in partners)
        sponsored = sum(1 for i in range(aps) if not i % 3)
        assert polls == sponsored * days * 86_400 // STEP_S, (polls, sponsored)
        assert {a.key for a in partners} == {f"partner-{i % 7}" for i in range(0, aps, 3)}
        print(f"check: {len(partners)} partners, {polls:,} polls, as written")
        print(f"first partner-month query after loading: {first * 1000:.0f} ms")
        rows = [
            (f"partner x {days} days", lambda: query("partner")),
            (f"district x {days} days", lambda: query("district")),
            (f"ap x {days} days ({aps} groups)", lambda: query("ap")),
            ("partner x last day", lambda: query("partner", end - 86_400, end)),
        ]
        for name, fn in rows:
            cold = timed(fn, 1)[0]
            warm = timed(fn, repeat)
            print(
                f"aggregate {name}: first {cold * 1000:.0f} ms, "
                f"median {statistics.median(warm) * 1000:.0f} ms, best {min(warm) * 1000:.0f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aps", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query")
    parser.add_argument(
        "--url", help="a running single-node VictoriaMetrics (its data is left there)"
    )
    args = parser.parse_args()
    if args.url:
        run(args.url.rstrip("/"), args.aps, args.days, args.repeat, None)
        return
    with (
        tempfile.TemporaryDirectory(prefix="citywifi-vm-bench-") as tmp,
        own_server(Path(tmp)) as base,
    ):
        run(base, args.aps, args.days, args.repeat, Path(tmp))


if __name__ == "__main__":
    main()
