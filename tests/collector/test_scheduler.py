"""The scheduler: stable, even phases; a partition into shards; no overlapping polls.

Timing tests run on a virtual clock (the ``virtual_run`` fixture): exact times, no real
sleeps, no tolerances."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import pytest

from collector.scheduler import (
    SPREAD,
    IntervalStats,
    Scheduler,
    phase_of,
    shard_of,
    stable_hash,
)

VirtualRun = Callable[[Coroutine[Any, Any, Any]], Any]

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


def run_for(virtual_run: VirtualRun, scheduler: Scheduler[str], seconds: float) -> None:
    """Run ``scheduler`` on a virtual clock from 0.0 until ``seconds``: exact times, no
    real waiting."""

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        await scheduler.run(stop)

    virtual_run(main())


def now() -> float:
    return asyncio.get_running_loop().time()


async def targets_of(*keys: str) -> list[str]:
    return list(keys)


def test_polls_start_at_their_phase_not_all_at_once(virtual_run: VirtualRun) -> None:
    keys = [f"k{n}" for n in range(40)]
    started: dict[str, float] = {}
    slots: dict[str, float] = {}

    async def poll(key: str, slot: float) -> None:
        started.setdefault(key, now())
        slots.setdefault(key, slot)

    sched = Scheduler[str](
        name="t",
        interval_s=1.0,
        concurrency=100,
        key=str,
        poll=poll,
        refresh=lambda: targets_of(*keys),
    )
    run_for(virtual_run, sched, 1.1)
    assert set(started) == set(keys)
    for key in keys:
        assert started[key] == pytest.approx(phase_of(key, 1.0), abs=1e-9), key
        assert slots[key] == pytest.approx(phase_of(key, 1.0), abs=1e-12), key  # given to poll
    assert max(started.values()) - min(started.values()) > 0.5  # spread, not a burst


def test_a_poll_still_running_at_its_next_slot_is_skipped_not_queued(
    virtual_run: VirtualRun,
) -> None:
    running: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    polls: Counter[str] = Counter()

    async def poll(key: str, slot: float) -> None:
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
    # Six intervals (slots at 0.2 k + phase, phase < 0.18); the slow poll takes 0.55 s,
    # so it runs at slots 0 and 3 and the four slots in between are skipped.
    run_for(virtual_run, sched, 1.19)
    assert peak == {"slow": 1, "fast": 1}
    assert polls == {"slow": 2, "fast": 6}
    assert sched.skipped_overlap == 4 and skipped == ["slow"] * 4
    assert [s.skipped_overlap for s in finished] == [0, 1, 1, 0, 1, 1]
    assert [s.overrun for s in finished] == [False, True, True, False, True, True]


def test_concurrency_is_bounded_and_queue_depth_counts_waiting_polls(
    virtual_run: VirtualRun,
) -> None:
    keys = [f"k{n}" for n in range(12)]
    live = 0
    peak = 0
    depths: list[int] = []
    sched: Scheduler[str]

    async def poll(key: str, slot: float) -> None:
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
    run_for(virtual_run, sched, 0.29)
    assert peak == 2
    assert max(depths) > 2  # some were waiting for a slot
    assert sched.queue_depth == 0  # drained on stop


def test_overrun_is_reported_when_aps_cannot_all_start_within_the_interval(
    virtual_run: VirtualRun,
) -> None:
    finished: list[IntervalStats] = []

    async def poll(key: str, slot: float) -> None:
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
    run_for(virtual_run, sched, 0.65)
    complete = [s for s in finished if not s.stopped]
    assert complete and all(s.overrun for s in complete)
    assert all(s.attempted < s.due == 5 for s in complete)


def test_targets_are_re_read_every_interval(virtual_run: VirtualRun) -> None:
    rounds = iter([["a", "b"], ["a", "c"], ["c"]])
    seen: list[set[str]] = []

    async def refresh() -> list[str]:
        keys = next(rounds, ["c"])
        seen.append(set())
        return keys

    async def poll(key: str, slot: float) -> None:
        seen[-1].add(key)

    sched = Scheduler[str](
        name="t", interval_s=0.2, concurrency=4, key=str, poll=poll, refresh=refresh
    )
    run_for(virtual_run, sched, 0.59)
    assert seen == [{"a", "b"}, {"a", "c"}, {"c"}]


def test_no_lag_and_no_overrun_when_there_is_room(virtual_run: VirtualRun) -> None:
    finished: list[IntervalStats] = []

    async def poll(key: str, slot: float) -> None:
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
    run_for(virtual_run, sched, 0.7)
    complete = [s for s in finished if not s.stopped]
    assert len(complete) == 3
    for stats in complete:
        assert (stats.due, stats.attempted, stats.late, stats.skipped_overlap) == (20, 20, 0, 0)
        assert not stats.overrun
        assert stats.max_lag_s == pytest.approx(0.0, abs=1e-9)


def test_lag_is_the_wait_for_a_concurrency_slot(virtual_run: VirtualRun) -> None:
    first, second = sorted(["a", "b"], key=lambda k: phase_of(k, 10.0))
    gap = phase_of(second, 10.0) - phase_of(first, 10.0)
    finished: list[IntervalStats] = []

    async def poll(key: str, slot: float) -> None:
        await asyncio.sleep(gap + 0.25)  # the first still runs 0.25 s into the second's slot

    sched = Scheduler[str](
        name="t",
        interval_s=10.0,
        concurrency=1,
        key=str,
        poll=poll,
        refresh=lambda: targets_of("a", "b"),
        on_interval=finished.append,
    )
    run_for(virtual_run, sched, 15.0)
    assert finished[0].max_lag_s == pytest.approx(0.25, abs=1e-9)
    assert not finished[0].overrun


def test_an_injected_clock_is_the_one_slots_are_measured_on(virtual_run: VirtualRun) -> None:
    """The scheduler's clock is injectable: slots and lag are measured on it."""
    offset = 1000.0
    began: list[float] = []

    async def poll(key: str, slot: float) -> None:
        began.append(now())

    sched = Scheduler[str](
        name="t",
        interval_s=1.0,
        concurrency=1,
        key=str,
        poll=poll,
        refresh=lambda: targets_of("a"),
        clock=lambda: now() + offset,
    )
    run_for(virtual_run, sched, 0.95)
    assert began == [pytest.approx(phase_of("a", 1.0), abs=1e-9)]


