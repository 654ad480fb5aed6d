"""The collector's batch writer: samples to the metric store, states to the inventory.

Why batches: one write per poll would cost thousands of round trips per interval; one
write per interval would make a sample wait for the slowest AP. :class:`BatchWriter`
writes every ``flush_s`` or ``max_samples``, whichever comes first, so a sample waits
about a second whatever the other APs do.

What it writes to is narrow on purpose: a :class:`SampleSink` (anything with
``write(samples)``, such as a :class:`~timeseries.MetricStore`) and a
:data:`StateRecorder` that stores status updates and state transitions together
(:func:`inventory_recorder` does it in one database transaction). The collector needs
nothing else of the store, so tests and other sinks stand in without pretending to be
a whole store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy import Engine

from collector.selfmetrics import SelfMetrics
from collector.spool import Spool
from core.errors import StoreError, StoreRejected
from core.states import Transition
from inventory.db import transaction
from inventory.queries import ApStatusUpdate, record_status, record_transitions
from timeseries import Sample

log = logging.getLogger(__name__)


class SampleSink(Protocol):
    """Where samples go: the one thing the collector needs of a metric store."""

    def write(self, samples: Sequence[Sample]) -> None:
        """Store ``samples``; raise StoreError (StoreRejected for bad data) on failure."""
        ...


StateRecorder = Callable[[Sequence[ApStatusUpdate], Sequence[Transition]], None]
"""Stores one flush's status updates and state transitions, all or nothing."""


def inventory_recorder(engine: Engine) -> StateRecorder:
    """A recorder writing statuses and transitions in one transaction of ``engine``: an
    AP's state and the event that changed it are never stored one without the other."""

    def record(updates: Sequence[ApStatusUpdate], transitions: Sequence[Transition]) -> None:
        if updates or transitions:
            with transaction(engine) as session:
                record_status(session, updates)
                record_transitions(session, transitions)

    return record


# Replay back-off while the store stays unreachable: 1 s doubling to this bound, so a
# store that returns is written to again within seconds, and a long outage costs one
# cheap failed attempt per bound.
REPLAY_BACKOFF_MIN_S = 1.0
REPLAY_BACKOFF_MAX_S = 10.0
# Writes spent isolating the bad samples of one rejected batch (bisection); past it, what
# is still undecided is rejected whole rather than hammering the store.
ISOLATION_WRITES = 64


def is_rejection(exc: StoreError) -> bool:
    """True if resending the same batch cannot succeed (bad data), False if it may.

    Backends raise StoreRejected for samples their checks refuse and for HTTP 400/422
    answers to a write; anything else (unreachable, timeout, 5xx, 401/403/404, a locked
    file) is transient: spooled and retried, never dropped.
    """
    return isinstance(exc, StoreRejected)


