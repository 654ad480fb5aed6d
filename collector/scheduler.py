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

Two options serve collectors that share the APs through leases (:mod:`collector.leases`):

* ``aligned``: interval k is ``[k·I, (k+1)·I)`` on the given clock (the wall clock, in
  epoch seconds), the same in every process, instead of starting when the scheduler
  starts. A run that begins mid-interval polls only the slots still ahead in that first
  interval: the APs whose slot has passed may have been polled in it by another
  collector. Having fallen more than an interval behind (a stalled process), it skips to
  the current interval rather than catching up on slots that are no longer its own.
* ``admit(target, slot)``: asked as each poll is about to begin (after its concurrency
  slot); False skips the poll (not counted as due). The collector answers with its local
  lease deadline, so a poll that would start after the lease ran out never starts.

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
import math
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
    not_admitted: int = 0  # polls ``admit`` refused (a lease that no longer covers the slot)
    max_lag_s: float = 0.0  # worst (begin - slot) of the polls attempted in time
    stopped: bool = False  # cut short by a stop: not every slot was reached, not an overrun

    @property
    def overrun(self) -> bool:
        """True if some AP due in this interval was not attempted within it."""
        return not self.stopped and self.attempted < self.due


class Scheduler(Generic[T]):
    """Poll every target once per interval at its own phase; see the module doc.

    ``poll`` does one poll, given the target and the slot it is for, and must bound
    itself in time (the collector wraps it in its deadline); it should not raise, but an
    exception is logged and does not stop anything.
    ``refresh`` returns the current targets and is awaited at each interval start.
    ``on_interval`` is called with the finished stats of interval k once interval k + 1
    has ended (only then is "attempted within interval k" final).

    ``clock`` defaults to the running event loop's clock (monotonic), the clock its
    timers sleep on: a loop with a virtual clock (tests) then drives the scheduler
    exactly, with no real waiting and no timing tolerance. Any other clock (the wall
    clock of an ``aligned`` scheduler) works too: every wait is computed on it and
    re-checked after the loop's timer fires.

    ``aligned`` and ``admit``: see the module doc. While ``refresh`` is awaited,
    :attr:`interval_start` is the first slot the interval may poll (its boundary, or the
    moment an aligned run began mid-interval) and :attr:`interval_end` its end.
    """

    def __init__(
        self,
        *,
        name: str,
        interval_s: float,
        concurrency: int,
        key: Callable[[T], str],
        poll: Callable[[T, float], Awaitable[None]],
        refresh: Callable[[], Awaitable[Sequence[T]]],
        on_interval: Callable[[IntervalStats], None] | None = None,
        on_skip: Callable[[T], None] | None = None,
        clock: Callable[[], float] | None = None,
        aligned: bool = False,
        admit: Callable[[T, float], bool] | None = None,
    ) -> None:
        self.name = name
        self.interval_s = interval_s
        self._key = key
        self._poll = poll
        self._refresh = refresh
        self._on_interval = on_interval
        self._on_skip = on_skip
        self._clock = clock or _loop_time
        self.aligned = aligned
        self._admit = admit
        self.interval_start = 0.0
        self.interval_end = 0.0
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
        began = self._clock()
        # Interval n starts at start + n·I: from now, or (aligned) from the boundary k0·I
        # the clock is in, counted in whole intervals so every process gets the same floats.
        k0 = math.floor(began / self.interval_s) if self.aligned else 0
        index = 0
        try:
            while not stop.is_set():
                if self.aligned:
                    behind = math.floor(self._clock() / self.interval_s) - k0
                    index = max(index, behind)  # a stall: skip to the current interval
                    interval_start = (k0 + index) * self.interval_s
                    self.interval_end = (k0 + index + 1) * self.interval_s
                    self.interval_start = max(interval_start, began)
                else:
                    interval_start = began + index * self.interval_s
                    self.interval_start = interval_start
                    self.interval_end = interval_start + self.interval_s
                first_slot = self.interval_start
                targets = await self._refresh()
                slots = sorted(
                    (interval_start + phase_of(self._key(t), self.interval_s), self._key(t), t)
                    for t in targets
                )
                slots = [s for s in slots if s[0] >= first_slot]
                stats = IntervalStats(index=index, started=interval_start, due=len(slots))
                self._stats[index] = stats
                self._finish_before(index)
                for slot, key, target in slots:
                    if await _sleep_until(stop, slot, self._clock):
                        return
                    self._launch(key, target, slot, stats)
                index += 1
                if await _sleep_until(stop, self._start_of(k0, index, began), self._clock):
                    return
        finally:
            await self.drain()
            self._finish_before(index)
            if index in self._stats:
                self._stats[index].stopped = True
                self._finish_interval(index)

    def _start_of(self, k0: int, index: int, began: float) -> float:
        if self.aligned:
            return (k0 + index) * self.interval_s
        return began + index * self.interval_s

    def _finish_before(self, index: int) -> None:
        """Finish every interval before ``index`` still open (one, unless an aligned
        scheduler skipped ahead)."""
        for earlier in sorted(i for i in self._stats if i < index):
            self._finish_interval(earlier)

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
                if self._admit is not None and not self._admit(target, slot):
                    stats.due -= 1
                    stats.not_admitted += 1
                    return
                began = self._clock()
                if began < stats.started + self.interval_s:
                    stats.attempted += 1
                    stats.max_lag_s = max(stats.max_lag_s, began - slot)
                else:
                    stats.late += 1
                self._running += 1
                try:
                    await self._poll(target, slot)
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


_WAKE_CHECKS = 3
"""Waits per :func:`_sleep_until`: the first, and re-waits for a timer that fired early
(bounded: a delay below the clock's resolution would never be slept away)."""


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


async def _sleep_until(stop: asyncio.Event, when: float, clock: Callable[[], float]) -> bool:
    """Sleep until ``when`` (on ``clock``); True if ``stop`` was set meanwhile. The wait
    is re-checked on ``clock``: the loop's timer runs on its own (monotonic) clock and may
    wake a hair before ``when`` on another one, and an aligned interval must never be
    begun before its boundary."""
    for _ in range(_WAKE_CHECKS):
        delay = when - clock()
        if delay <= 0 or stop.is_set():
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
    return stop.is_set()
