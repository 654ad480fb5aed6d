"""Collectors sharing the APs through leases: polls per second of one, two and three
collectors against one PostgreSQL, and the database's cost of one lease cycle.

A plain script, not a test: it prints figures for docs/benchmarks.md ("Scale-out:
collectors sharing the APs") and asserts nothing about time.

    .venv/bin/python bench/bench_scale_out.py                    # both parts
    .venv/bin/python bench/bench_scale_out.py --aps 1000 --interval 4 --window 3
    .venv/bin/python bench/bench_scale_out.py --skip-polls --lease-aps 10000 50000

**Polls per second.** A simulated city (``citywifi simulate --aps N``, its own process,
the city's v2c/v3 mix, no SSH) polled every ``--interval`` seconds by real ``citywifi
collect`` processes: first one collector on a SQLite inventory (the baseline: the
single-machine setup, leases on SQLite), then one, two and three on one PostgreSQL (the
server started here from Debian's binaries, on a free loopback port, in a temporary
directory). Each collector writes to an embedded store of its own (the store is not what
is measured). Per configuration: wait until every AP is leased and the shares are even,
one more interval, then ``--window`` whole intervals: polls made (the collectors'
``citywifi_polls_total``), answered, overruns, the collectors' CPU (/proc), and their lease
cycles (``citywifi_lease_cycle_seconds``). Between configurations the collectors stop
gracefully (their leases released).

**Cost of a lease cycle.** In this process, on a PostgreSQL database (and, for reference,
a SQLite file) holding ``--lease-aps`` APs: three members share them (cold start: the
first claims everything; the others get their share two boundaries later), then
``--cycles`` steady boundaries are timed, each member's transaction alone: wall time,
statements sent, rows renewed, and the WAL it wrote (``pg_current_wal_lsn`` before and
after). Then one member stops: the survivors' takeover cycles (claims) are timed too.

Every loop is bounded in count and in time; every process started here is stopped (and
the temporary directory removed) whatever happens.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from city_processes import Children, drop_ssh, free_port, raise_on_signals
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, event, insert, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests.fixtures.postgres: the one way this repo starts PG

from collector.scheduler import stable_hash  # noqa: E402
from inventory import import_file, leases  # noqa: E402
from inventory.db import open_inventory, transaction  # noqa: E402
from inventory.models import AccessPoint, CredentialProfile, Site  # noqa: E402
from inventory.secretbox import SecretBox, generate_key  # noqa: E402
from tests.fixtures.postgres import PostgresServer, find_bin_dir  # noqa: E402

WARM_LIMIT_INTERVALS = 8  # leases even and every AP held within this many intervals
HTTP_TIMEOUT_S = 5.0
LEASE_I = 60.0  # the lease-cost part's interval (only its boundaries matter)
LEASE_GRACE = 30.0
T0 = 1_767_225_600.0  # a boundary


# --- polls per second ----------------------------------------------------------------------


@dataclass
class Scrape:
    polls: float = 0.0
    answered: float = 0.0
    overruns: float = 0.0
    lease_s: float = 0.0
    lease_cycles: float = 0.0


def scrape(port: int) -> Scrape:
    import httpx

    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=HTTP_TIMEOUT_S).text
    out = Scrape()
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            if s.name == "citywifi_polls_total":
                out.polls += s.value
                out.answered += s.value if s.labels.get("outcome") == "answered" else 0.0
            elif s.name == "citywifi_cycle_overruns_total":
                out.overruns += s.value
            elif s.name == "citywifi_lease_cycle_seconds_sum":
                out.lease_s += s.value
            elif s.name == "citywifi_lease_cycle_seconds_count":
                out.lease_cycles += s.value
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def held(url: str) -> dict[str, int]:
    engine = open_inventory(url, create=False)
    try:
        with transaction(engine) as session:
            return leases.held_counts(session, time.time())
    finally:
        engine.dispose()


def sleep_to(when: float) -> None:
    time.sleep(max(0.0, when - time.time()))


def polls_per_second(
    children: Children,
    work: Path,
    label: str,
    url: str,
    count: int,
    aps: int,
    interval: float,
    window: int,
) -> None:
    """Run ``count`` collectors on ``url``, measure ``window`` intervals, print a row."""
    procs: list[tuple[int, int]] = []  # (pid, metrics port)
    name = f"{label.split()[0].lower()}{count}"
    for n in range(count):
        port = free_port(socket.SOCK_STREAM, "127.0.0.1")
        member = f"{name}-{n}"
        proc = children.start(
            member,
            ["collect", "--interval", str(interval), "--metrics-port", str(port)],
            {
                "CITYWIFI_DATABASE_URL": url,
                "CITYWIFI_INSTANCE_ID": member,
                "CITYWIFI_SPOOL_DIR": str(work / f"spool-{member}"),
                "CITYWIFI_TIMESERIES_URL": f"embedded://{work / f'metrics-{member}'}",
            },
        )
        procs.append((proc.pid, port))
    try:
        deadline = time.time() + WARM_LIMIT_INTERVALS * interval
        even = aps / count
        while True:
            counts = held(url)
            if (
                len(counts) == count
                and sum(counts.values()) == aps
                and all(abs(n - even) <= 0.1 * even + 1 for n in counts.values())
            ):
                break
            if time.time() > deadline:
                raise SystemExit(f"error: {name}: leases not even in time: {counts}")
            time.sleep(0.5)
        # One more whole interval, then measure from the middle of the next.
        start = (int(time.time() // interval) + 2) * interval + interval / 2
        sleep_to(start)
        before = [(scrape(port), cpu_seconds(pid)) for pid, port in procs]
        sleep_to(start + window * interval)
        after = [(scrape(port), cpu_seconds(pid)) for pid, port in procs]
        seconds = window * interval
        polls = sum(a.polls - b.polls for (a, _), (b, _) in zip(after, before, strict=True))
        answered = sum(
            a.answered - b.answered for (a, _), (b, _) in zip(after, before, strict=True)
        )
        overruns = sum(
            a.overruns - b.overruns for (a, _), (b, _) in zip(after, before, strict=True)
        )
        cpu = sum(ca - cb for (_, ca), (_, cb) in zip(after, before, strict=True))
        lease_s = sum(a.lease_s - b.lease_s for (a, _), (b, _) in zip(after, before, strict=True))
        cycles = sum(
            a.lease_cycles - b.lease_cycles for (a, _), (b, _) in zip(after, before, strict=True)
        )
        per_collector = " / ".join(
            f"{(a.polls - b.polls) / seconds:.0f}"
            for (a, _), (b, _) in zip(after, before, strict=True)
        )
        print(
            f"| {label} | {count} | {polls / seconds:.1f} ({per_collector}) |"
            f" {answered / max(polls, 1) * 100:.1f} % | {overruns:.0f} |"
            f" {cpu / seconds:.2f} | {cpu / max(polls, 1) * 1000:.2f} |"
            f" {lease_s / max(cycles, 1) * 1000:.1f} |",
            flush=True,
        )
    finally:
        for pid, _ in procs:  # our own children, by pid: graceful (leases released)
            proc = next(p for p in children.procs if p.pid == pid)
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


# --- cost of a lease cycle -----------------------------------------------------------------


def seed(engine: Engine, aps: int) -> None:
    """``aps`` APs, ten per site, one credential profile (Core inserts, in chunks)."""
    with transaction(engine) as session:
        session.add(CredentialProfile(id="c", snmp_version="2c"))
        session.flush()
        sites = [
            {"id": f"s{n}", "name": f"s{n}", "lat": 0.0, "lon": 0.0, "kind": "park",
             "coverage_radius_m": 50.0, "status": "active"}
            for n in range((aps + 9) // 10)
        ]  # fmt: skip
        for i in range(0, len(sites), 5000):
            session.execute(insert(Site), sites[i : i + 5000])
        rows = [
            {"id": f"ap{n:06d}", "site_id": f"s{n // 10}", "name": f"ap{n}", "host": "127.0.0.1",
             "snmp_port": 161, "ssh_port": 22, "profile": "auto", "credential_id": "c",
             "enabled": True}
            for n in range(aps)
        ]  # fmt: skip
        for i in range(0, len(rows), 5000):
            session.execute(insert(AccessPoint), rows[i : i + 5000])


@dataclass
class Measured:
    ms: float
    statements: int
    wal_bytes: int | None
    result: leases.CycleResult


def lease_cost(url: str, aps: int, cycles: int) -> None:
    engine = open_inventory(url, create=True)
    postgres = engine.dialect.name == "postgresql"
    statements = [0]

    def count(*_args: object) -> None:
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    seed(engine, aps)
    members = [leases.Member(f"m{n}", "bench", n, T0) for n in range(3)]

    def wal() -> int | None:
        if not postgres:
            return None
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT pg_current_wal_lsn() - '0/0'")).scalar_one())

    def run(member: leases.Member, now: float, start: float) -> Measured:
        _, next_boundary = leases.boundaries(start, LEASE_I)
        wal0, n0 = wal(), statements[0]
        began = time.perf_counter()
        with transaction(engine) as session:
            result = leases.cycle(
                session,
                member,
                now=now,
                start=start,
                next_boundary=next_boundary,
                interval_s=LEASE_I,
                grace_s=LEASE_GRACE,
                rank=stable_hash,
            )
        ms = (time.perf_counter() - began) * 1000
        n = statements[0] - n0
        wal1 = wal()
        return Measured(ms, n, None if wal0 is None or wal1 is None else wal1 - wal0, result)

    def b(k: int) -> float:
        return T0 + k * LEASE_I

    backend = "PostgreSQL" if postgres else "SQLite"
    cold = run(members[0], T0 + 1, T0 + 1)
    for n, member in enumerate(members[1:], start=2):
        run(member, T0 + n, T0 + n)
    for k in (1, 2, 3):
        for member in members:
            run(member, b(k), b(k))
    steady: list[Measured] = []
    for k in range(4, 4 + cycles):
        steady += [run(member, b(k), b(k)) for member in members]
    # m2 dies after its cycle at the last steady boundary; the survivors claim its APs
    # two boundaries later.
    k = 4 + cycles
    for member in members[:2]:
        run(member, b(k), b(k))
    takeover = [run(member, b(k + 1), b(k + 1)) for member in members[:2]]
    engine.dispose()

    def row(what: str, ms: list[float], measured: list[Measured], rows: str) -> None:
        wal_part = (
            f"{statistics.median(m.wal_bytes for m in measured if m.wal_bytes is not None):,.0f}"
            if postgres
            else "—"
        )
        print(
            f"| {backend} | {aps:,} | {what} | {statistics.median(ms):.1f} | {max(ms):.1f} |"
            f" {max(m.statements for m in measured)} | {rows} | {wal_part} |",
            flush=True,
        )

    row(
        "cold start: one member claims every AP",
        [cold.ms],
        [cold],
        f"{len(cold.result.claimed):,} claimed",
    )
    row(
        f"steady renewal ({len(steady)} cycles)",
        [m.ms for m in steady],
        steady,
        f"{statistics.median(len(m.result.kept) for m in steady):,.0f} renewed",
    )
    row(
        "takeover: a survivor claims a dead member's share",
        [m.ms for m in takeover],
        takeover,
        f"{statistics.median(len(m.result.claimed) for m in takeover):,.0f} claimed",
    )


# --- the run -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aps", type=int, default=1000, help="APs of the simulated city")
    parser.add_argument("--interval", type=float, default=4.0, help="poll interval (s)")
    parser.add_argument("--window", type=int, default=3, help="intervals measured")
    parser.add_argument("--collectors", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--lease-aps", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--cycles", type=int, default=5, help="steady lease boundaries timed")
    parser.add_argument("--skip-polls", action="store_true")
    parser.add_argument("--skip-leases", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.window <= 20 or not 1 <= args.cycles <= 50:
        raise SystemExit("error: --window must be 1..20 and --cycles 1..50")
    raise_on_signals()
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("error: PostgreSQL is not installed (apt-get install -y postgresql)")

    work = Path(tempfile.mkdtemp(prefix="bench-scale-out-"))
    pg_base = Path(tempfile.mkdtemp(prefix="bench-scale-out-pg-"))
    server = PostgresServer(bin_dir=bin_dir, base=pg_base)
    key = generate_key()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYWIFI_")}
    env |= {
        "CITYWIFI_SECRET_KEY": key,
        "PYTHONPATH": str(REPO),
        "CITYWIFI_LOG_LEVEL": "WARNING",
        "CITYWIFI_DATA_DIR": str(work / "data"),
        "CITYWIFI_SSH_POLL_INTERVAL_S": "3600",
    }
    print(
        f"# {platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" PostgreSQL {bin_dir.parent.name}, load {os.getloadavg()[0]:.2f},"
        f" {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC",
        flush=True,
    )
    children = Children(work, env, work)
    try:
        server.init()
        server.start()
        if not args.skip_leases:
            print("\n| database | APs | lease cycle | median ms | max ms | statements |"
                  " rows | WAL bytes |")  # fmt: skip
            print("| --- | ---: | --- | ---: | ---: | ---: | --- | ---: |")
            for aps in args.lease_aps:
                lease_cost(server.create_database(f"leases_{aps}"), aps, args.cycles)
                lease_cost(f"sqlite:///{work / f'leases-{aps}.sqlite'}", aps, args.cycles)
        if not args.skip_polls:
            inventory = work / "city.yaml"
            base = "127.1.160.1"
            sim = children.start(
                "simulate",
                ["simulate", "--aps", str(args.aps), "--seed", "7", "--base-address", base,
                 "--snmp-port", str(free_port(socket.SOCK_DGRAM, base)), "--ssh-aps", "0",
                 "--control-port", str(free_port(socket.SOCK_STREAM, "127.0.0.1")),
                 "--inventory-out", str(inventory)],
            )  # fmt: skip
            children.wait_for_file(sim, "simulate", inventory)
            drop_ssh(inventory)
            box = SecretBox([key], "bench")
            pg_url = server.create_database("polls")
            sqlite_url = f"sqlite:///{work / 'polls.sqlite'}"
            for url in (sqlite_url, pg_url):
                engine = open_inventory(url, create=True)
                import_file(engine, inventory, box)
                engine.dispose()
            demand = args.aps / args.interval
            print(
                f"\n{args.aps:,} APs every {args.interval:g} s ({demand:.0f} polls/s asked),"
                f" {args.window} intervals measured per row\n"
            )
            print("| inventory | collectors | polls/s (each) | answered | overruns |"
                  " collectors' CPU (cores) | CPU ms per poll | lease cycle ms |")  # fmt: skip
            print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
            runs: list[tuple[str, str, int]] = [("SQLite (baseline)", sqlite_url, 1)]
            runs += [("PostgreSQL", pg_url, n) for n in args.collectors]
            for label, url, count in runs:
                polls_per_second(
                    children, work, label, url, count, args.aps, args.interval, args.window
                )
    finally:
        children.stop_all()
        server.remove()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(pg_base, ignore_errors=True)


if __name__ == "__main__":
    main()
