"""The engine: a scheduled loop in which a slow or dead AP delays nobody else's samples;
every state change stored as a transition beside the status; poll counters added up in
SQL, so several collectors on one database never lose each other's counts.

Timing runs on a virtual clock (the ``virtual_run`` fixture): exact, no real sleeps."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select, update

from collector.engine import Collector
from collector.scheduler import phase_of
from collector.snmp import FakeScraper, SnmpTarget, Value, VarBinds
from collector.ssh_poll import SshCommand, SshProfile, SshResult, SshTarget
from core.settings import Settings
from core.states import ApState, PollCause
from inventory import import_file
from inventory.db import open_inventory, transaction
from inventory.models import ApEvent, ApStatus, CredentialProfile
from inventory.secretbox import SecretBox
from timeseries import Sample

PORT = 1161
VirtualRun = Callable[[Coroutine[Any, Any, Any]], Any]
Device = Mapping[str, Value]


class Sink:
    """A sample sink recording each batch."""

    def __init__(self) -> None:
        self.batches: list[list[Sample]] = []

    def write(self, samples: Sequence[Sample]) -> None:
        self.batches.append(list(samples))

    @property
    def samples(self) -> list[Sample]:
        return [s for batch in self.batches for s in batch]


class TimedSink(Sink):
    """Also records the loop time at which each batch was written.

    The writer calls ``write`` in a worker thread; the virtual clock stands still while a
    thread works, so reading the loop's clock there gives the write's time."""

    def __init__(self, loop_time: Callable[[], float]) -> None:
        super().__init__()
        self._loop_time = loop_time
        self.times: list[float] = []

    def write(self, samples: Sequence[Sample]) -> None:
        super().write(samples)
        self.times.append(self._loop_time())


class ScriptedScraper(FakeScraper):
    """FakeScraper whose listed hosts answer ``delay_s`` late (on the loop's clock)."""

    def __init__(self, devices: dict[tuple[str, int], Device], slow: set[str], delay_s: float):
        super().__init__(devices)
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


def write_inventory(tmp_path: Path, count: int, **ap_overrides: object) -> tuple[Path, list[str]]:
    hosts = [f"127.1.9.{n}" for n in range(1, count + 1)]
    doc = {
        "credentials": [
            {
                "id": "c",
                "snmp": {"version": "2c", "community": "public"},
                "ssh": {"username": "admin", "password": "pw"},
            }
        ],
        "sites": [{"id": "s1", "name": "One", "lat": -6.24, "lon": 106.99}],
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
def db(database_url: str) -> Engine:
    return open_inventory(database_url, create=True)


@pytest.fixture
def city(
    tmp_path: Path, db: Engine, mikrotik_device: Device, secret_box: SecretBox
) -> Callable[..., tuple[list[str], ScriptedScraper]]:
    """``city(count, slow=..., delay_s=..., **ap_overrides)``: that many MikroTik APs in
    the inventory and a scraper answering for each of them."""

    def make(
        count: int, slow: frozenset[int] = frozenset(), delay_s: float = 0.0, **overrides: object
    ) -> tuple[list[str], ScriptedScraper]:
        path, hosts = write_inventory(tmp_path, count, **overrides)
        import_file(db, path, secret_box)
        devices = {(h, PORT): mikrotik_device for h in hosts}
        return hosts, ScriptedScraper(devices, {hosts[i] for i in slow}, delay_s)

    return make


def statuses(db: Engine) -> dict[str, ApStatus]:
    with transaction(db) as session:
        return {row.ap_id: row for row in session.scalars(select(ApStatus))}


def events(db: Engine) -> list[tuple[str, str, str, str]]:
    with transaction(db) as session:
        rows = session.scalars(select(ApEvent).order_by(ApEvent.id))
        return [(e.ap_id, e.from_state, e.to_state, e.cause) for e in rows]


def poll_counts(collector: Collector) -> dict[tuple[str, str], float]:
    return {
        (s.labels["profile"], s.labels["outcome"]): s.value
        for f in text_string_to_metric_families(collector.metrics.exposition())
        if f.name == "citywifi_polls"
        for s in f.samples
        if s.name.endswith("_total")
    }


# --- the scheduled loop --------------------------------------------------------------------


def test_a_slow_ap_does_not_delay_the_others_samples(
    tmp_path: Path,
    db: Engine,
    city: Callable[..., tuple[list[str], ScriptedScraper]],
    virtual_run: VirtualRun,
    caplog: pytest.LogCaptureFixture,
    secret_box: SecretBox,
) -> None:
    hosts, scraper = city(12, slow=frozenset({0}), delay_s=3.0)
    scraper.unreachable.add((hosts[1], PORT))
    interval, flush, stop_at = 2.0, 0.2, 4.5
    settings = Settings(
        data_dir=tmp_path,
        poll_interval_s=interval,
        poll_deadline_s=1.5,
        write_flush_s=flush,
        down_after_failures=1,
    )
    sink: TimedSink | None = None

    async def main() -> Collector:
        nonlocal sink
        loop = asyncio.get_running_loop()
        sink = TimedSink(loop.time)
        collector = Collector(settings, db, sink, scraper, box=secret_box)
        stop = asyncio.Event()
        loop.call_later(stop_at, stop.set)
        with caplog.at_level(logging.INFO, logger="collector.engine"):
            await collector.run(stop=stop)
        return collector

    collector: Collector = virtual_run(main())
    collector.close()
    assert sink is not None
    first_written: dict[str, float] = {}
    for t, batch in zip(sink.times, sink.batches, strict=True):
        for s in batch:
            if s.measurement == "ap":  # not the site info samples
                first_written.setdefault(s.tags["ap"], t)
    ids = [f"ap{n:03d}" for n in range(1, 13)]
    # Each healthy AP's first sample is written at the first flush after its phase, not
    # after the slow AP's 1.5 s deadline: nobody is held back.
    for ap in ids[2:]:
        assert phase_of(ap, interval) <= first_written[ap] <= phase_of(ap, interval) + flush
    # Polls per AP: one per slot before the stop (the last in-flight one still finishes).
    polls = {
        ap: sum(1 for k in range(3) if k * interval + phase_of(ap, interval) < stop_at)
        for ap in ids
    }
    counts = poll_counts(collector)
    assert counts[("mikrotik", "timeout")] == polls["ap001"] + polls["ap002"]
    assert counts[("mikrotik", "answered")] == sum(polls[ap] for ap in ids[2:])
    # The slow AP hit its deadline, the dead one did not answer: both down.
    slow = [s for s in sink.samples if s.tags.get("ap") == "ap001"]
    assert slow and all(s.fields == {"reachable": 0.0} for s in slow)
    rows = statuses(db)
    assert rows["ap001"].state == rows["ap002"].state == ApState.DOWN
    assert rows["ap001"].last_cause == PollCause.TIMEOUT
    assert all(rows[ap].state == ApState.UP for ap in ids[2:])
    assert {ap: rows[ap].polls_attempted for ap in ids} == polls
    assert {ap: rows[ap].polls_ok for ap in ids} == {
        ap: 0 if ap in ("ap001", "ap002") else polls[ap] for ap in ids
    }
    # One transition per AP, stored, and one log line for each.
    assert sorted(events(db)) == sorted(
        [("ap001", "unknown", "down", "timeout"), ("ap002", "unknown", "down", "timeout")]
        + [(ap, "unknown", "up", "answered") for ap in ids[2:]]
    )
    assert len([r for r in caplog.records if " is now " in r.getMessage()]) == 12
    history = collector.snmp_scheduler.history if collector.snmp_scheduler else []
    assert history and not any(s.overrun for s in history)


# --- counts and transitions in SQL ---------------------------------------------------------


def test_two_collectors_on_one_database_never_lose_each_others_counts(
    tmp_path: Path,
    db: Engine,
    city: Callable[..., tuple[list[str], ScriptedScraper]],
    virtual_run: VirtualRun,
    secret_box: SecretBox,
) -> None:
    hosts, scraper = city(8)
    scraper.unreachable.add((hosts[0], PORT))
    # Two collectors (own data dirs, own spools) poll the SAME APs, and two more poll
    # disjoint halves (shards), all at once, cycles interleaved.
    everyone = [
        Collector(Settings(data_dir=tmp_path / n), db, Sink(), scraper, box=secret_box)
        for n in "ab"
    ]
    halves = [
        Collector(
            Settings(data_dir=tmp_path / f"s{i}", shard=f"{i}/2"),
            db,
            Sink(),
            scraper,
            box=secret_box,
        )
        for i in range(2)
    ]
    cycles = {id(c): n for c, n in zip([*everyone, *halves], [3, 2, 4, 4], strict=True)}

    async def repeat(collector: Collector) -> None:
        for _ in range(cycles[id(collector)]):
            await collector.run_cycle()

    async def main() -> None:
        await asyncio.gather(*(repeat(c) for c in [*everyone, *halves]))

    virtual_run(main())
    for c in [*everyone, *halves]:
        c.close()
    rows = statuses(db)
    assert {ap: row.polls_attempted for ap, row in rows.items()} == {
        f"ap{n:03d}": 3 + 2 + 4 for n in range(1, 9)
    }
    assert rows["ap001"].polls_ok == 0
    assert all(rows[f"ap{n:03d}"].polls_ok == 9 for n in range(2, 9))


def test_state_survives_a_restart_and_only_changes_make_transitions(
    tmp_path: Path,
    db: Engine,
    city: Callable[..., tuple[list[str], ScriptedScraper]],
    virtual_run: VirtualRun,
    secret_box: SecretBox,
) -> None:
    hosts, scraper = city(2)
    scraper.unreachable.add((hosts[0], PORT))
    settings = Settings(data_dir=tmp_path, down_after_failures=2)

    def run_cycles(count: int) -> None:
        collector = Collector(settings, db, Sink(), scraper, box=secret_box)

        async def main() -> None:
            for _ in range(count):
                await collector.run_cycle()

        virtual_run(main())
        collector.close()

    run_cycles(1)  # ap001 failed once: still unknown (threshold 2); ap002 up
    assert events(db) == [("ap002", "unknown", "up", "answered")]
    run_cycles(1)  # a restart: the failure count carried over, so ap001 is now down
    assert events(db)[1:] == [("ap001", "unknown", "down", "timeout")]
    run_cycles(2)  # nothing changes: no transitions
    assert len(events(db)) == 2
    scraper.unreachable.clear()
    run_cycles(1)
    assert events(db)[2:] == [("ap001", "down", "up", "answered")]
    rows = statuses(db)
    assert (rows["ap001"].polls_attempted, rows["ap001"].polls_ok) == (5, 1)
    assert rows["ap001"].state == ApState.UP and rows["ap001"].last_error is None


def test_aps_whose_credentials_cannot_work_are_skipped_and_said_once(
    tmp_path: Path,
    db: Engine,
    city: Callable[..., tuple[list[str], ScriptedScraper]],
    virtual_run: VirtualRun,
    caplog: pytest.LogCaptureFixture,
    secret_box: SecretBox,
) -> None:
    _hosts, scraper = city(3)
    with transaction(db) as session:
        session.execute(update(CredentialProfile).values(snmp_community=None))
    collector = Collector(Settings(data_dir=tmp_path), db, Sink(), scraper, box=secret_box)

    async def main() -> list[int]:
        return [(await collector.run_cycle()).skipped for _ in range(2)]

    with caplog.at_level(logging.WARNING, logger="collector.engine"):
        assert virtual_run(main()) == [3, 3]
    collector.close()
    said = [r.getMessage() for r in caplog.records if "cannot be polled" in r.getMessage()]
    assert len(said) == 1 and "3 AP(s)" in said[0] and "ap001" in said[0]
    assert scraper.requests == 0 and statuses(db) == {}


def test_shard_polls_only_its_share(
    tmp_path: Path,
    db: Engine,
    city: Callable[..., tuple[list[str], ScriptedScraper]],
    virtual_run: VirtualRun,
    secret_box: SecretBox,
) -> None:
    _hosts, scraper = city(30)
    polled: list[set[str]] = []
    for shard in ("0/3", "1/3", "2/3"):
        sink = Sink()
        collector = Collector(
            Settings(data_dir=tmp_path, shard=shard), db, sink, scraper, box=secret_box
        )
        report = virtual_run(collector.run_cycle())
        collector.close()
        assert report.answered == report.attempted > 0
        polled.append({s.tags["ap"] for s in sink.samples if s.measurement == "ap"})
    everything = [ap for shard in polled for ap in shard]
    assert sorted(everything) == [f"ap{n:03d}" for n in range(1, 31)]


# --- SSH beside SNMP -----------------------------------------------------------------------


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


def test_ssh_results_are_samples_and_failures_do_not_mark_down(
    tmp_path: Path,
    db: Engine,
    city: Callable[..., tuple[list[str], ScriptedScraper]],
    virtual_run: VirtualRun,
    secret_box: SecretBox,
) -> None:
    hosts, scraper = city(2)
    ssh = FakeSsh(
        {
            hosts[0]: SshResult("ok", {"hotspot_sessions": 4.0}, {"clients": 99.0}),
            hosts[1]: SshResult("auth", error="Authentication failed"),
        }
    )
    sink = Sink()
    collector = Collector(
        Settings(data_dir=tmp_path, down_after_failures=1),
        db,
        sink,
        scraper,
        ssh_poller=ssh,
        box=secret_box,
    )
    virtual_run(collector.run(once=True))
    collector.close()
    samples = [s for s in sink.samples if s.measurement == "ap"]  # not the site info
    ssh_samples = [s for s in samples if "reachable" not in s.fields]
    assert [s.tags["ap"] for s in ssh_samples] == ["ap001"]
    snmp_gave_hotspot = any("hotspot_sessions" in s.fields for s in samples if s not in ssh_samples)
    hotspot_ran = "/ip hotspot active print count-only" in ssh.ran[hosts[0]]
    assert hotspot_ran is not snmp_gave_hotspot  # SSH asks only what SNMP did not give
    assert ssh_samples[0].tags["profile"] == "mikrotik"
    assert "clients" not in ssh_samples[0].fields  # a cross-check never overrides SNMP
    assert collector.ssh.outcomes == {"ok": 1, "auth": 1}
    assert collector.ssh.mismatches == 1
    assert {ap: row.state for ap, row in statuses(db).items()} == {
        "ap001": ApState.UP,
        "ap002": ApState.UP,
    }


def test_ssh_skips_aps_without_ssh_credentials_or_commands(
    tmp_path: Path,
    db: Engine,
    city: Callable[..., tuple[list[str], ScriptedScraper]],
    virtual_run: VirtualRun,
    secret_box: SecretBox,
) -> None:
    _hosts, scraper = city(2, profile="unifi")
    ssh = FakeSsh({})
    collector = Collector(
        Settings(data_dir=tmp_path), db, Sink(), scraper, ssh_poller=ssh, box=secret_box
    )
    assert virtual_run(collector.ssh_cycle()) == {}
    collector.close()
    assert ssh.ran == {}


def test_an_answer_with_wrongly_typed_values_keeps_the_ap_up_as_a_degraded_poll(
    tmp_path: Path,
    db: Engine,
    mikrotik_device: Device,
    virtual_run: VirtualRun,
    secret_box: SecretBox,
) -> None:
    """A ``malformed`` device (sysUpTime as text) is no outage: the AP stays up, its
    status says the poll was degraded, and the next clean answer clears that."""
    path, hosts = write_inventory(tmp_path, 2)
    import_file(db, path, secret_box)
    malformed = {**mikrotik_device, "1.3.6.1.2.1.1.3.0": b"not ticks"}

    def cycle(first: Device) -> None:
        devices = {(hosts[0], PORT): first, (hosts[1], PORT): mikrotik_device}
        scraper = ScriptedScraper(devices, set(), 0.0)
        collector = Collector(Settings(data_dir=tmp_path), db, Sink(), scraper, box=secret_box)

        async def main() -> None:
            await collector.run_cycle()

        virtual_run(main())
        collector.close()

    cycle(malformed)
    rows = statuses(db)
    assert rows["ap001"].state == ApState.UP and rows["ap001"].last_cause == PollCause.ANSWERED
    assert rows["ap001"].last_error == (
        "degraded: answered, but 1 value had the wrong type and was left out"
    )
    assert rows["ap002"].last_error is None
    cycle(mikrotik_device)
    assert statuses(db)["ap001"].last_error is None
