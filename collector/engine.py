"""The poll loop: every enabled AP polled once per interval at its own phase.

Why it is shaped this way: a cycle that fires every poll at once and writes one batch
after the slowest AP has answered makes bursts and lets a 2-5 s slow AP delay everyone's
samples (Telegraf #3823). Here :class:`~collector.scheduler.Scheduler` spreads polls over
the interval (a stable phase per AP), never runs two polls of one AP at once, and bounds
concurrency; each poll is bounded by ``poll_deadline_s``. Results go to a
:class:`~collector.writer.BatchWriter`, so a sample waits about a second whatever the
other APs do.

The parts, one module each: the writer and its spool (:mod:`collector.writer`), SSH
polling on its own slower interval (:mod:`collector.ssh_runner`), and what is kept per AP
between polls (:mod:`collector.record`). This module reads the inventory, turns each AP
into an SNMP target (:func:`collector.snmp.build_target`), polls, and turns each result
into a sample, a status update (its poll as a counter delta) and, when the AP's state
changed, a :class:`~core.states.Transition`, all three written by the writer, the last
two in one transaction. With each inventory read (at most once a minute) it also
queues one ``site`` sample per polled site, its names and coordinates
(:mod:`collector.siteinfo`), for dashboards to join to the ``ap`` series.

:meth:`Collector.run_cycle` keeps the one-shot form (poll everything now, wait, flush):
``--once`` and tests use it. It never uses leases: it polls every enabled AP of its shard.

**Sharing the APs** (issue 15): given a :class:`~collector.leases.LeaseKeeper` (what
``citywifi collect`` does for the default shard ``0/1``), the scheduled loop runs on the
wall clock with intervals aligned to it, runs the lease cycle at each interval start
before reading its targets, polls only the APs it holds, and each only while its own
lease covers the slot (the rules: :mod:`inventory.leases`, :mod:`collector.leases`); a
poll answered past that local deadline is dropped, not written (the AP may be another
collector's by then). Newly claimed APs load their stored status first; a graceful stop
drains, flushes, then gives the leases up. Without a keeper (a static ``--shard i/n``,
or a program driving the class itself) it polls every AP of its shard as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter as Tally
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, select

from collector import profiles
from collector.leases import LeaseKeeper
from collector.poll import PollResult, poll_ap
from collector.record import ApRecord, ApRecords, ap_sample
from collector.scheduler import IntervalStats, Scheduler, shard_of
from collector.selfmetrics import SelfMetrics
from collector.siteinfo import SiteInfo, SiteInfoPacer, site_info_sample, site_infos
from collector.snmp import NetworkScraper, Scraper, SnmpTarget, build_target
from collector.spool import Spool
from collector.ssh_poll import poll_ssh
from collector.ssh_runner import SshPoller, SshRunner, ssh_candidate
from collector.writer import BatchWriter, SampleSink, inventory_recorder
from core.errors import ConfigError
from core.settings import Settings
from core.states import PollCause
from inventory.db import transaction
from inventory.models import ApStatus
from inventory.queries import PollTarget, enabled_aps
from inventory.secretbox import SecretBox, load_box

log = logging.getLogger(__name__)

CLAIM_CHUNK = 1000  # AP ids per status read of newly claimed APs


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


@dataclass(frozen=True, slots=True)
class Pollable:
    """An AP of the inventory with the SNMP target its credentials make."""

    ap: PollTarget
    target: SnmpTarget


def poll_error(result: PollResult) -> str | None:
    """What the AP's status says of a poll: why it failed, or, for an answer with values
    of the wrong type (a ``malformed`` device), that it was degraded. An answered poll
    is not a failure (the AP stays up), but it must not look like a clean one either."""
    if not result.ok:
        return result.error
    if result.errors:
        n = result.errors
        values = (
            "1 value had the wrong type and was"
            if n == 1
            else f"{n} values had the wrong type and were"
        )
        return f"degraded: answered, but {values} left out"
    return None


class Collector:
    """Polls this shard's APs (SNMP on the scheduler, SSH beside it) into ``store`` and
    the inventory database. ``store`` is any :class:`~collector.writer.SampleSink`."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        store: SampleSink,
        scraper: Scraper | None = None,
        *,
        metrics: SelfMetrics | None = None,
        ssh_poller: SshPoller = poll_ssh,
        box: SecretBox | None = None,
        leases: LeaseKeeper | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.leases = leases
        # None: the configured keys, read again at each inventory read, so a collector
        # keeps working across `citywifi secrets rotate-key` without a restart.
        self._box = box if box is not None else load_box(settings)  # bad keys: said at start
        self._box_given = box is not None
        self._scraper = scraper
        self.metrics = metrics or SelfMetrics()
        self.records = ApRecords()
        self._loaded_state = False
        self._unpollable: set[str] = set()  # APs whose credentials cannot work, said once
        self._shard = settings.shard_index_count
        spool = Spool(
            settings.spool_path,
            settings.spool_max_bytes,
            on_drop=self.metrics.spool_dropped.inc,
        )
        self.writer = BatchWriter(
            store,
            inventory_recorder(engine),
            max_samples=settings.write_batch_size,
            flush_s=settings.write_flush_s,
            on_store_error=self.metrics.store_write_errors.inc,
            spool=spool,
            metrics=self.metrics,
        )
        self.ssh = SshRunner(settings, self.metrics, self.writer.add, ssh_poller)
        self.snmp_scheduler: Scheduler[Pollable] | None = None
        self.ssh_scheduler: Scheduler[PollTarget] | None = None
        self._interval_tally: Tally[str] = Tally()
        self._current: list[PollTarget] = []  # the inventory as last read by the scheduler
        self._first_refresh = asyncio.Event()
        self._site_info = SiteInfoPacer()

    @property
    def scraper(self) -> Scraper:
        # Created lazily inside the running loop: pysnmp binds its dispatcher to it.
        if self._scraper is None:
            self._scraper = NetworkScraper()
        return self._scraper

    def close(self) -> None:
        self.writer.close()
        if self._scraper is not None:
            self._scraper.close()
        self.ssh.close_now()
        self.metrics.close()

    # --- inventory ---------------------------------------------------------------------

    def _load_state(self) -> None:
        """Carry state across restarts, so "down since" survives a collector restart."""
        with transaction(self.engine) as session:
            self.records.load(session.scalars(select(ApStatus)))
        self._loaded_state = True

    def _load_claimed(self, ap_ids: Iterable[str], held: set[str]) -> None:
        """Start newly claimed APs from their stored status (what their previous holder
        last wrote), not from whatever this process remembered of them."""
        ids = sorted(ap_ids)
        self.records.keep_only(held - set(ids))
        with transaction(self.engine) as session:
            for start in range(0, len(ids), CLAIM_CHUNK):
                chunk = ids[start : start + CLAIM_CHUNK]
                self.records.load(
                    session.scalars(select(ApStatus).where(ApStatus.ap_id.in_(chunk)))
                )

    def _targets(self, held: set[str] | None = None) -> list[PollTarget]:
        """This shard's enabled APs (all of them with the default shard 0/1); given
        ``held``, only those (the APs this collector holds a lease on)."""
        with transaction(self.engine) as session:
            box = self._box if self._box_given else load_box(self.settings)
            targets = enabled_aps(session, box)
        if held is not None:
            return [ap for ap in targets if ap.ap_id in held]
        index, count = self._shard
        if count == 1:
            return targets
        return [ap for ap in targets if shard_of(ap.ap_id, count) == index]

    async def _read_inventory(
        self, leased: bool = False
    ) -> tuple[list[PollTarget], list[Pollable]]:
        """This shard's APs (with ``leased``: those it holds), and those among them whose
        credentials make a target; the others are said once and stay 'unknown' (polling
        them would only produce a misleading 'down'). Records of APs no longer listed
        are dropped."""
        held = None
        if leased and self.leases is not None:
            held = self.leases.held(self.leases.clock())
        aps = await asyncio.to_thread(self._targets, held)
        self.records.keep_only(ap.ap_id for ap in aps)
        await self._queue_site_info({ap.site_id for ap in aps}, time.time())
        pollable: list[Pollable] = []
        unpollable: dict[str, str] = {}
        for ap in aps:
            try:
                if ap.profile != profiles.AUTO:
                    profiles.get(ap.profile)
                pollable.append(Pollable(ap, self._snmp_target(ap)))
            except ConfigError as exc:
                unpollable[ap.ap_id] = str(exc)
        new = sorted(set(unpollable) - self._unpollable)
        if new:
            first = new[0]
            log.warning(
                "%d AP(s) cannot be polled as configured and stay 'unknown' (%s: %s%s)",
                len(new),
                first,
                unpollable[first],
                "; and others" if len(new) > 1 else "",
            )
        self._unpollable = set(unpollable)
        return aps, pollable

    def _site_infos(self, site_ids: Collection[str]) -> list[SiteInfo]:
        with transaction(self.engine) as session:
            return site_infos(session, site_ids)

    async def _queue_site_info(self, site_ids: Collection[str], now: float) -> None:
        """One ``site`` sample per site polled here (names and coordinates for the
        dashboards to join on ``site``), at most once per ``SITE_INFO_MIN_INTERVAL_S``:
        read with the inventory, so a renamed site shows its new name next interval."""
        if not site_ids or not self._site_info.due(now):
            return
        for info in await asyncio.to_thread(self._site_infos, site_ids):
            self.writer.add(site_info_sample(info, now))

    def _snmp_target(self, ap: PollTarget) -> SnmpTarget:
        """The AP's SNMP target; ConfigError when its credentials cannot work."""
        return build_target(
            ap.host,
            ap.snmp_port,
            version=ap.snmp_version,
            community=ap.community,
            user=ap.user,
            auth_protocol=ap.auth_protocol,
            auth_key=ap.auth_key,
            priv_protocol=ap.priv_protocol,
            priv_key=ap.priv_key,
            timeout_s=self.settings.snmp_timeout_s,
            retries=self.settings.snmp_retries,
        )

    # --- one SNMP poll -----------------------------------------------------------------

    async def _poll(self, item: Pollable) -> PollResult:
        """One poll, bounded by ``poll_deadline_s`` whatever the device does."""
        ap, record = item.ap, self.records.of(item.ap.ap_id)
        profile = self._profile_of(ap.profile, record.profile_name(ap.profile), record)
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = self.settings.poll_deadline_s
        try:
            result = await asyncio.wait_for(
                poll_ap(self.scraper, item.target, profile, record.reading, record.layout),
                deadline,
            )
        except TimeoutError:
            result = PollResult(
                False,
                {"reachable": 0.0},
                profile.name if profile else profiles.AUTO,
                error=f"{ap.host}:{ap.snmp_port}: no complete answer within {deadline:g}s",
                cause=PollCause.TIMEOUT,
            )
        self.metrics.poll_duration.observe(loop.time() - started)
        self.metrics.polls.labels(result.profile, result.cause).inc()
        if result.errors:
            self.metrics.metric_errors.labels(result.profile).inc(result.errors)
        return result

    @staticmethod
    def _profile_of(configured: str, name: str | None, record: ApRecord) -> profiles.Profile | None:
        """The profile to poll with; None to detect it. A stored detection this version
        does not know (a vendor module removed) is forgotten and detection runs again."""
        if name is None:
            return None
        try:
            return profiles.get(name)
        except ConfigError:
            if configured != profiles.AUTO:
                raise  # _read_inventory let only known profiles through
            record.detected_profile = None
            return None

    def _apply(self, ap: PollTarget, result: PollResult, now: float) -> None:
        """Judge the AP from one poll; queue its sample, its status and any transition."""
        record = self.records.of(ap.ap_id)
        transition = record.health.observe(
            result.ok, now, self.settings.down_after_failures, result.cause, poll_error(result)
        )
        if transition is not None:
            log.info(
                "AP %s is now %s (%s)%s",
                ap.ap_id,
                transition.to_state,
                transition.cause,
                f": {result.error}" if result.error else "",
            )
        record.remember(ap.profile, result)
        sample = ap_sample(
            ap, result.profile, result.fields, result.reading.ts if result.reading else now
        )
        self.writer.add(sample, record.status_update(result), transition)

    # --- one-shot cycle ------------------------------------------------------------------

    async def run_cycle(self) -> CycleReport:
        """Poll every AP now (bounded concurrency), wait for all, flush: ``--once``."""
        if not self._loaded_state:
            await asyncio.to_thread(self._load_state)
        started = time.time()
        aps, pollable = await self._read_inventory()
        gate = asyncio.Semaphore(self.settings.poll_concurrency)

        async def one(item: Pollable) -> PollResult:
            async with gate:
                return await self._poll(item)

        results = await asyncio.gather(*(one(item) for item in pollable))
        now = time.time()
        answered = failed = metric_errors = 0
        for item, result in zip(pollable, results, strict=True):
            self._apply(item.ap, result, now)
            if result.ok:
                answered += 1
                metric_errors += result.errors
            else:
                failed += 1
        store_ok = await self.writer.flush()
        report = CycleReport(
            started=started,
            duration_s=time.time() - started,
            attempted=len(pollable),
            answered=answered,
            failed=failed,
            skipped=len(aps) - len(pollable),
            metric_errors=metric_errors,
            store_ok=store_ok,
        )
        log.info(
            "cycle: %d polled, %d answered, %d failed, %d skipped, %d metric errors, %.2fs",
            report.attempted,
            answered,
            failed,
            report.skipped,
            metric_errors,
            report.duration_s,
        )
        return report

    async def ssh_cycle(self) -> Tally[str]:
        """SSH-poll every candidate AP once now and flush; outcome counts (``--once``)."""
        aps = await asyncio.to_thread(self._targets)
        outcomes = await self.ssh.cycle(aps, self.records.of)
        await self.writer.flush()
        return outcomes

    # --- the scheduled loop --------------------------------------------------------------

    async def _refresh_snmp(self) -> list[Pollable]:
        if self.leases is not None:
            await self._lease_cycle()
        aps, pollable = await self._read_inventory(leased=self.leases is not None)
        self._current = aps
        self._first_refresh.set()
        return pollable

    async def _refresh_ssh(self) -> list[PollTarget]:
        return [ap for ap in self._current if ssh_candidate(ap)]

    async def _scheduled_poll(self, item: Pollable, slot: float) -> None:
        result = await self._poll(item)
        if self.leases is not None and not self.leases.covers(item.ap.ap_id, slot):
            # Answered past the local deadline (a loaded machine, a slow device): the AP
            # may be another collector's by now, polled by it and its status loaded from
            # the database. Writing this result would count a second poll and could
            # overwrite the new holder's status with an older judgement.
            self.metrics.polls_past_lease.inc()
            self._interval_tally["past lease"] += 1
            return
        self._interval_tally["answered" if result.ok else "failed"] += 1
        self._apply(item.ap, result, time.time())

    async def _lease_cycle(self) -> None:
        """Renew, release and claim for the interval about to start; load the status of
        what was claimed."""
        assert self.leases is not None and self.snmp_scheduler is not None
        scheduler = self.snmp_scheduler
        outcome = await asyncio.to_thread(
            self.leases.cycle,
            scheduler.interval_start,
            scheduler.interval_end,
            self.leases.clock(),
        )
        m = self.metrics
        m.lease_cycle.observe(outcome.seconds)
        m.leases_held.set(outcome.held)
        if not outcome.ok:
            m.lease_errors.inc()
            return
        m.leases_claimed.inc(len(outcome.claimed))
        m.leases_released.inc(outcome.released)
        if outcome.claimed:
            held = self.leases.held(self.leases.clock())
            await asyncio.to_thread(self._load_claimed, outcome.claimed, held)

    def _admit(self, item: Pollable, slot: float) -> bool:
        """The local deadline: poll only while this collector's lease covers the slot."""
        return self.leases is None or self.leases.covers(item.ap.ap_id, slot)

    async def _scheduled_ssh(self, ap: PollTarget, slot: float) -> None:
        if self.leases is not None and not self.leases.holds(ap.ap_id, self.leases.clock()):
            return  # the lease ran out (or moved) since the SNMP refresh listed it
        await self.ssh.poll(ap, self.records.of(ap.ap_id))

    def _interval_done(self, stats: IntervalStats) -> None:
        self.metrics.cycle_lag.set(stats.max_lag_s)
        if stats.overrun:
            self.metrics.overruns.inc()
        tally, self._interval_tally = self._interval_tally, Tally()
        log.info(
            "interval %d: %d due, %d attempted in time, %d answered, %d failed,"
            " %d skipped (overlap), %d not begun and %d dropped past their lease,"
            " max lag %.2fs",
            stats.index,
            stats.due,
            stats.attempted,
            tally["answered"],
            tally["failed"],
            stats.skipped_overlap,
            stats.not_admitted,
            tally["past lease"],
            stats.max_lag_s,
        )

    async def run(self, *, once: bool = False, stop: asyncio.Event | None = None) -> None:
        """Poll until ``stop`` is set (or everything once, SNMP then SSH).

        On stop: no new polls start, in-flight ones finish (each bounded by its deadline),
        then samples and statuses are flushed, then (leasing) the leases are given up.
        """
        stop = stop or asyncio.Event()
        leased = self.leases is not None and not once
        if not self._loaded_state and not leased:  # leased: each claim loads its APs
            await asyncio.to_thread(self._load_state)
        if once:
            await self.run_cycle()
            if not stop.is_set():
                try:
                    await self.ssh_cycle()
                finally:
                    await self.ssh.close()
            return
        self.snmp_scheduler = Scheduler(
            name="snmp",
            interval_s=self.settings.poll_interval_s,
            concurrency=self.settings.poll_concurrency,
            key=lambda item: item.ap.ap_id,
            poll=self._scheduled_poll,
            refresh=self._refresh_snmp,
            on_interval=self._interval_done,
            on_skip=lambda item: self.metrics.skipped_overlap.inc(),
            clock=self.leases.clock if self.leases is not None else None,
            aligned=leased,
            admit=self._admit if leased else None,
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
            await self.ssh.close()
            writer_stop.set()
            await writer
            if self.leases is not None:
                # Drained and flushed: the statuses a successor loads are final.
                released = await asyncio.to_thread(self.leases.release, self.leases.clock())
                log.info("leases released: %d", max(released, 0))
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
