"""A metric store outage loses no sample, even with a collector restart in the middle.

The issue's acceptance ("stop VictoriaMetrics mid-run, keep collecting, restart it, and
restart the collector once meanwhile: every sample arrives exactly once"), on real
processes: a simulated city, ``citywifi collect`` and a VictoriaMetrics single node.

The issue speaks of a 10-minute outage; here it lasts about 12 s (two collector runs of
a few 2-second intervals each). The mechanics are the same whatever the length: every
failed batch goes to the disk spool, every later one queues behind it, the restarted
collector finds the spool on disk, and the replay drains it once the store is back. What
a long outage adds is volume, and the spool's bound (oldest-first drop, counted) is
unit-tested in tests/collector/test_spool.py.

The truth the store is checked against is independent of it: each AP's status row in the
inventory database counts the polls made of it (``polls_attempted``, carried across the
collector restart), and statuses are written whatever the metric store does. Each poll
writes one sample carrying ``reachable``; so per AP, VictoriaMetrics must hold exactly
that many ``ap_reachable`` samples, at distinct times.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from core.settings import Settings
from inventory import import_file
from inventory.db import open_inventory, transaction
from inventory.models import ApStatus
from inventory.secretbox import load_box
from tests.fixtures.ports import free_port
from tests.fixtures.processes import Proc, citywifi_env, start_city, wait_for
from tests.fixtures.servers import require_binary as _binary
from tests.fixtures.servers import stop_process as _stop
from tests.fixtures.servers import wait_ready as _wait_ready

# The inventory is the run's database (--database): CITYWIFI_DATABASE_URL under PostgreSQL.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("database_url")]

APS = 20
INTERVAL_S = 2.0


class VictoriaMetrics:
    """A single node that can be stopped and started again on the same port and data."""

    def __init__(self, directory: Path) -> None:
        self.binary = _binary("victoria-metrics")
        self.directory = directory
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.directory / f"server{self.starts}.log"
        args = [
            self.binary,
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.directory / 'data'}",
            "-retentionPeriod=100y",
            "-search.latencyOffset=0s",
            "-dedup.minScrapeInterval=1ms",  # what citywifi timeseries check asks for
            "-loggerLevel=WARN",
            "-memory.allowedBytes=256MiB",
        ]
        with log.open("wb") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        _wait_ready(self.process, self.base + "/health", 200, log)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)  # SIGTERM: a clean shutdown that keeps its data
            self.process = None

    def reachable_samples(self) -> dict[str, list[int]]:
        """Every raw ``ap_reachable`` sample time per AP (all series of the AP)."""
        httpx.get(self.base + "/internal/force_flush", timeout=10)
        # An explicit end: without it, 1.79 leaves out the newest second or so of samples.
        response = httpx.post(
            self.base + "/api/v1/export",
            data={"match[]": "ap_reachable", "start": "0", "end": str(int(time.time()) + 3600)},
            timeout=30,
        )
        response.raise_for_status()
        times: dict[str, list[int]] = defaultdict(list)
        for line in response.text.splitlines():
            if line.strip():
                series = json.loads(line)
                times[series["metric"]["ap"]].extend(series["timestamps"])
        return dict(times)


@pytest.fixture
def victoriametrics(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    server = VictoriaMetrics(tmp_path / "vm")
    server.directory.mkdir()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def spooled_files(spool: Path) -> list[Path]:
    return sorted(spool.glob("*.jsonl"))


def test_store_outage_and_collector_restart_lose_nothing(
    spawn: Callable[..., Proc], tmp_path: Path, victoriametrics: VictoriaMetrics
) -> None:
    started = time.monotonic()
    inventory, _ = start_city(spawn, tmp_path, aps=APS, base="127.1.210.1")
    state = tmp_path / "state"
    settings = Settings(data_dir=state)
    engine = open_inventory(settings.db_url, create=True)
    import_file(engine, inventory, load_box(settings))
    env = citywifi_env(state)
    # retries=0, timeout=2: a write to a stopped server fails at once instead of retrying
    # inside one write() call; the spool is the retry mechanism that matters here.
    env["CITYWIFI_TIMESERIES_URL"] = (
        f"victoriametrics+{victoriametrics.base}?flush=1&retries=0&timeout=2"
    )
    spool = settings.spool_path
    collect = ["collect", "--interval", str(INTERVAL_S)]

    def polls_made() -> dict[str, int]:
        with transaction(engine) as session:
            return {r.ap_id: r.polls_attempted for r in session.scalars(select(ApStatus))}

    # 1. Collecting with the store up: a few intervals reach VictoriaMetrics directly.
    first = spawn(collect, env)
    wait_for(lambda: len(victoriametrics.reachable_samples()) == APS, 20, "samples of every AP")
    time.sleep(INTERVAL_S)

    # 2. The store goes away; the collector keeps polling and spools.
    victoriametrics.stop()
    wait_for(lambda: len(spooled_files(spool)) >= 3, 15, "batches in the spool")
    time.sleep(2 * INTERVAL_S)

    # 3. The collector restarts during the outage: its final flush goes to the spool, the
    #    new one finds the spool on disk and queues behind it.
    first.popen.terminate()
    assert first.popen.wait(timeout=20) == 0, first.output()
    assert "spooling" in first.output()
    on_disk = len(spooled_files(spool))
    second = spawn(collect, env)
    wait_for(lambda: "from before; replaying them first" in second.output(), 15, "the spool")
    wait_for(lambda: len(spooled_files(spool)) > on_disk, 15, "new batches behind the old")
    time.sleep(INTERVAL_S)

    # 4. The store comes back on the same data: the spool drains (back-off at most 10 s).
    victoriametrics.start()
    wait_for(lambda: not spooled_files(spool), 20, "the spool to drain")
    time.sleep(INTERVAL_S)
    second.popen.terminate()
    assert second.popen.wait(timeout=20) == 0, second.output()
    assert "spool empty" in second.output(), second.output()
    assert "0 left in the spool" in second.output(), second.output()
    assert "0 lost" in second.output() and "0 lost" in first.output()

    # 5. Every poll made is in the store exactly once.
    polls = polls_made()
    stored = victoriametrics.reachable_samples()
    assert len(polls) == APS and set(stored) == set(polls)
    assert min(polls.values()) >= 5  # the run spanned both collectors and the outage
    for ap, made in polls.items():
        times = stored[ap]
        assert len(times) == len(set(times)), f"{ap}: duplicate sample times"
        assert len(times) == made, f"{ap}: {made} polls, {len(times)} samples stored"
    engine.dispose()
    assert time.monotonic() - started < 90
