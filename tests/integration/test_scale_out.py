"""Three collectors share a 1,000-AP city through leases in a real PostgreSQL (issue 15's
acceptance), on real processes: ``citywifi simulate``, three ``citywifi collect`` and a
VictoriaMetrics single node all three write to.

Counted from the store (every AP's sample times, per aligned interval): every AP polled
exactly once per interval while the three share the city; one collector SIGKILLed: its
APs polled again by the survivors within two intervals, and no interval with an AP
polled twice, ever; restarted: the leases per owner in the database and the polls per
collector (their self-metrics) within 10 % of even.

A sample counts for the interval of its poll's slot: its timestamp (the answer's time)
minus the AP's stable phase. An answer comes a little after its slot, and on a loaded
machine one near the end of the interval can come after the boundary; counted by its
raw timestamp it would look like a second poll in the next interval (and a miss in its
own). Two collectors polling one AP in one interval poll it at the same slot, so they
still count twice.

Counting starts after the first whole interval in which no collector had trouble (no
failed, skipped or dropped poll, no overrun, by their self-metrics): on a cold start the
first collector alone makes every AP's first poll while three processes start on two
cores, and polls time out or are skipped for up to three intervals on a busy machine.
The polls per collector after the restart are read from all three at once and scaled to
two intervals by each one's own read times: read in turn, a collector's window ran one
to three seconds long on a loaded machine (37 and 122 polls over a share of 667, 6 and
18 %, against a 10 % bound).

The interval is 8 s: three collectors, the simulator, PostgreSQL and VictoriaMetrics
share this machine's two cores, and 1,000 APs every 8 s (125 polls/s) leaves them room.
Every wait is bounded; the whole test takes about three minutes.
"""

from __future__ import annotations

import json
import math
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from collector.scheduler import phase_of
from core.settings import Settings
from inventory import import_file
from inventory.db import open_inventory, transaction
from inventory.leases import held_counts
from inventory.models import ApLease, CollectorMember
from inventory.secretbox import load_box
from tests.fixtures.ports import free_port
from tests.fixtures.processes import Proc, citywifi_env, start_city, wait_for
from tests.fixtures.servers import VictoriaMetricsServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

APS = 1000
INTERVAL_S = 8.0
EVEN = APS / 3


def interval_of(t: float) -> int:
    return math.floor(t / INTERVAL_S)


def wait_until_interval(k: int) -> None:
    """Sleep until interval ``k`` has begun (bounded by the caller's choice of k)."""
    delay = k * INTERVAL_S - time.time()
    assert delay < 10 * INTERVAL_S, f"refusing to wait {delay:.0f} s"
    if delay > 0:
        time.sleep(delay)


TROUBLE = ("citywifi_skipped_overlap", "citywifi_cycle_overruns", "citywifi_polls_past_lease")
"""Self-metrics that count an interval not kept: a poll skipped (its previous one still
running), an interval with an AP not attempted in it, an answer dropped past its lease."""


def self_metrics(port: int) -> tuple[float, float, float]:
    """A collector's polls made, its troubles (:data:`TROUBLE` and every failed poll:
    on a loaded start, answers that time out), and the time they were read."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    read_at = time.time()
    polls = trouble = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue
            if family.name == "citywifi_polls":
                polls += sample.value
                if sample.labels.get("outcome") != "answered":
                    trouble += sample.value
            elif family.name in TROUBLE:
                trouble += sample.value
    return polls, trouble, read_at


def all_metrics(ports: dict[str, int]) -> dict[str, tuple[float, float, float]]:
    """:func:`self_metrics` of every collector, read at once (one thread each): read in
    turn, on a loaded machine the last is read a second or more after the first."""
    with ThreadPoolExecutor(len(ports)) as pool:
        return dict(zip(ports, pool.map(self_metrics, ports.values()), strict=True))


def interval_lines(proc: Proc, last: int = 8) -> str:
    """A collector's last interval reports and lease changes, for a failure message."""
    lines = [
        line[20:]
        for line in proc.output().splitlines()
        if "collector.engine: interval" in line or "collector.leases: leases" in line
    ]
    return "\n    ".join(lines[-last:])


