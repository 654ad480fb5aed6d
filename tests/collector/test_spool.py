"""The disk spool and the writer's spool/replay: no sample lost to a store outage or a
collector restart, order kept, the bound enforced oldest-first and counted, bad data
refused once and logged instead of retried forever."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from collector.selfmetrics import SelfMetrics
from collector.spool import Spool, decode_batch, encode_batch
from collector.writer import BatchWriter, is_rejection
from core.errors import ConfigError, StoreError, StoreRejected
from core.settings import Settings
from core.states import ApState, Transition
from inventory.queries import ApStatusUpdate
from timeseries import Sample


def sample(n: int, ap: str = "ap1") -> Sample:
    # Fixed width in JSON (no per-sample digits but the time), so batch sizes are equal.
    return Sample("ap", {"ap": ap, "site": "s1"}, {"reachable": 1.0}, 1e9 + n)


def samples(first: int, count: int) -> list[Sample]:
    return [sample(n) for n in range(first, first + count)]


def update(n: int) -> ApStatusUpdate:
    return ApStatusUpdate(f"ap{n}", ApState.UP, 0.0, 0.0, 0.0, 0, None, None)


class FakeStore:
    """Last write wins per (series, time), like the real stores; can be down, and refuses
    any sample of AP ``bad`` the way a backend refuses bad data."""

    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.points: dict[tuple[str, tuple[tuple[str, str], ...], float], Sample] = {}
        self.order: list[float] = []  # sample times in the order they were stored
        self.attempts = 0
        self.answer_lost = False  # stores the batch, then reports a timeout
        self.states: list[list[ApStatusUpdate]] = []

    def write(self, batch: Sequence[Sample]) -> None:
        self.attempts += 1
        if self.down:
            raise StoreError(
                "cannot write to victoriametrics+http://x: connection refused or host "
                "unreachable; nothing of this batch was stored"
            )
        for index, s in enumerate(batch):
            if s.tags.get("ap") == "bad":
                raise StoreRejected(f"sample {index} is bad: {s!r}")
        for s in batch:
            self.points[(s.measurement, tuple(sorted(s.tags.items())), s.ts)] = s
            self.order.append(s.ts)
        if self.answer_lost:
            raise StoreError("cannot write to vm: timed out")

    def record(self, updates: Sequence[ApStatusUpdate], transitions: Sequence[Transition]) -> None:
        self.states.append(list(updates))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def writer_for(
    store: FakeStore, spool: Spool | None, clock: Clock, metrics: SelfMetrics | None = None
) -> BatchWriter:
    return BatchWriter(
        store, store.record, max_samples=100, spool=spool, metrics=metrics, clock=clock
    )


# --- the spool on its own ------------------------------------------------------------------


def test_encoding_keeps_every_sample_exactly() -> None:
    original = [
        Sample("ap", {"ap": "ä-1", "site": 's"1'}, {"x": 0.1 + 0.2, "y": 1e-300}, 1712345678.123),
        Sample("ap", {}, {"nan": math.nan, "inf": math.inf}, 0.0),
    ]
    back = decode_batch(encode_batch(original))
    assert back[0] == original[0]
    assert math.isnan(back[1].fields["nan"]) and back[1].fields["inf"] == math.inf
    with pytest.raises(ValueError):
        decode_batch(b'{"m": "ap"}\n')


def test_batches_come_back_in_order_and_survive_a_reopen(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 10**6)
    for first in (0, 10, 20):
        spool.append(samples(first, 10))
    assert (spool.batches, spool.samples) == (3, 30)
    head = spool.head(max_samples=15)  # whole batches only: one of 10 fits, two do not
    assert head is not None and head.seqs == (1,) and head.samples == samples(0, 10)
    spool.remove(head.seqs)
    spool.close()

    again = Spool(tmp_path, 10**6)  # a restart
    assert (again.batches, again.samples, again.seqs) == (2, 20, [2, 3])
    again.append(samples(30, 5))
    assert again.seqs == [2, 3, 4]  # numbering continues after what is on disk
    head = again.head(max_samples=1000)
    assert head is not None and head.samples == samples(10, 25)
    again.remove(head.seqs)
    assert again.batches == 0 and not list(tmp_path.glob("*.jsonl"))


def test_bound_drops_oldest_first_and_counts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    size = len(encode_batch(samples(0, 10)))
    drops: list[int] = []
    spool = Spool(tmp_path, 3 * size, on_drop=drops.append)
    for first in range(0, 50, 10):
        spool.append(samples(first, 10))
    assert spool.batches == 3 and spool.bytes <= 3 * size
    assert spool.dropped_samples == 20 and drops == [10, 10]
    head = spool.head(1000)
    assert head is not None and head.samples == samples(20, 30)  # the newest 30 kept
    assert "dropped 10 samples" in caplog.text

    # A batch larger than the whole bound cannot be kept without passing it: dropped.
    spool.append(samples(100, 40))
    assert spool.dropped_samples == 60 and spool.batches == 3


def test_half_written_batch_is_ignored_and_damaged_one_set_aside(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 10**6)
    spool.append(samples(0, 3))
    spool.close()
    # A crash between write and rename leaves a temp file; other files are not ours.
    (tmp_path / ".000000000002.tmp").write_bytes(b'{"m":"ap","t":{},"f"')
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "000000000003.2.jsonl").write_bytes(b"garbage\n")

    spool = Spool(tmp_path, 10**6)
    assert not (tmp_path / ".000000000002.tmp").exists()
    assert spool.seqs == [1, 3]
    head = spool.head(1000)
    assert head is not None and head.seqs == (1,) and head.samples == samples(0, 3)
    assert spool.dropped_samples == 2 and (tmp_path / "000000000003.2.jsonl.corrupt").exists()
    assert (tmp_path / "notes.txt").exists()


def test_one_spool_one_process(tmp_path: Path) -> None:
    first = Spool(tmp_path, 10**6)
    with pytest.raises(ConfigError, match="in use by another collector"):
        Spool(tmp_path, 10**6)
    first.close()
    Spool(tmp_path, 10**6).close()


def test_settings_default_spool_per_shard(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).spool_path == tmp_path / "spool"
    assert Settings(data_dir=tmp_path, shard="1/3").spool_path == tmp_path / "spool-1-of-3"
    named = Settings(data_dir=tmp_path, instance_id="collector-a")
    assert named.spool_path == tmp_path / "spool-collector-a"
    assert Settings(data_dir=tmp_path, spool_dir=tmp_path / "x").spool_path == tmp_path / "x"
    assert Settings(data_dir=tmp_path).spool_max_bytes == 512 * 1024 * 1024
    assert Settings(data_dir=tmp_path).redacted()["spool_dir"] == str(tmp_path / "spool")


# --- the writer --------------------------------------------------------------------------


def test_classification_of_store_errors() -> None:
    assert is_rejection(StoreRejected("anything"))
    for transient in (
        "cannot write to vm: connection refused or host unreachable",
        "cannot write to vm: timed out; nothing of this batch was stored",
        "vm refused a write of 2 line(s): HTTP 503: overloaded",
        "vm refused a write of 2 line(s): not authorised (check the credentials)",
        "metric store /x/metrics.sqlite is closed",
    ):
        assert not is_rejection(StoreError(transient)), transient


def test_outage_spools_then_replays_in_order(tmp_path: Path) -> None:
    store, clock, metrics = FakeStore(down=True), Clock(), SelfMetrics()
    spool = Spool(tmp_path, 10**6)
    writer = writer_for(store, spool, clock, metrics)

    async def main() -> None:
        for n in range(5):  # five flushes during the outage
            for s in samples(n * 10, 10):
                writer.add(s, update(n))
            assert await writer.flush() is False
            clock.now += 0.5
        # Behind a non-empty spool, batches are not even tried until the back-off passes.
        assert store.attempts < 5
        assert spool.samples == 50 and len(store.states) == 5  # statuses kept flowing
        store.down = False
        clock.now += 60
        for s in samples(50, 10):
            writer.add(s)
        assert await writer.flush() is True

    asyncio.run(main())
    assert store.order == [1e9 + n for n in range(60)]  # every sample once, in order
    assert spool.batches == 0 and not list(tmp_path.glob("*.jsonl"))
    assert (writer.samples_spooled, writer.samples_replayed, writer.samples_written) == (50, 50, 60)
    got = {
        s.name: s.value
        for f in text_string_to_metric_families(metrics.exposition())
        for s in f.samples
    }
    assert got["citywifi_spool_depth"] == 0 and got["citywifi_spool_batches"] == 0
    assert got["citywifi_spooled_samples_total"] == 50
    assert got["citywifi_replayed_samples_total"] == 50
    assert got["citywifi_spool_dropped_samples_total"] == 0


def test_replay_backs_off_while_the_store_stays_down(tmp_path: Path) -> None:
    store, clock = FakeStore(down=True), Clock()
    writer = writer_for(store, Spool(tmp_path, 10**6), clock)

    async def attempts_at(times: Sequence[float]) -> list[int]:
        seen = []
        for t in times:
            clock.now = t
            writer.add(sample(int(t * 10)))
            await writer.flush()
            seen.append(store.attempts)
        return seen

    # First failure at 0; replays due at 1, then 1+2=3, then 3+4=7, ... capped at 10 s.
    seen = asyncio.run(attempts_at([0, 0.5, 1, 2, 3, 5, 7, 14, 15, 24, 25, 34, 35]))
    assert seen == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7]


def test_restart_replays_the_spool_before_anything_new(tmp_path: Path) -> None:
    store, clock = FakeStore(down=True), Clock()

    async def before() -> None:
        writer = writer_for(store, Spool(tmp_path, 10**6), clock)
        stop = asyncio.Event()
        stop.set()  # SIGTERM: only the final flush runs
        for s in samples(0, 7):
            writer.add(s)
        await writer.run(stop)
        assert writer.spooled == 7
        writer.close()

    async def after() -> BatchWriter:
        writer = writer_for(store, Spool(tmp_path, 10**6), clock)
        assert writer.spooled == 7
        for s in samples(7, 3):
            writer.add(s)
        assert await writer.flush() is True
        return writer

    asyncio.run(before())
    assert store.points == {}
    store.down = False
    writer = asyncio.run(after())
    assert store.order == [1e9 + n for n in range(10)]
    assert writer.samples_replayed == 7 and writer.spooled == 0


def test_replay_after_a_partial_write_lands_on_the_same_points(tmp_path: Path) -> None:
    """A write that stored its batch but reported failure (a timeout after the server
    took it) is replayed: the same (series, time) points, not new ones."""
    store, clock = FakeStore(), Clock()
    writer = writer_for(store, Spool(tmp_path, 10**6), clock)
    batch = samples(0, 4)

    async def main() -> None:
        store.answer_lost = True
        for s in batch:
            writer.add(s)
        assert await writer.flush() is False
        store.answer_lost = False
        clock.now += 5
        await writer.flush()

    asyncio.run(main())
    assert len(store.order) == 8  # written twice...
    assert sorted(p.ts for p in store.points.values()) == [s.ts for s in batch]  # ...once each


def test_bad_samples_are_isolated_logged_and_never_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store, clock, metrics = FakeStore(), Clock(), SelfMetrics()
    spool = Spool(tmp_path, 10**6)
    writer = writer_for(store, spool, clock, metrics)
    batch = samples(0, 40)
    batch[13] = sample(13, ap="bad")
    batch[31] = sample(31, ap="bad")

    async def main() -> None:
        for s in batch:
            writer.add(s)
        assert await writer.flush() is True
        attempts = store.attempts
        clock.now += 100
        await writer.flush()
        assert store.attempts == attempts  # nothing left to retry

    with caplog.at_level(logging.ERROR):
        asyncio.run(main())
    good = {s.ts for i, s in enumerate(batch) if i not in (13, 31)}
    assert {p.ts for p in store.points.values()} == good
    assert writer.samples_rejected == 2 and spool.batches == 0
    assert store.attempts <= 1 + 2 * 2 * 6  # bisection, not one write per sample
    assert "rejected 1 sample(s) as bad data" in caplog.text and "'bad'" in caplog.text
    rejected = [
        s.value
        for f in text_string_to_metric_families(metrics.exposition())
        for s in f.samples
        if s.name == "citywifi_store_rejected_samples_total"
    ]
    assert rejected == [2.0]


def test_bad_sample_in_the_spool_does_not_block_it(tmp_path: Path) -> None:
    store, clock = FakeStore(down=True), Clock()
    writer = writer_for(store, Spool(tmp_path, 10**6), clock)

    async def main() -> None:
        writer.add(sample(0))
        writer.add(sample(1, ap="bad"))
        await writer.flush()
        writer.add(sample(2))
        await writer.flush()
        store.down = False
        clock.now += 60
        await writer.flush()

    asyncio.run(main())
    assert store.order == [1e9 + 0, 1e9 + 2]
    assert writer.samples_rejected == 1 and writer.spooled == 0


def test_without_a_spool_a_failure_is_lost_and_counted() -> None:
    store, clock = FakeStore(down=True), Clock()
    writer = writer_for(store, None, clock)
    writer.add(sample(0), update(0))
    assert asyncio.run(writer.flush()) is False
    assert writer.samples_lost == 1 and len(store.states) == 1


def test_spool_bound_through_the_writer(tmp_path: Path) -> None:
    store, clock, metrics = FakeStore(down=True), Clock(), SelfMetrics()
    size = len(encode_batch(samples(0, 10)))
    spool = Spool(tmp_path, 2 * size, on_drop=metrics.spool_dropped.inc)
    writer = writer_for(store, spool, clock, metrics)

    async def main() -> None:
        for first in range(0, 40, 10):
            for s in samples(first, 10):
                writer.add(s)
            await writer.flush()
        store.down = False
        clock.now += 60
        await writer.flush()

    asyncio.run(main())
    assert store.order == [1e9 + n for n in range(20, 40)]  # the oldest 20 were dropped
    dropped = [
        s.value
        for f in text_string_to_metric_families(metrics.exposition())
        for s in f.samples
        if s.name == "citywifi_spool_dropped_samples_total"
    ]
    assert dropped == [20.0]