def test_an_aligned_run_starts_at_the_clocks_boundaries_and_skips_passed_slots(
    virtual_run: VirtualRun,
) -> None:
    """Aligned: interval k is [k·I, (k+1)·I) on the clock; a run that begins inside one
    polls only the slots still ahead in it (the others may be another collector's)."""
    keys = [f"k{n}" for n in range(30)]
    started: dict[str, list[float]] = {k: [] for k in keys}
    begin = 5.3  # inside interval 2 = [4, 6)

    async def poll(key: str, slot: float) -> None:
        started[key].append(now())

    sched = Scheduler[str](
        name="t",
        interval_s=2.0,
        concurrency=8,
        key=str,
        poll=poll,
        refresh=lambda: targets_of(*keys),
        aligned=True,
    )
    seen: list[tuple[float, float]] = []

    async def main() -> None:
        await asyncio.sleep(begin)
        stop = asyncio.Event()
        asyncio.get_running_loop().call_at(8.0, stop.set)
        original = sched._refresh

        async def refresh() -> Sequence[str]:
            seen.append((sched.interval_start, sched.interval_end))
            return await original()

        sched._refresh = refresh
        await sched.run(stop)

    virtual_run(main())
    assert seen == [(begin, 6.0), (6.0, 8.0)]
    for key in keys:
        expected = [t for t in (4.0 + phase_of(key, 2.0), 6.0 + phase_of(key, 2.0)) if t >= begin]
        assert started[key] == [pytest.approx(t, abs=1e-9) for t in expected], key


def test_admit_refuses_a_poll_as_it_is_about_to_begin(virtual_run: VirtualRun) -> None:
    finished: list[IntervalStats] = []
    polled: list[str] = []
    asked: list[tuple[str, float]] = []

    async def poll(key: str, slot: float) -> None:
        polled.append(key)

    def admit(key: str, slot: float) -> bool:
        asked.append((key, slot))
        return key != "no"

    sched = Scheduler[str](
        name="t",
        interval_s=1.0,
        concurrency=2,
        key=str,
        poll=poll,
        refresh=lambda: targets_of("yes", "no"),
        on_interval=finished.append,
        admit=admit,
    )
    run_for(virtual_run, sched, 1.95)
    slots = {key: [k + phase_of(key, 1.0) for k in (0, 1)] for key in ("yes", "no")}
    assert polled == ["yes"] * sum(t < 1.95 for t in slots["yes"])  # "no": never
    assert sorted(asked) == sorted((key, t) for key, ts in slots.items() for t in ts if t < 1.95)
    first = finished[0]
    assert (first.due, first.attempted, first.not_admitted, first.overrun) == (1, 1, 1, False)
