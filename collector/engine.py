"""The poll loop: every enabled AP polled once per interval at its own phase.

Why it is shaped this way: a cycle that fires every poll at once and writes one batch
after the slowest AP has answered makes bursts and lets a 2-5 s slow AP delay everyone's
samples (Telegraf #3823). Here :class:`~collector.scheduler.Scheduler` spreads polls over
the interval (a stable phase per AP), never runs two polls of one AP at once, and bounds
concurrency; each poll is bounded by ``poll_deadline_s``. Results go to a
:class:`BatchWriter` that writes samples and statuses every ``write_flush_s`` or
``write_batch_size`` samples, whichever comes first, so a sample waits about a second
whatever the other APs do.

SSH polling (:mod:`collector.ssh_poll`) runs beside it on its own slower interval in a
bounded thread pool; its results are extra samples of the same measurement and tags, and
its failures never touch an AP's up/down state.

:meth:`Collector.run_cycle` keeps the one-shot form (poll everything now, wait, flush):
``--once`` and tests use it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter as Tally
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Engine, select

from collector import profiles
from collector.derive import CounterReading
from collector.health import ApHealth
from collector.poll import Layout, PollResult, poll_ap
from collector.scheduler import IntervalStats, Scheduler, shard_of
from collector.selfmetrics import SelfMetrics
from collector.snmp import PysnmpScraper, Scraper, SnmpTarget
from collector.spool import Spool
from collector.ssh_poll import (
    SshCommand,
    SshProfile,
    SshResult,
    SshTarget,
    commands_to_run,
    poll_ssh,
    ssh_profile,
)
from core.errors import StoreError, StoreRejected
from core.settings import Settings
from inventory.db import transaction
from inventory.models import ApStatus
from inventory.queries import ApStatusUpdate, PollTarget, enabled_aps, record_status
from timeseries import AP_MEASUREMENT, MetricStore, Sample

log = logging.getLogger(__name__)

SshPoller = Callable[[SshTarget, SshProfile, Sequence[SshCommand], float], SshResult]


@dataclass(frozen=True, slots=True)
class CycleReport:
    started: float
    duration_s: float
    attempted: int
    answered: int
    failed: int
    skipped: int  # APs that cannot be polled as configured (e.g. a v3 profile without keys)
    metric_errors: int
    store_ok: bool


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
    polling. Statuses go in one transaction per flush (``record_status`` upserts in bulk);
    they live in the inventory database, not the metric store, and are written whatever
    the store does. Flushes are serialised, so batches reach the store in the order they
    were filled.

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
        write_samples: Callable[[Sequence[Sample]], None],
        write_statuses: Callable[[Sequence[ApStatusUpdate]], None],
        *,
        max_samples: int = 5000,
        flush_s: float = 1.0,
        on_store_error: Callable[[], None] | None = None,
        spool: Spool | None = None,
        metrics: SelfMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write_samples = write_samples
        self._write_statuses = write_statuses
        self.max_samples = max_samples
        self.flush_s = flush_s
        self._on_store_error = on_store_error
        self.spool = spool
        self._metrics = metrics
        self._clock = clock
        self._samples: list[Sample] = []
        self._updates: list[ApStatusUpdate] = []
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
        self._show_spool()

    @property
    def pending(self) -> int:
        return len(self._samples)

    @property
    def spooled(self) -> int:
        """Samples waiting in the spool."""
        return self.spool.samples if self.spool is not None else 0

    def add(self, sample: Sample | None = None, update: ApStatusUpdate | None = None) -> None:
        if sample is not None:
            self._samples.append(sample)
            if len(self._samples) >= self.max_samples:
                self._full.set()
        if update is not None:
            self._updates.append(update)

    async def flush(self) -> bool:
        """Write what is buffered (and replay the spool when due); False if samples of
        this flush did not reach the store (spooled, or lost without a spool)."""
        async with self._lock:
            samples, self._samples = self._samples, []
            updates, self._updates = self._updates, []
            self._full.clear()
            spool = self.spool
            if not samples and not updates and not (spool is not None and spool.batches):
                return True
            self.flushes += 1
            ok = True
            if spool is not None and spool.batches and self._clock() >= self._next_replay:
                await self._replay(spool)
            if samples:
                ok = await self._deliver(samples)
            if updates:
                try:
                    await asyncio.to_thread(self._write_statuses, updates)
                except Exception:
                    log.exception("recording %d AP states failed", len(updates))
            self._show_spool()
            return ok

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
            await asyncio.to_thread(self._write_samples, samples)
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
                    await asyncio.to_thread(self._write_samples, half)
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


def outcome_of(result: PollResult) -> str:
    """ok, timeout (no answer) or error (any other failure), for the poll counter."""
    if result.ok:
        return "ok"
    error = (result.error or "").lower()
    return "timeout" if "timeout" in error or "no answer" in error else "error"


class Collector:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        store: MetricStore,
        scraper: Scraper | None = None,
        *,
        metrics: SelfMetrics | None = None,
        ssh_poller: SshPoller = poll_ssh,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.store = store
        self._scraper = scraper
        self.metrics = metrics or SelfMetrics()
        self._ssh_poller = ssh_poller
        self._ssh_pool: ThreadPoolExecutor | None = None
        self._health: dict[str, ApHealth] = {}
        self._readings: dict[str, CounterReading] = {}
        self._layouts: dict[str, Layout] = {}  # per AP: read static tables by GET
        self._profiles: dict[str, str] = {}  # detected profile per AP whose profile is auto
        self._snmp_fields: dict[str, dict[str, float]] = {}  # last SNMP fields per AP
        self._loaded_state = False
        self._said_skipped = False
        self._shard = settings.shard_index_count
        spool = Spool(
            settings.spool_path,
            settings.spool_max_bytes,
            on_drop=self.metrics.spool_dropped.inc,
        )
        self.writer = BatchWriter(
            store.write,
            self._record,
            max_samples=settings.write_batch_size,
            flush_s=settings.write_flush_s,
            on_store_error=self.metrics.store_write_errors.inc,
            spool=spool,
            metrics=self.metrics,
        )
        self.snmp_scheduler: Scheduler[PollTarget] | None = None
        self.ssh_scheduler: Scheduler[PollTarget] | None = None
        self.ssh_outcomes: Tally[str] = Tally()
        self.ssh_mismatches = 0
        self._interval_tally: Tally[str] = Tally()
        self._current: list[PollTarget] = []  # the inventory as last read by the scheduler
        self._first_refresh = asyncio.Event()

    @property
    def scraper(self) -> Scraper:
        # Created lazily inside the running loop: pysnmp binds its dispatcher to it.
        if self._scraper is None:
            self._scraper = PysnmpScraper()
        return self._scraper

    def close(self) -> None:
        self.writer.close()
        if self._scraper is not None:
            self._scraper.close()
        if self._ssh_pool is not None:
            self._ssh_pool.shutdown(wait=False, cancel_futures=True)
            self._ssh_pool = None
        self.metrics.close()

    def _record(self, updates: Sequence[ApStatusUpdate]) -> None:
        """One transaction for a whole flush's states."""
        if updates:
            with transaction(self.engine) as session:
                record_status(session, updates)

    # --- inventory ---------------------------------------------------------------------

    def _load_state(self) -> None:
        """Carry state across restarts, so "down since" survives a collector restart."""
        with transaction(self.engine) as session:
            for row in session.scalars(select(ApStatus)):
                self._health[row.ap_id] = ApHealth(
                    state=row.state,
                    since=row.since,
                    last_seen=row.last_seen,
                    last_poll=row.last_poll,
                    failures=row.consecutive_failures,
                    last_error=row.last_error,
                    attempted=row.polls_attempted,
                    answered=row.polls_ok,
                )
                if row.detected_profile:
                    self._profiles[row.ap_id] = row.detected_profile
        self._loaded_state = True

    def _targets(self) -> list[PollTarget]:
        """This shard's enabled APs (all of them with the default shard 0/1)."""
        with transaction(self.engine) as session:
            targets = enabled_aps(session)
        index, count = self._shard
        if count == 1:
            return targets
        return [ap for ap in targets if shard_of(ap.ap_id, count) == index]

    def _snmp_target(self, ap: PollTarget) -> SnmpTarget | None:
        """The SNMP target for an AP, or None when its credentials cannot work (a v2c
        profile without community, a v3 one without user or keys): polling it would only
        produce a misleading 'down'."""
        timeout_s, retries = self.settings.snmp_timeout_s, self.settings.snmp_retries
        if ap.snmp_version == "2c":
            if not ap.community:
                return None
            return SnmpTarget(ap.host, ap.snmp_port, ap.community, timeout_s, retries)
        if ap.snmp_version == "3":
            if not ap.user or not ap.auth_key or (ap.priv_protocol and not ap.priv_key):
                return None
            return SnmpTarget(
                ap.host,
                ap.snmp_port,
                "",
                timeout_s,
                retries,
                user=ap.user,
                auth_protocol=ap.auth_protocol or "SHA",
                auth_key=ap.auth_key,
                priv_protocol=ap.priv_protocol if ap.priv_key else None,
                priv_key=ap.priv_key,
            )
        return None

    def _say_skipped(self, skipped: int) -> None:
        if skipped and not self._said_skipped:
            self._said_skipped = True
            log.warning(
                "%d APs have incomplete SNMP credentials (no community, or a v3 profile"
                " without user or keys) and are not polled; they stay 'unknown'",
                skipped,
            )

    # --- one SNMP poll -----------------------------------------------------------------

    def _profile_name(self, ap: PollTarget) -> str | None:
        return ap.profile if ap.profile != profiles.AUTO else self._profiles.get(ap.ap_id)

    async def _poll(self, ap: PollTarget, target: SnmpTarget) -> PollResult:
        """One poll, bounded by ``poll_deadline_s`` whatever the device does."""
        name = self._profile_name(ap)
        profile = profiles.get(name) if name else None
        started = time.monotonic()
        deadline = self.settings.poll_deadline_s
        try:
            result = await asyncio.wait_for(
                poll_ap(
                    self.scraper,
                    target,
                    profile,
                    self._readings.get(ap.ap_id),
                    self._layouts.get(ap.ap_id),
                ),
                deadline,
            )
        except TimeoutError:
            result = PollResult(
                False,
                {"reachable": 0.0},
                profile.name if profile else profiles.AUTO,
                error=f"{ap.host}:{ap.snmp_port}: no complete answer within {deadline:g}s"
                " (timeout)",
            )
        self.metrics.poll_duration.observe(time.monotonic() - started)
        self.metrics.polls.labels(result.profile, outcome_of(result)).inc()
        if result.errors:
            self.metrics.metric_errors.labels(result.profile).inc(result.errors)
        return result

    def _tags(self, ap: PollTarget, profile: str) -> dict[str, str]:
        return {
            "ap": ap.ap_id,
            "site": ap.site_id,
            "district": ap.district_id or "",
            "partner": ap.partner_id or "",
            "profile": profile,
        }

    def _apply(self, ap: PollTarget, result: PollResult, now: float) -> None:
        """Update health and state from one poll; queue its sample and status."""
        health = self._health.setdefault(ap.ap_id, ApHealth())
        if health.observe(result.ok, now, self.settings.down_after_failures, result.error):
            log.info(
                "AP %s is now %s%s",
                ap.ap_id,
                health.state,
                f" ({result.error})" if result.error else "",
            )
        if result.ok:
            self._snmp_fields[ap.ap_id] = result.fields
            if result.reading is not None:
                self._readings[ap.ap_id] = result.reading
            if result.layout is not None:
                self._layouts[ap.ap_id] = result.layout
            else:
                self._layouts.pop(ap.ap_id, None)
            if ap.profile == profiles.AUTO:
                self._profiles[ap.ap_id] = result.profile
        sample = Sample(
            measurement=AP_MEASUREMENT,
            tags=self._tags(ap, result.profile),
            fields=result.fields,
            ts=result.reading.ts if result.reading else now,
        )
        update = ApStatusUpdate(
            ap_id=ap.ap_id,
            state=health.state,
            since=health.since,
            last_seen=health.last_seen,
            last_poll=health.last_poll,
            consecutive_failures=health.failures,
            detected_profile=self._profiles.get(ap.ap_id, result.profile),
            last_error=health.last_error,
            polls_attempted=health.attempted,
            polls_ok=health.answered,
        )
        self.writer.add(sample, update)

    # --- one-shot cycle ------------------------------------------------------------------

    async def run_cycle(self) -> CycleReport:
        """Poll every AP now (bounded concurrency), wait for all, flush: ``--once``."""
        if not self._loaded_state:
            await asyncio.to_thread(self._load_state)
        started = time.time()
        aps = await asyncio.to_thread(self._targets)
        pollable = [(ap, self._snmp_target(ap)) for ap in aps]
        targets = [(ap, t) for ap, t in pollable if t is not None]
        skipped = len(aps) - len(targets)
        gate = asyncio.Semaphore(self.settings.poll_concurrency)

        async def one(ap: PollTarget, target: SnmpTarget) -> PollResult:
            async with gate:
                return await self._poll(ap, target)

        results = await asyncio.gather(*(one(ap, t) for ap, t in targets))
        now = time.time()
        answered = failed = metric_errors = 0
        for (ap, _), result in zip(targets, results, strict=True):
            self._apply(ap, result, now)
            if result.ok:
                answered += 1
                metric_errors += result.errors
            else:
                failed += 1
        self._say_skipped(skipped)
        store_ok = await self.writer.flush()
        report = CycleReport(
            started=started,
            duration_s=time.time() - started,
            attempted=len(targets),
            answered=answered,
            failed=failed,
            skipped=skipped,
            metric_errors=metric_errors,
            store_ok=store_ok,
        )
        log.info(
            "cycle: %d polled, %d answered, %d failed, %d skipped, %d metric errors, %.2fs",
            report.attempted,
            answered,
            failed,
            skipped,
            metric_errors,
            report.duration_s,
        )
        return report

    # --- SSH -----------------------------------------------------------------------------

    def _ssh_candidate(self, ap: PollTarget) -> bool:
        """Has SSH credentials, and a profile that has (or, if auto, may have) commands."""
        if not ap.ssh_username or not (ap.ssh_password or ap.ssh_key_file):
            return False
        return ap.profile == profiles.AUTO or ssh_profile(ap.profile) is not None

    @property
    def ssh_pool(self) -> ThreadPoolExecutor:
        if self._ssh_pool is None:
            self._ssh_pool = ThreadPoolExecutor(
                max_workers=self.settings.ssh_workers, thread_name_prefix="citywifi-ssh"
            )
        return self._ssh_pool

    async def _ssh_one(self, ap: PollTarget) -> SshResult | None:
        """SSH-poll one AP if its (detected) profile has commands; None if it has none."""
        profile = ssh_profile(self._profile_name(ap))
        if profile is None:
            return None
        snmp_fields = self._snmp_fields.get(ap.ap_id, {})
        commands = commands_to_run(profile, snmp_fields)
        if not commands:
            return None
        assert ap.ssh_username is not None  # _ssh_candidate
        target = SshTarget(ap.host, ap.ssh_port, ap.ssh_username, ap.ssh_password, ap.ssh_key_file)
        timeout = self.settings.ssh_timeout_s
        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(
            self.ssh_pool, self._ssh_poller, target, profile, commands, timeout
        )
        try:
            # netmiko bounds each step by ``timeout``; this bounds the whole session.
            result = await asyncio.wait_for(job, timeout * (len(commands) + 3))
        except TimeoutError:
            result = SshResult("timeout", error=f"SSH session exceeded its bound ({timeout:g}s)")
        self.ssh_outcomes[result.outcome] += 1
        self.metrics.ssh_polls.labels(result.outcome).inc()
        if not result.ok:
            # Counted and logged only: SSH trouble never changes the AP's up/down state.
            log.warning("SSH poll of %s failed (%s): %s", ap.ap_id, result.outcome, result.error)
            return result
        if result.parse_errors:
            self.metrics.metric_errors.labels(profile.name).inc(result.parse_errors)
        snmp_clients = snmp_fields.get("clients")
        ssh_clients = result.checks.get("clients")
        if snmp_clients is not None and ssh_clients is not None and snmp_clients != ssh_clients:
            self.ssh_mismatches += 1
            log.info(
                "AP %s: %g clients over SNMP, %g over SSH (cross-check; SNMP kept)",
                ap.ap_id,
                snmp_clients,
                ssh_clients,
            )
        if result.fields:
            self.writer.add(
                Sample(
                    measurement=AP_MEASUREMENT,
                    tags=self._tags(ap, profile.name),
                    fields=result.fields,
                    ts=time.time(),
                )
            )
        return result

    async def _close_ssh_pool(self) -> None:
        """Let running SSH sessions end (each bounded by netmiko's timeouts) while the
        event loop is still alive to receive their results; drop queued ones."""
        pool, self._ssh_pool = self._ssh_pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    async def ssh_cycle(self) -> Tally[str]:
        """SSH-poll every candidate AP once now and flush; outcome counts (``--once``)."""
        aps = [ap for ap in await asyncio.to_thread(self._targets) if self._ssh_candidate(ap)]
        gate = asyncio.Semaphore(self.settings.ssh_workers)
        before = Tally(self.ssh_outcomes)

        async def one(ap: PollTarget) -> None:
            async with gate:
                await self._ssh_one(ap)

        await asyncio.gather(*(one(ap) for ap in aps))
        await self.writer.flush()
        return self.ssh_outcomes - before

    # --- the scheduled loop --------------------------------------------------------------

    async def _refresh_snmp(self) -> list[PollTarget]:
        aps = await asyncio.to_thread(self._targets)
        pollable = [ap for ap in aps if self._snmp_target(ap) is not None]
        self._say_skipped(len(aps) - len(pollable))
        self._current = aps
        self._first_refresh.set()
        return pollable

    async def _refresh_ssh(self) -> list[PollTarget]:
        return [ap for ap in self._current if self._ssh_candidate(ap)]

    async def _scheduled_poll(self, ap: PollTarget) -> None:
        target = self._snmp_target(ap)
        if target is None:
            return
        result = await self._poll(ap, target)
        self._interval_tally["answered" if result.ok else "failed"] += 1
        self._apply(ap, result, time.time())

    async def _scheduled_ssh(self, ap: PollTarget) -> None:
        await self._ssh_one(ap)

    def _interval_done(self, stats: IntervalStats) -> None:
        self.metrics.cycle_lag.set(stats.max_lag_s)
        if stats.overrun:
            self.metrics.overruns.inc()
        tally, self._interval_tally = self._interval_tally, Tally()
        log.info(
            "interval %d: %d due, %d attempted in time, %d answered, %d failed,"
            " %d skipped (overlap), max lag %.2fs",
            stats.index,
            stats.due,
            stats.attempted,
            tally["answered"],
            tally["failed"],
            stats.skipped_overlap,
            stats.max_lag_s,
        )

    async def run(self, *, once: bool = False, stop: asyncio.Event | None = None) -> None:
        """Poll until ``stop`` is set (or everything once, SNMP then SSH).

        On stop: no new polls start, in-flight ones finish (each bounded by its deadline),
        then samples and statuses are flushed.
        """
        stop = stop or asyncio.Event()
        if not self._loaded_state:
            await asyncio.to_thread(self._load_state)
        if once:
            await self.run_cycle()
            if not stop.is_set():
                try:
                    await self.ssh_cycle()
                finally:
                    await self._close_ssh_pool()
            return
        self.snmp_scheduler = Scheduler(
            name="snmp",
            interval_s=self.settings.poll_interval_s,
            concurrency=self.settings.poll_concurrency,
            key=lambda ap: ap.ap_id,
            poll=self._scheduled_poll,
            refresh=self._refresh_snmp,
            on_interval=self._interval_done,
            on_skip=lambda ap: self.metrics.skipped_overlap.inc(),
        )
        self.ssh_scheduler = Scheduler(
            name="ssh",
            interval_s=self.settings.ssh_poll_interval_s,
            concurrency=self.settings.ssh_workers,
            key=lambda ap: ap.ap_id,
            poll=self._scheduled_ssh,
            refresh=self._refresh_ssh,
        )
        snmp = self.snmp_scheduler
        self.metrics.track_queue_depth(lambda: snmp.queue_depth)
        writer_stop = asyncio.Event()
        writer = asyncio.create_task(self.writer.run(writer_stop))
        try:
            await asyncio.gather(snmp.run(stop), self._run_ssh_after_first_snmp(stop))
        finally:
            await self._close_ssh_pool()
            writer_stop.set()
            await writer
        w = self.writer
        log.info(
            "collector stopped: %d samples written (%d of them replayed from the spool),"
            " %d left in the spool, %d rejected as bad data, %d lost",
            w.samples_written,
            w.samples_replayed,
            w.spooled,
            w.samples_rejected,
            w.samples_lost + (w.spool.dropped_samples if w.spool is not None else 0),
        )

    async def _run_ssh_after_first_snmp(self, stop: asyncio.Event) -> None:
        """Start SSH once SNMP has had one pass at the targets (its first refresh), so the
        SSH scheduler has a target list; APs whose profile is still undetected at their
        SSH slot are simply left for the next SSH interval."""
        waiters = [
            asyncio.ensure_future(self._first_refresh.wait()),
            asyncio.ensure_future(stop.wait()),
        ]
        try:
            await asyncio.wait(waiters, return_when="FIRST_COMPLETED")
        finally:
            for waiter in waiters:
                waiter.cancel()
        if stop.is_set():
            return
        assert self.ssh_scheduler is not None
        await self.ssh_scheduler.run(stop)
