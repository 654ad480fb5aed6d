"""The engine: a writer that flushes by size and time, and a scheduled loop in which a
slow or dead AP delays nobody else's samples."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select

from collector.engine import BatchWriter, Collector
from collector.snmp import FakeScraper, SnmpTarget, VarBinds
from collector.ssh_poll import SshCommand, SshProfile, SshResult, SshTarget
from core.errors import StoreError
from core.settings import Settings
from inventory import import_file
from inventory.db import make_engine, transaction
from inventory.models import ApStatus
from inventory.queries import ApStatusUpdate
from tests.collector.test_poll import MIKROTIK
from timeseries import Sample

PORT = 1161


def sample(n: int) -> Sample:
    return Sample("ap", {"ap": f"ap{n}"}, {"reachable": 1.0}, float(n))


def update(n: int) -> ApStatusUpdate:
    return ApStatusUpdate(f"ap{n}", "up", 0.0, 0.0, 0.0, 0, None, None)


class Sink:
    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[Sample]] = []
        self.states: list[list[ApStatusUpdate]] = []
        self.fail = fail
        self.times: list[float] = []

    def write(self, samples: Sequence[Sample]) -> None:
        if self.fail:
            raise StoreError("store down")
        self.batches.append(list(samples))
        self.times.append(time.monotonic())

    def record(self, updates: Sequence[ApStatusUpdate]) -> None:
        self.states.append(list(updates))


def test_writer_flushes_when_the_batch_is_full() -> None:
    sink = Sink()

    async def main() -> float:
        writer = BatchWriter(sink.write, sink.record, max_samples=3, flush_s=30.0)
        stop = asyncio.Event()
        task = asyncio.create_task(writer.run(stop))
        start = time.monotonic()
        for n in range(3):
            writer.add(sample(n), update(n))
        for _ in range(200):  # at most 2 s
            if sink.batches:
                break
            await asyncio.sleep(0.01)
        took = time.monotonic() - start
        stop.set()
        await task
        return took

    assert asyncio.run(main()) < 1.0
    assert [len(b) for b in sink.batches] == [3]
    assert [len(s) for s in sink.states] == [3]  # statuses in the same flush


def test_writer_flushes_on_time_and_on_stop() -> None:
    sink = Sink()

    async def main() -> None:
        writer = BatchWriter(sink.write, sink.record, max_samples=1000, flush_s=0.1)
        stop = asyncio.Event()
        task = asyncio.create_task(writer.run(stop))
        writer.add(sample(1), update(1))
        await asyncio.sleep(0.35)
        assert [len(b) for b in sink.batches] == [1]
        writer.add(sample(2))
        stop.set()
        await task

    asyncio.run(main())
    assert [len(b) for b in sink.batches] == [1, 1]


def test_writer_counts_store_errors_and_still_records_states() -> None:
    sink = Sink(fail=True)
    errors: list[int] = []

    async def main() -> bool:
        writer = BatchWriter(
            sink.write, sink.record, on_store_error=lambda: errors.append(1), flush_s=1.0
        )
        writer.add(sample(1), update(1))
        ok = await writer.flush()
        assert writer.samples_lost == 1
        return ok

    assert asyncio.run(main()) is False
    assert errors == [1] and len(sink.states) == 1


# --- a Collector over a scripted scraper -------------------------------------------------


class ScriptedScraper(FakeScraper):
    """FakeScraper whose listed hosts answer ``delay_s`` late."""

    def __init__(self, hosts: Sequence[str], slow: set[str], delay_s: float) -> None:
        super().__init__({(h, PORT): MIKROTIK for h in hosts})
        self.slow = slow
        self.delay_s = delay_s

    async def _maybe_wait(self, target: SnmpTarget) -> None:
        if target.host in self.slow:
            await asyncio.sleep(self.delay_s)

    async def get(self, target: SnmpTarget, oids: Sequence[str]) -> VarBinds:
        await self._maybe_wait(target)
        return await super().get(target, oids)

    async def bulk(
        self,
        target: SnmpTarget,
        non_repeaters: Sequence[str],
        repeaters: Sequence[str],
        max_repetitions: int,
    ) -> VarBinds:
        await self._maybe_wait(target)
        return await super().bulk(target, non_repeaters, repeaters, max_repetitions)


def inventory(tmp_path: Path, count: int, **ap_overrides: object) -> tuple[Path, list[str]]:
    hosts = [f"127.1.9.{n}" for n in range(1, count + 1)]
    doc = {
        "credentials": [
            {
                "id": "c",
                "snmp": {"version": "2c", "community": "public"},
                "ssh": {"username": "admin", "password": "pw"},
            }
        ],
        "sites": [{"id": "s1", "name": "One", "lat": -6.9, "lon": 107.6}],
        "aps": [
            {
                "id": f"ap{n:03d}",
                "site": "s1",
                "name": f"ap-{n}",
                "host": host,
                "snmp_port": PORT,
                "profile": "mikrotik",
                "credentials": "c",
                **ap_overrides,
            }
            for n, host in enumerate(hosts, start=1)
        ],
    }
    path = tmp_path / "inv.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path, hosts


@pytest.fixture
def db(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'inv.db'}")
    return engine


def test_a_slow_ap_does_not_delay_the_others_samples(tmp_path: Path, db: Engine) -> None:
    path, hosts = inventory(tmp_path, 12)
    import_file(db, path)
    scraper = ScriptedScraper(hosts, slow={hosts[0]}, delay_s=3.0)
    scraper.unreachable.add((hosts[1], PORT))
    settings = Settings(
        data_dir=tmp_path,
        poll_interval_s=2.0,
        poll_deadline_s=1.5,
        write_flush_s=0.2,
        down_after_failures=1,
    )
    sink = Sink()
    collector = Collector(settings, db, sink, scraper)  # type: ignore[arg-type]
    collector.writer._write_samples = sink.write  # record write times

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(4.5, stop.set)
        await collector.run(stop=stop)

    started = time.monotonic()
    asyncio.run(main())
    collector.close()
    written = [
        (t - started, s) for t, batch in zip(sink.times, sink.batches, strict=True) for s in batch
    ]
    first_seen: dict[str, float] = {}
    for t, s in written:
        first_seen.setdefault(s.tags["ap"], t)
    # Every AP's first sample is written within its phase + flush time, not after the
    # slow AP's 1.5 s deadline: the healthy ones are never held back.
    from collector.scheduler import phase_of

    for n in range(3, 13):
        ap = f"ap{n:03d}"
        assert first_seen[ap] < phase_of(ap, 2.0) + 0.8, (ap, first_seen[ap])
    # The slow AP hit its deadline (a timeout), the dead one failed; both went down.
    slow = [s for _, s in written if s.tags["ap"] == "ap001"]
    assert slow and all(s.fields == {"reachable": 0.0} for s in slow)
    with transaction(db) as session:
        states = {row.ap_id: row.state for row in session.scalars(select(ApStatus))}
    assert states["ap001"] == "down" and states["ap002"] == "down"
    assert all(states[f"ap{n:03d}"] == "up" for n in range(3, 13))
    stats = collector.snmp_scheduler.history if collector.snmp_scheduler else []
    assert stats and all(not s.overrun for s in stats)
    text = collector.metrics.exposition()
    polls = {
        (s.labels["profile"], s.labels["outcome"]): s.value
        for f in text_string_to_metric_families(text)
        if f.name == "citywifi_polls"
        for s in f.samples
        if s.name.endswith("_total")
    }
    assert polls[("mikrotik", "timeout")] >= 4  # two APs, two intervals
    assert polls[("mikrotik", "ok")] >= 20


def test_shard_polls_only_its_share(tmp_path: Path, db: Engine) -> None:
    path, hosts = inventory(tmp_path, 30)
    import_file(db, path)
    polled: list[set[str]] = []
    for shard in ("0/3", "1/3", "2/3"):
        settings = Settings(data_dir=tmp_path, shard=shard)
        sink = Sink()
        collector = Collector(settings, db, sink, ScriptedScraper(hosts, set(), 0))  # type: ignore[arg-type]
        report = asyncio.run(collector.run_cycle())
        assert report.answered == report.attempted > 0
        polled.append({s.tags["ap"] for b in sink.batches for s in b})
    everything = [ap for shard in polled for ap in shard]
    assert sorted(everything) == [f"ap{n:03d}" for n in range(1, 31)]


class FakeSsh:
    """Stands in for netmiko: answers per host, records which commands ran."""

    def __init__(self, outcome: dict[str, SshResult]) -> None:
        self.outcome = outcome
        self.ran: dict[str, list[str]] = {}

    def __call__(
        self, target: SshTarget, profile: SshProfile, commands: Sequence[SshCommand], t: float
    ) -> SshResult:
        self.ran[target.host] = [c.command for c in commands]
        return self.outcome[target.host]


def test_ssh_results_are_samples_and_failures_do_not_mark_down(tmp_path: Path, db: Engine) -> None:
    path, hosts = inventory(tmp_path, 2)
    import_file(db, path)
    ssh = FakeSsh(
        {
            hosts[0]: SshResult("ok", {"hotspot_sessions": 4.0}, {"clients": 99.0}),
            hosts[1]: SshResult("auth", error="Authentication failed"),
        }
    )
    settings = Settings(data_dir=tmp_path, down_after_failures=1)
    sink = Sink()
    collector = Collector(
        settings,
        db,
        sink,  # type: ignore[arg-type]
        ScriptedScraper(hosts, set(), 0),
        ssh_poller=ssh,
    )
    asyncio.run(collector.run(once=True))
    collector.close()
    samples = [s for b in sink.batches for s in b]
    ssh_samples = [s for s in samples if "reachable" not in s.fields]
    assert [s.tags["ap"] for s in ssh_samples] == ["ap001"]
    snmp_gave_hotspot = any("hotspot_sessions" in s.fields for s in samples if s not in ssh_samples)
    hotspot_ran = "/ip hotspot active print count-only" in ssh.ran[hosts[0]]
    assert hotspot_ran is not snmp_gave_hotspot  # SSH asks only what SNMP did not give
    assert ssh_samples[0].tags["profile"] == "mikrotik"
    assert "clients" not in ssh_samples[0].fields  # a cross-check never overrides SNMP
    assert collector.ssh_outcomes == {"ok": 1, "auth": 1}
    assert collector.ssh_mismatches == 1
    with transaction(db) as session:
        states = {row.ap_id: row.state for row in session.scalars(select(ApStatus))}
    assert states == {"ap001": "up", "ap002": "up"}


def test_ssh_skips_aps_without_ssh_credentials_or_commands(tmp_path: Path, db: Engine) -> None:
    path, hosts = inventory(tmp_path, 2, profile="unifi")
    import_file(db, path)
    ssh = FakeSsh({})
    collector = Collector(
        Settings(data_dir=tmp_path),
        db,
        Sink(),  # type: ignore[arg-type]
        ScriptedScraper(hosts, set(), 0),
        ssh_poller=ssh,
    )
    assert asyncio.run(collector.ssh_cycle()) == {}
    assert ssh.ran == {}