def sample_times(server: VictoriaMetricsServer, store_url: str) -> dict[str, list[float]]:
    """Every ``ap_reachable`` sample time (s) per AP written through ``store_url``."""
    label = parse_qs(urlsplit(store_url.removeprefix("victoriametrics+")).query)["extra_label"][0]
    name, value = label.split("=", 1)
    httpx.get(server.base + "/internal/force_flush", timeout=10)
    response = httpx.post(
        server.base + "/api/v1/export",
        data={
            "match[]": f'ap_reachable{{{name}="{value}"}}',
            "start": "0",
            "end": str(int(time.time()) + 3600),
        },
        timeout=60,
    )
    response.raise_for_status()
    times: dict[str, list[float]] = defaultdict(list)
    for line in response.text.splitlines():
        if line.strip():
            series = json.loads(line)
            times[series["metric"]["ap"]].extend(ms / 1000 for ms in series["timestamps"])
    return dict(times)


def test_three_collectors_share_take_over_and_rebalance(
    spawn: Callable[..., Proc],
    tmp_path: Path,
    fresh_postgres_url: str,
    victoriametrics_server: VictoriaMetricsServer,
) -> None:
    started = time.monotonic()
    inventory, _ = start_city(spawn, tmp_path, aps=APS, base="127.1.120.1")
    state = tmp_path / "state"
    settings = Settings(data_dir=state, database_url=fresh_postgres_url)
    db = open_inventory(fresh_postgres_url, create=True)
    import_file(db, inventory, load_box(settings))
    store_url = victoriametrics_server.store_url()

    def leases_now() -> dict[str, int]:
        with transaction(db) as session:
            return held_counts(session, time.time())

    def start_collector(name: str) -> tuple[Proc, int]:
        env = citywifi_env(state)
        port = free_port()
        env.update(
            CITYWIFI_DATABASE_URL=fresh_postgres_url,
            CITYWIFI_TIMESERIES_URL=store_url,
            CITYWIFI_INSTANCE_ID=name,
            CITYWIFI_SPOOL_DIR=str(tmp_path / f"spool-{name}"),
            CITYWIFI_SNMP_TIMEOUT_S="2",
            CITYWIFI_SNMP_RETRIES="1",
            CITYWIFI_SSH_POLL_INTERVAL_S="3600",
        )
        proc = spawn(["collect", "--interval", str(INTERVAL_S), "--metrics-port", str(port)], env)
        return proc, port

    def balanced(owners: set[str]) -> dict[str, int] | None:
        counts = leases_now()
        even = set(counts) == owners and all(abs(n - EVEN) <= 0.1 * EVEN for n in counts.values())
        return counts if even and sum(counts.values()) == APS else None

    def members() -> set[str]:
        with transaction(db) as session:
            return set(session.scalars(select(CollectorMember.id)))

    # 1. Three collectors start; the first to run its lease cycle takes the whole city,
    #    the others get their share at the next boundaries (its excess released, then
    #    claimed). Counting starts once the shares are even: before that, the first one
    #    alone makes every AP's first poll (profile detection, SNMPv3 discovery) while
    #    three processes start on two cores, and falls behind (polls begun late land in
    #    the next interval): a cold start, not the steady sharing the issue is about.
    collectors = {name: start_collector(name) for name in ("c0", "c1", "c2")}
    wait_for(lambda: members() == {"c0", "c1", "c2"}, 60, "three collectors in the pool")
    wait_for(lambda: balanced({"c0", "c1", "c2"}), 6 * INTERVAL_S, "three even shares")

    # Counted from the first interval after one whole interval in which no collector
    # had trouble: while the first one alone makes every AP's first poll and three
    # processes start on two cores, polls begin late, time out (the simulator answers
    # late) or are skipped (the previous one still running), for up to three intervals
    # when the machine is busy with other work too.
    def steady() -> int | None:
        before = all_metrics({name: port for name, (_, port) in collectors.items()})
        time.sleep(INTERVAL_S)
        after = all_metrics({name: port for name, (_, port) in collectors.items()})
        calm = all(after[name][1] == before[name][1] for name in collectors)
        return interval_of(time.time()) + 1 if calm else None

    first_full = wait_for(steady, 10 * INTERVAL_S, "an interval without trouble")

    # 2. Two whole intervals shared by three, then SIGKILL c2 in the middle of one.
    kill_interval = interval_of(time.time()) + 3
    wait_until_interval(kill_interval)
    time.sleep(INTERVAL_S / 2)
    with transaction(db) as session:
        victims = set(session.scalars(select(ApLease.ap_id).where(ApLease.owner == "c2")))
    assert abs(len(victims) - EVEN) <= 0.1 * EVEN
    collectors["c2"][0].popen.send_signal(signal.SIGKILL)
    collectors["c2"][0].popen.wait(timeout=10)

    # 3. The survivors take its APs at the second boundary after its last renewal.
    wait_for(
        lambda: set(leases_now()) == {"c0", "c1"} and sum(leases_now().values()) == APS,
        3 * INTERVAL_S,
        "the survivors holding every AP",
    )
    restart_interval = kill_interval + 4
    wait_until_interval(restart_interval)
    time.sleep(INTERVAL_S / 4)

    # 4. c2 comes back (a new process): the load rebalances.
    collectors["c2b"] = start_collector("c2b")
    counts = wait_for(lambda: balanced({"c0", "c1", "c2b"}), 6 * INTERVAL_S, "rebalance")
    # Measured once every excess is given back: a collector still polls what it gives back
    # in the interval it does so (docs/deploy.md), and "within 10 %" can be reached while
    # a survivor is still giving back (it made 790 attempts to the others' 668 then).
    share = math.ceil(APS / 3)
    wait_for(
        lambda: (c := leases_now()) and sum(c.values()) == APS and max(c.values()) <= share,
        6 * INTERVAL_S,
        "every excess given back",
    )
    # Polls per collector over two whole intervals' worth of slots, once balanced.
    measure_from = interval_of(time.time()) + 1
    wait_until_interval(measure_from)
    time.sleep(INTERVAL_S / 2)
    live = {name: collectors[name][1] for name in ("c0", "c1", "c2b")}
    before = all_metrics(live)
    time.sleep(2 * INTERVAL_S)
    after = all_metrics(live)
    # Polls per two intervals: each collector's count over its own window (from its two
    # reads' times), which the reads' latency makes a little longer or shorter than 2 I.
    polls = {
        name: round((after[name][0] - before[name][0]) * 2 * INTERVAL_S
                    / (after[name][2] - before[name][2]))
        for name in live
    }  # fmt: skip
    last_full = interval_of(time.time()) - 1
    reports = {name: interval_lines(collectors[name][0]) for name in collectors}
    for name in live:
        proc = collectors[name][0]
        assert proc.popen.poll() is None, proc.output()
        proc.stop()  # graceful: drains, flushes, releases
        assert proc.popen.returncode == 0, proc.output()
    said = "".join(f"\n  {name}:\n    {text}" for name, text in reports.items())

    # What the store saw: per AP and interval, how many polls.
    times = sample_times(victoriametrics_server, store_url)
    assert len(times) == APS
    per = Counter(
        (ap, interval_of(t - phase_of(ap, INTERVAL_S))) for ap, ts in times.items() for t in ts
    )
    twice = sorted((k, ap) for (ap, k), n in per.items() if n > 1 and k >= first_full)
    assert not twice, (
        f"{len(twice)} (interval, AP) pairs polled twice from interval {first_full}"
        f" (kill in {kill_interval}): by interval {Counter(k for k, _ in twice)};"
        f" e.g. {[(k, ap, sorted(times[ap])) for k, ap in twice[:3]]}; the collectors said:{said}"
    )
    missed: list[tuple[int, str]] = []
    for k in range(first_full, last_full + 1):
        gap_allowed = kill_interval <= k <= kill_interval + 1  # the victims' two intervals
        for ap in times:
            if per[(ap, k)] == 0 and not (gap_allowed and ap in victims):
                missed.append((k, ap))
    assert not missed, (
        f"{len(missed)} (interval, AP) pairs not polled from interval {first_full} (kill in"
        f" {kill_interval}, restart in {restart_interval}): by interval"
        f" {Counter(k for k, _ in missed)}, e.g. {missed[:5]}; the collectors said:{said}"
    )
    print(f"\nintervals checked: {first_full}..{last_full}, kill in {kill_interval}")
    assert all(per[(ap, kill_interval + 2)] == 1 for ap in victims)  # taken over in time

    # Rebalanced: leases, and each collector's share of the polls, within 10 % of even.
    # Shares, not counts: the window is timed by sleeps and sequential reads.
    assert all(abs(n - EVEN) <= 0.1 * EVEN for n in counts.values()), counts
    total = sum(polls.values())
    assert abs(total - APS * 2) <= 0.1 * APS * 2, polls  # two intervals' worth
    assert all(abs(n - 2 * EVEN) <= 0.1 * 2 * EVEN for n in polls.values()), polls
    print(
        f"\nleases after the restart {counts}; polls per collector over 2 intervals {polls};"
        f" {len(victims)} APs taken over; test {time.monotonic() - started:.0f} s"
    )
    db.dispose()
