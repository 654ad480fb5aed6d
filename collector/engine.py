"""The poll loop: every enabled AP, concurrently, once per interval.

Each cycle re-reads the inventory (so added, removed or disabled APs take effect without a
restart), polls every AP with bounded concurrency and a per-target timeout, then writes
one batch of samples to the metric store and one batch of states to the inventory
database. A cycle waits for all of its polls, and each poll is bounded by its timeout,
so one AP is never polled twice at once and a dead AP delays nobody but itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select

from citywifi.errors import StoreError
from citywifi.settings import Settings
from collector import profiles
from collector.derive import CounterReading
from collector.health import ApHealth
from collector.poll import PollResult, poll_ap
from collector.snmp import PysnmpScraper, Scraper, SnmpTarget
from inventory.db import transaction
from inventory.models import ApStatus
from inventory.queries import ApStatusUpdate, PollTarget, enabled_aps, record_status
from timeseries import AP_MEASUREMENT, MetricStore, Sample

log = logging.getLogger(__name__)


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


class Collector:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        store: MetricStore,
        scraper: Scraper | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.store = store
        self._scraper = scraper
        self._health: dict[str, ApHealth] = {}
        self._readings: dict[str, CounterReading] = {}
        self._profiles: dict[str, str] = {}  # detected profile per AP whose profile is auto
        self._loaded_state = False
        self._said_skipped = False

    @property
    def scraper(self) -> Scraper:
        # Created lazily inside the running loop: pysnmp binds its dispatcher to it.
        if self._scraper is None:
            self._scraper = PysnmpScraper()
        return self._scraper

    def close(self) -> None:
        if self._scraper is not None:
            self._scraper.close()

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
                )
                if row.detected_profile:
                    self._profiles[row.ap_id] = row.detected_profile
        self._loaded_state = True

    def _targets(self) -> list[PollTarget]:
        with transaction(self.engine) as session:
            return enabled_aps(session)

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

    async def _poll_one(self, ap: PollTarget, gate: asyncio.Semaphore) -> PollResult | None:
        target = self._snmp_target(ap)
        if target is None:
            return None
        name = ap.profile if ap.profile != profiles.AUTO else self._profiles.get(ap.ap_id)
        profile = profiles.get(name) if name else None
        async with gate:
            return await poll_ap(self.scraper, target, profile, self._readings.get(ap.ap_id))

    async def run_cycle(self) -> CycleReport:
        if not self._loaded_state:
            await asyncio.to_thread(self._load_state)
        started = time.time()
        targets = await asyncio.to_thread(self._targets)
        gate = asyncio.Semaphore(self.settings.poll_concurrency)
        results = await asyncio.gather(*(self._poll_one(ap, gate) for ap in targets))
        now = time.time()
        samples: list[Sample] = []
        updates: list[ApStatusUpdate] = []
        answered = failed = skipped = metric_errors = 0
        for ap, result in zip(targets, results, strict=True):
            if result is None:
                skipped += 1
                continue
            health = self._health.setdefault(ap.ap_id, ApHealth())
            if health.observe(result.ok, now, self.settings.down_after_failures, result.error):
                log.info(
                    "AP %s is now %s%s",
                    ap.ap_id,
                    health.state,
                    f" ({result.error})" if result.error else "",
                )
            if result.ok:
                answered += 1
                metric_errors += result.errors
                if result.reading is not None:
                    self._readings[ap.ap_id] = result.reading
                if ap.profile == profiles.AUTO:
                    self._profiles[ap.ap_id] = result.profile
            else:
                failed += 1
            samples.append(
                Sample(
                    measurement=AP_MEASUREMENT,
                    tags={
                        "ap": ap.ap_id,
                        "site": ap.site_id,
                        "district": ap.district_id or "",
                        "partner": ap.partner_id or "",
                        "profile": result.profile,
                    },
                    fields=result.fields,
                    ts=result.reading.ts if result.reading else now,
                )
            )
            updates.append(
                ApStatusUpdate(
                    ap_id=ap.ap_id,
                    state=health.state,
                    since=health.since,
                    last_seen=health.last_seen,
                    last_poll=health.last_poll,
                    consecutive_failures=health.failures,
                    detected_profile=self._profiles.get(ap.ap_id, result.profile),
                    last_error=health.last_error,
                )
            )
        if skipped and not self._said_skipped:
            self._said_skipped = True
            log.warning(
                "%d APs have incomplete SNMP credentials (no community, or a v3 profile"
                " without user or keys) and are not polled; they stay 'unknown'",
                skipped,
            )
        store_ok = await self._write(samples)
        await asyncio.to_thread(self._record, updates)
        report = CycleReport(
            started=started,
            duration_s=time.time() - started,
            attempted=len(targets) - skipped,
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

    async def _write(self, samples: Sequence[Sample]) -> bool:
        if not samples:
            return True
        try:
            await asyncio.to_thread(self.store.write, samples)
        except StoreError as exc:
            # Spooling to disk and replay arrive with the storage issue; until then the
            # loss is loud and counted rather than silent.
            log.error("metric store write failed, %d samples lost: %s", len(samples), exc)
            return False
        return True

    def _record(self, updates: Sequence[ApStatusUpdate]) -> None:
        if updates:
            with transaction(self.engine) as session:
                record_status(session, updates)

    async def run(self, *, once: bool = False, stop: asyncio.Event | None = None) -> None:
        """Poll every interval until ``stop`` is set (or once)."""
        stop = stop or asyncio.Event()
        interval = self.settings.poll_interval_s
        next_start = time.monotonic()
        while not stop.is_set():
            await self.run_cycle()
            if once:
                return
            next_start += interval
            delay = next_start - time.monotonic()
            if delay < 0:
                log.warning("poll cycle overran the %.0fs interval by %.1fs", interval, -delay)
                next_start = time.monotonic()
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
