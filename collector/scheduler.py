"""Spread polls over the interval instead of firing them all at once.

Why: a cycle that starts every poll at the same instant makes a burst the network, the
devices and our own socket buffers must absorb, and a cycle that waits for all polls lets
the slowest AP delay everyone (Telegraf #3823, #7958). Here each AP gets a fixed *phase*
inside the interval, derived from a stable hash of its id, and is polled at
``interval start + phase`` every interval, independently of every other AP.

Rules the scheduler guarantees:

* one AP is never polled twice at once: if its previous poll (running or still waiting for
  a concurrency slot) has not finished at its next slot, that slot is skipped and counted
  (``skipped_overlap``) rather than queued, so a slow AP cannot build a backlog;
* concurrency is bounded (a semaphore); polls waiting for it count in the queue depth;
* the target list is re-read at every interval start, so added APs get scheduled and
  removed or disabled ones stop without a restart;
* per interval it reports whether every AP due was *attempted* (its poll began) within
  the interval: an interval where one was not is an overrun.

The stable hash (:func:`stable_hash`) is the first 8 bytes of BLAKE2b over the AP id's
UTF-8 bytes, read big-endian. Python's ``hash()`` is salted per process and would move
every AP's phase and shard on each restart; BLAKE2b gives the same value in every process
and on every machine, which is what sharding between collector processes needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_HASH_SPAN = float(2**64)

SPREAD = 0.9
"""Share of the interval over which phases are spread. The last tenth is headroom: a poll
whose slot is near the end and that must wait for the event loop or a concurrency slot
still begins within its own interval, so "every AP attempted every interval" holds."""


def stable_hash(key: str) -> int:
    """A 64-bit hash of ``key`` that is the same in every process (see module doc)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


def phase_of(key: str, interval_s: float) -> float:
    """Offset of ``key``'s polls inside each interval, in [0, SPREAD * interval_s)."""
    return stable_hash(key) / _HASH_SPAN * interval_s * SPREAD


def shard_of(key: str, count: int) -> int:
    """The shard (0..count-1) that polls ``key``: ``stable_hash(key) % count``."""
    return stable_hash(key) % count


@dataclass
class IntervalStats:
    """What happened to the polls due in one interval."""

    index: int
    started: float  # monotonic time the interval began
    due: int = 0
    attempted: int = 0  # polls that began within the interval
    late: int = 0  # polls that began only after the interval ended
    skipped_overlap: int = 0
    max_lag_s: float = 0.0  # worst (begin - slot) of the polls attempted in time
    stopped: bool = False  # cut short by a stop: not every slot was reached, not an overrun

    @property
    def overrun(self) -> bool:
        """True if some AP due in this interval was not attempted within it."""
        return not self.stopped and self.attempted < self.due


class Scheduler(Generic[T]):
    """Poll every target once per interval at its own phase; see the module doc.

    ``poll`` does one poll and must bound itself in time (the collector wraps it in its
    deadline); it should not raise, but an exception is logged and does not stop anything.
    ``refresh`` returns the current targets and is awaited at each interval start.
    ``on_interval`` is called with the finished stats of interval k once interval k + 1
    has ended (only then is "attempted within interval k" final).

    ``clock`` defaults to the running event loop's clock (monotonic), the clock its
    timers sleep on: a loop with a virtual clock (tests) then drives the scheduler
    exactly, with no real waiting and no timing tolerance.
    """

    def __init__(
        self,
        *,
        name: str,
        interval_s: float,
        concurrency: int,
        key: Callable[[T], str],
        poll: Callable[[T], Awaitable[None]],
        refresh: Callable[[], Awaitable[Sequence[T]]],
        on_interval: Callable[[IntervalStats], None] | None = None,
        on_skip: Callable[[T], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.name = name
        self.interval_s = interval_s
        self._key = key
        self._poll = poll
        self._refresh = refresh
        self._on_interval = on_interval
        self._on_skip = on_skip
        self._clock = clock or _loop_time
        self._gate = asyncio.Semaphore(concurrency)
        self._busy: set[str] = set()  # keys with a poll waiting or running
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._stats: dict[int, IntervalStats] = {}
        self.skipped_overlap = 0
        self.history: list[IntervalStats] = []  # finished intervals, oldest first (last 100)

    @property
    def in_flight(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return len(self._busy) - self._running

    @property
    def queue_depth(self) -> int:
        """Polls in flight plus polls waiting for a concurrency slot."""
        return len(self._busy)

    async def run(self, stop: asyncio.Event) -> None:
        """Schedule until ``stop`` is set, then let in-flight polls finish (each is bounded
        by its own deadline) and return."""
        start = self._clock()
        index = 0
        try:
            while not stop.is_set():
                interval_start = start + index * self.interval_s
                targets = await self._refresh()
                stats = IntervalStats(index=index, started=interval_start, due=len(targets))
                self._stats[index] = stats
                self._finish_interval(index - 1)
                slots = sorted(
                    (interval_start + phase_of(self._key(t), self.interval_s), self._key(t), t)
                    for t in targets
                )
                for slot, key, target in slots:
                    if await _sleep_until(stop, slot, self._clock):
                        return
                    self._launch(key, target, slot, stats)
                index += 1
                if await _sleep_until(stop, start + index * self.interval_s, self._clock):
                    return
        finally:
            await self.drain()
            self._finish_interval(index - 1)
            if index in self._stats:
                self._stats[index].stopped = True
                self._finish_interval(index)

    def _launch(self, key: str, target: T, slot: float, stats: IntervalStats) -> None:
        if key in self._busy:
            stats.skipped_overlap += 1
            self.skipped_overlap += 1
            if self._on_skip is not None:
                self._on_skip(target)
            return
        self._busy.add(key)
        task = asyncio.get_running_loop().create_task(self._one(key, target, slot, stats))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _one(self, key: str, target: T, slot: float, stats: IntervalStats) -> None:
        try:
            async with self._gate:
                began = self._clock()
                if began < stats.started + self.interval_s:
                    stats.attempted += 1
                    stats.max_lag_s = max(stats.max_lag_s, began - slot)
                else:
                    stats.late += 1
                self._running += 1
                try:
                    await self._poll(target)
                finally:
                    self._running -= 1
        except Exception:
            log.exception("%s: poll of %s failed unexpectedly", self.name, key)
        finally:
            self._busy.discard(key)

    async def drain(self) -> None:
        """Wait for every poll already started."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _finish_interval(self, index: int) -> None:
        stats = self._stats.pop(index, None)
        if stats is None:
            return
        self.history = [*self.history[-99:], stats]
        if stats.overrun:
            log.warning(
                "%s: interval %d overran: %d of %d APs not attempted within %.0fs"
                " (%d skipped because their previous poll was still running)",
                self.name,
                index,
                stats.due - stats.attempted,
                stats.due,
                self.interval_s,
                stats.skipped_overlap,
            )
        if self._on_interval is not None:
            self._on_interval(stats)


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


async def _sleep_until(stop: asyncio.Event, when: float, clock: Callable[[], float]) -> bool:
    """Sleep until ``when`` (on ``clock``); True if ``stop`` was set meanwhile."""
    delay = when - clock()
    if delay > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
    return stop.is_set()