class BatchWriter:
    """Buffers samples and status updates; writes them every ``flush_s`` or as soon as
    ``max_samples`` are waiting.

    Writes run in a worker thread (``asyncio.to_thread``) so a slow store never blocks
    polling. Statuses and transitions go to ``record`` once per flush (one transaction);
    they live in the inventory database, not the metric store, and are written whatever
    the store does. If recording fails (a locked or unreachable database) they are kept
    and recorded with the next flush: status updates carry poll counts as deltas, so
    dropping them would lose counts, and a failed transaction stored none of them.
    Flushes are serialised, so batches reach the store in the order they were filled.

    With a :class:`~collector.spool.Spool`, nothing is dropped for a store outage:

    - a batch refused for a transient reason goes to the spool;
    - while the spool holds anything, new batches go there too (behind it, keeping the
      order), and a replay (oldest first, up to ``max_samples`` per write) is attempted at
      each flush once its back-off has passed: 1 s doubling to 10 s;
    - a batch the store rejects for its data (:func:`is_rejection`) is bisected so only
      the offending samples are refused: each is logged with the store's message (which
      names the sample or line) and counted, never retried;
    - the final flush on stop puts what the store cannot take into the spool; the next
      start replays it before anything new.

    Without a spool (``spool=None``) a failed batch is lost, loudly and counted.
    """

    def __init__(
        self,
        sink: SampleSink,
        record: StateRecorder,
        *,
        max_samples: int = 5000,
        flush_s: float = 1.0,
        on_store_error: Callable[[], None] | None = None,
        spool: Spool | None = None,
        metrics: SelfMetrics | None = None,
        clock: Callable[[], float] | None = None,
        max_kept_states: int = 200_000,
    ) -> None:
        self._sink = sink
        self._record = record
        self.max_samples = max_samples
        self.flush_s = flush_s
        self._on_store_error = on_store_error
        self.spool = spool
        self._metrics = metrics
        self._clock = clock or _loop_time
        self._max_kept_states = max_kept_states
        self._samples: list[Sample] = []
        self._updates: list[ApStatusUpdate] = []
        self._transitions: list[Transition] = []
        self._full = asyncio.Event()
        self._lock = asyncio.Lock()
        self._next_replay = 0.0  # clock time of the next replay attempt
        self._backoff_s = REPLAY_BACKOFF_MIN_S
        self.flushes = 0
        self.samples_written = 0  # reached the store, directly or by replay
        self.samples_lost = 0  # failed without a spool
        self.samples_spooled = 0
        self.samples_replayed = 0
        self.samples_rejected = 0
        self.states_lost = 0  # status updates and transitions dropped past max_kept_states
        self._show_spool()

    @property
    def pending(self) -> int:
        return len(self._samples)

    @property
    def spooled(self) -> int:
        """Samples waiting in the spool."""
        return self.spool.samples if self.spool is not None else 0

    def add(
        self,
        sample: Sample | None = None,
        update: ApStatusUpdate | None = None,
        transition: Transition | None = None,
    ) -> None:
        if sample is not None:
            self._samples.append(sample)
            if len(self._samples) >= self.max_samples:
                self._full.set()
        if update is not None:
            self._updates.append(update)
        if transition is not None:
            self._transitions.append(transition)

    async def flush(self) -> bool:
        """Write what is buffered (and replay the spool when due); False if samples of
        this flush did not reach the store (spooled, or lost without a spool)."""
        async with self._lock:
            samples, self._samples = self._samples, []
            updates, self._updates = self._updates, []
            transitions, self._transitions = self._transitions, []
            self._full.clear()
            spool = self.spool
            if (
                not samples
                and not updates
                and not transitions
                and not (spool is not None and spool.batches)
            ):
                return True
            self.flushes += 1
            ok = True
            if spool is not None and spool.batches and self._clock() >= self._next_replay:
                await self._replay(spool)
            if samples:
                ok = await self._deliver(samples)
            if updates or transitions:
                await self._record_states(updates, transitions)
            self._show_spool()
            return ok

    async def _record_states(
        self, updates: list[ApStatusUpdate], transitions: list[Transition]
    ) -> None:
        try:
            await asyncio.to_thread(self._record, updates, transitions)
        except Exception as exc:
            # Kept, in front of what came since, for the next flush (see class doc).
            self._updates[:0] = updates
            self._transitions[:0] = transitions
            log.error(
                "recording %d AP states and %d state changes failed, retried at the next flush: %s",
                len(updates),
                len(transitions),
                exc,
            )
            self._bound_kept_states()

    def _bound_kept_states(self) -> None:
        """Past ``max_kept_states`` (a database down for hours), drop the oldest."""
        excess = len(self._updates) + len(self._transitions) - self._max_kept_states
        if excess <= 0:
            return
        from_updates = min(excess, len(self._updates))
        del self._updates[:from_updates]
        del self._transitions[: excess - from_updates]
        self.states_lost += excess
        log.error("%d AP status updates or state changes dropped, oldest first", excess)

    async def _deliver(self, samples: list[Sample]) -> bool:
        spool = self.spool
        if spool is not None and spool.batches:
            await self._to_spool(spool, samples)  # behind older batches: keeps the order
            return False
        try:
            await self._store(samples)
        except StoreError as exc:
            self._failed_write()
            if spool is None:
                self.samples_lost += len(samples)
                log.error("metric store write failed, %d samples lost: %s", len(samples), exc)
                return False
            log.warning(
                "metric store write failed, spooling %d samples to %s: %s",
                len(samples),
                spool.directory,
                exc,
            )
            await self._to_spool(spool, samples)
            self._backoff_s = REPLAY_BACKOFF_MIN_S
            self._next_replay = self._clock() + self._backoff_s
            return False
        self.samples_written += len(samples)
        return True

    async def _to_spool(self, spool: Spool, samples: list[Sample]) -> None:
        try:
            await asyncio.to_thread(spool.append, samples)
        except OSError as exc:  # a full or read-only disk: the one way left to lose data
            self.samples_lost += len(samples)
            log.error(
                "spooling %d samples to %s failed, lost: %s", len(samples), spool.directory, exc
            )
            return
        self.samples_spooled += len(samples)
        if self._metrics is not None:
            self._metrics.spooled.inc(len(samples))

    async def _replay(self, spool: Spool) -> None:
        """Write spooled batches oldest first until the spool is empty or a write fails."""
        while spool.batches:
            batch = await asyncio.to_thread(spool.head, self.max_samples)
            if batch is None:
                break  # only unreadable batches were left (set aside and counted)
            try:
                await self._store(batch.samples)
            except StoreError as exc:
                self._failed_write()
                self._backoff_s = min(self._backoff_s * 2, REPLAY_BACKOFF_MAX_S)
                self._next_replay = self._clock() + self._backoff_s
                log.info(
                    "replay of %d spooled samples failed (%s); next attempt in %.0f s",
                    spool.samples,
                    exc,
                    self._backoff_s,
                )
                return
            await asyncio.to_thread(spool.remove, batch.seqs)
            count = len(batch.samples)
            self.samples_replayed += count
            self.samples_written += count
            if self._metrics is not None:
                self._metrics.replayed.inc(count)
            self._show_spool()
        self._backoff_s = REPLAY_BACKOFF_MIN_S
        if self.samples_replayed:
            log.info("spool empty: %d spooled samples replayed so far", self.samples_replayed)

    async def _store(self, samples: list[Sample]) -> None:
        """Write ``samples``; rejected (bad) samples are isolated, logged and counted.

        Raises StoreError for a transient failure, possibly after part of the batch was
        written; the caller then spools the whole batch, and its replay rewrites those
        points with the same values (the stores keep one value per series and time).
        """
        try:
            await asyncio.to_thread(self._sink.write, samples)
            return
        except StoreError as exc:
            if not is_rejection(exc):
                raise
            rejected: list[tuple[list[Sample], StoreError]] = [(samples, exc)]
        budget = ISOLATION_WRITES
        while rejected:
            part, why = rejected.pop(0)
            if len(part) == 1 or budget <= 0:
                self._reject(part, why)
                continue
            middle = len(part) // 2
            for half in (part[:middle], part[middle:]):
                budget -= 1
                try:
                    await asyncio.to_thread(self._sink.write, half)
                except StoreError as exc:
                    if not is_rejection(exc):
                        raise
                    rejected.append((half, exc))

    def _reject(self, samples: list[Sample], exc: StoreError) -> None:
        self.samples_rejected += len(samples)
        if self._metrics is not None:
            self._metrics.rejected.inc(len(samples))
        log.error(
            "the metric store rejected %d sample(s) as bad data; not retried: %s; first: %r",
            len(samples),
            exc,
            samples[0],
        )

    def _failed_write(self) -> None:
        if self._on_store_error is not None:
            self._on_store_error()

    def _show_spool(self) -> None:
        if self._metrics is not None and self.spool is not None:
            self._metrics.spool_depth.set(self.spool.samples)
            self._metrics.spool_batches.set(self.spool.batches)

    def close(self) -> None:
        """Release the spool directory (its batches stay for the next start)."""
        if self.spool is not None:
            self.spool.close()

    async def run(self, stop: asyncio.Event) -> None:
        """Flush on size or time until ``stop`` is set, then flush what is left."""
        while not stop.is_set():
            waiters = [
                asyncio.ensure_future(self._full.wait()),
                asyncio.ensure_future(stop.wait()),
            ]
            try:
                await asyncio.wait(waiters, timeout=self.flush_s, return_when="FIRST_COMPLETED")
            finally:
                for waiter in waiters:
                    waiter.cancel()
            await self.flush()
        # The last flush: what the store cannot take now stays in the spool, replayed at
        # the next start (no extra replay attempt here, which could hold up a shutdown
        # for a whole write timeout).
        await self.flush()


def _loop_time() -> float:
    return asyncio.get_running_loop().time()
