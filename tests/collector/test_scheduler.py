"""The scheduler: stable, even phases; a partition into shards; no overlapping polls."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from collector.scheduler import (
    SPREAD,
    IntervalStats,
    Scheduler,
    parse_shard,
    phase_of,
    shard_of,
    stable_hash,
)

IDS = [f"ap{n:05d}" for n in range(1, 2001)]


def test_phases_are_stable_and_inside_the_interval() -> None:
    assert stable_hash("ap00001") == stable_hash("ap00001")
    # Fixed value: a change of hash would move every AP's phase and shard on upgrade.
    assert stable_hash("ap00001") == int.from_bytes(
        __import__("hashlib").blake2b(b"ap00001", digest_size=8).digest(), "big"
    )
    phases = [phase_of(ap, 60.0) for ap in IDS]
    assert phases == [phase_of(ap, 60.0) for ap in IDS]
    assert all(0.0 <= p < 60.0 * SPREAD for p in phases)  # the last tenth is headroom


def test_phases_spread_evenly_over_the_interval() -> None:
    width = 60.0 * SPREAD / 10
    buckets = Counter(int(phase_of(ap, 60.0) // width) for ap in IDS)  # ten equal buckets
    assert sorted(buckets) == list(range(10))
    assert all(140 <= n <= 260 for n in buckets.values()), buckets  # 200 expected
    # No burst: at most ~1% of APs share any one 100 ms window.
    windows = Counter(int(phase_of(ap, 60.0) * 10) for ap in IDS)
    assert max(windows.values()) <= 20


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7])
def test_shards_partition_the_aps(count: int) -> None:
    shards = [[ap for ap in IDS if shard_of(ap, count) == i] for i in range(count)]
    assert sorted(ap for shard in shards for ap in shard) == sorted(IDS)  # each exactly once
    assert all(len(s) > len(IDS) / count * 0.8 for s in shards)


def test_parse_shard() -> None:
    assert parse_shard("0/1") == (0, 1)
    assert parse_shard("2/3") == (2, 3)
    for bad in ("3/3", "1/0", "a/b", "1", "-1/2"):
        with pytest.raises(ValueError):
            parse_shard(bad)


def run_for(scheduler: Scheduler[str], seconds: float) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        await scheduler.run(stop)

    asyncio.run(main())


async def targets_of(*keys: str) -> list[str]:
    return list(keys)


def test_polls_start_at_their_phase_not_all_at_once() -> None:
    keys = [f"k{n}" for n in range(40)]
    started: dict[str, float] = {}
    t0 = time.monotonic()

    async def poll(key: str) -> None:
        started.setdefault(key, time.monotonic() - t0)

    sched = Scheduler[str](
        name="t",
        interval_s=1.0,
        concurrency=100,
        key=str,
        poll=poll,
        refresh=lambda: targets_of(*keys),
    )
    run_for(sched, 1.1)
    assert set(started) == set(keys)
    for key in keys:
        assert abs(started[key] - phase_of(key, 1.0)) < 0.1, key
    assert max(started.values()) - min(started.values()) > 0.5  # spread, not a burst


def test_a_poll_still_running_at_its_next_slot_is_skipped_not_queued() -> None:
    running: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    polls: Counter[str] = Counter()

    async def poll(key: str) -> None:
        running[key] += 1
        peak[key] = max(peak[key], running[key])
        polls[key] += 1
        await asyncio.sleep(0.55 if key == "slow" else 0.01)
        running[key] -= 1

    finished: list[IntervalStats] = []
    skipped: list[str] = []
    sched = Scheduler[str](
        name="t",
        interval_s=0.2,
        concurrency=10,
        key=str,
        poll=poll,
        refresh=lambda: targets_of("slow", "fast"),
        on_interval=finished.append,
        on_skip=skipped.append,
    )
    run_for(sched, 1.25)
    assert peak["slow"] == 1 and peak["fast"] == 1
    assert polls["fast"] >= 5
    assert 2 <= polls["slow"] <= 3  # every third slot: the two in between are skipped
    assert sched.skipped_overlap >= 3 and set(skipped) == {"slow"}
    assert any(s.skipped_overlap and s.overrun for s in finished)


def test_concurrency_is_bounded_and_queue_depth_counts_waiting_polls() -> None:
    keys = [f"k{n}" for n in range(12)]
    live = 0
    peak = 0
    depths: list[int] = []
    sched: Scheduler[str]

    async def poll(key: str) -> None:
        nonlocal live, peak
        live += 1
        peak = max(peak, live)
        depths.append(sched.queue_depth)
        await asyncio.sleep(0.1)
        live -= 1

    sched = Scheduler[str](
        name="t",
        interval_s=0.3,
        concurrency=2,
        key=str,
        poll=poll,
        refresh=lambda: targets_of(*keys),
    )
    run_for(sched, 0.29)
    assert peak == 2
    assert max(depths) > 2  # some were waiting for a slot
    assert sched.queue_depth == 0  # drained on stop


def test_overrun_is_reported_when_aps_cannot_all_start_within_the_interval() -> None:
    finished: list[IntervalStats] = []

    async def poll(key: str) -> None:
        await asyncio.sleep(0.1)

    sched = Scheduler[str](
        name="t",
        interval_s=0.2,
        concurrency=1,
        key=str,
        poll=poll,
        refresh=lambda: targets_of("a", "b", "c", "d", "e"),
        on_interval=finished.append,
    )
    run_for(sched, 0.65)
    complete = [s for s in finished if not s.stopped]
    assert complete and all(s.overrun for s in complete)
    assert all(s.attempted < s.due == 5 for s in complete)


def test_targets_are_re_read_every_interval() -> None:
    rounds = iter([["a", "b"], ["a", "c"], ["c"]])
    seen: list[set[str]] = []

    async def refresh() -> list[str]:
        keys = next(rounds, ["c"])
        seen.append(set())
        return keys

    async def poll(key: str) -> None:
        seen[-1].add(key)

    sched = Scheduler[str](
        name="t", interval_s=0.2, concurrency=4, key=str, poll=poll, refresh=refresh
    )
    run_for(sched, 0.59)
    assert seen[:3] == [{"a", "b"}, {"a", "c"}, {"c"}]


def test_lag_is_measured_and_no_overrun_when_there_is_room() -> None:
    finished: list[IntervalStats] = []

    async def poll(key: str) -> None:
        await asyncio.sleep(0.005)

    sched = Scheduler[str](
        name="t",
        interval_s=0.2,
        concurrency=8,
        key=str,
        poll=poll,
        refresh=lambda: targets_of(*(f"k{n}" for n in range(20))),
        on_interval=finished.append,
    )
    run_for(sched, 0.7)
    complete = [s for s in finished if not s.stopped]
    assert len(complete) >= 2
    for stats in complete:
        assert (stats.due, stats.attempted, stats.late, stats.skipped_overlap) == (20, 20, 0, 0)
        assert not stats.overrun
        assert 0.0 <= stats.max_lag_s < 0.05
