"""SSH polling beside SNMP: a bounded thread pool running :mod:`collector.ssh_poll`.

Why a separate runner: SSH sessions (netmiko) block and take seconds, so they run in
their own pool of ``ssh_workers`` threads on their own slower interval, and their
results are only extra samples of the same measurement and tags. SSH trouble is counted
and logged but never changes an AP's up/down state: SNMP alone decides that, so one
flaky CLI login cannot page anyone.

The runner asks a device only what its SNMP answer lacked
(:func:`~collector.ssh_poll.commands_to_run`), so it reads the AP's last SNMP fields
from its :class:`~collector.record.ApRecord`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter as Tally
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from collector import profiles
from collector.record import ApRecord, ap_sample
from collector.selfmetrics import SelfMetrics
from collector.ssh_poll import (
    SshCommand,
    SshProfile,
    SshResult,
    SshTarget,
    commands_to_run,
    poll_ssh,
    ssh_profile,
)
from core.settings import Settings
from inventory.queries import PollTarget
from timeseries import Sample

log = logging.getLogger(__name__)

SshPoller = Callable[[SshTarget, SshProfile, Sequence[SshCommand], float], SshResult]


def ssh_candidate(ap: PollTarget) -> bool:
    """Has SSH credentials, and a profile that has (or, if auto, may have) commands."""
    if not ap.ssh_username or not (ap.ssh_password or ap.ssh_key_file):
        return False
    return ap.profile == profiles.AUTO or ssh_profile(ap.profile) is not None


class SshRunner:
    """Runs SSH polls in a bounded pool; hands their samples to ``emit``."""

    def __init__(
        self,
        settings: Settings,
        metrics: SelfMetrics,
        emit: Callable[[Sample], None],
        poller: SshPoller = poll_ssh,
    ) -> None:
        self._workers = settings.ssh_workers
        self._timeout_s = settings.ssh_timeout_s
        self._metrics = metrics
        self._emit = emit
        self._poller = poller
        self._pool: ThreadPoolExecutor | None = None
        self.outcomes: Tally[str] = Tally()
        self.mismatches = 0  # answers whose client count differs from SNMP's

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self._workers, thread_name_prefix="citywifi-ssh"
            )
        return self._pool

    async def poll(self, ap: PollTarget, record: ApRecord) -> SshResult | None:
        """SSH-poll one AP if its (detected) profile has commands; None if it has none."""
        profile = ssh_profile(record.profile_name(ap.profile))
        if profile is None:
            return None
        snmp_fields = record.snmp_fields
        commands = commands_to_run(profile, snmp_fields)
        if not commands:
            return None
        assert ap.ssh_username is not None  # ssh_candidate
        target = SshTarget(ap.host, ap.ssh_port, ap.ssh_username, ap.ssh_password, ap.ssh_key_file)
        timeout = self._timeout_s
        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(self.pool, self._poller, target, profile, commands, timeout)
        try:
            # netmiko bounds each step by ``timeout``; this bounds the whole session.
            result = await asyncio.wait_for(job, timeout * (len(commands) + 3))
        except TimeoutError:
            result = SshResult("timeout", error=f"SSH session exceeded its bound ({timeout:g}s)")
        self.outcomes[result.outcome] += 1
        self._metrics.ssh_polls.labels(result.outcome).inc()
        if not result.ok:
            # Counted and logged only: SSH trouble never changes the AP's up/down state.
            log.warning("SSH poll of %s failed (%s): %s", ap.ap_id, result.outcome, result.error)
            return result
        if result.parse_errors:
            self._metrics.metric_errors.labels(profile.name).inc(result.parse_errors)
        snmp_clients = snmp_fields.get("clients")
        ssh_clients = result.checks.get("clients")
        if snmp_clients is not None and ssh_clients is not None and snmp_clients != ssh_clients:
            self.mismatches += 1
            log.info(
                "AP %s: %g clients over SNMP, %g over SSH (cross-check; SNMP kept)",
                ap.ap_id,
                snmp_clients,
                ssh_clients,
            )
        if result.fields:
            self._emit(ap_sample(ap, profile.name, result.fields, time.time()))
        return result

    async def cycle(
        self, aps: Sequence[PollTarget], record_of: Callable[[str], ApRecord]
    ) -> Tally[str]:
        """SSH-poll every candidate among ``aps`` once now; outcome counts."""
        candidates = [ap for ap in aps if ssh_candidate(ap)]
        gate = asyncio.Semaphore(self._workers)
        before = Tally(self.outcomes)

        async def one(ap: PollTarget) -> None:
            async with gate:
                await self.poll(ap, record_of(ap.ap_id))

        await asyncio.gather(*(one(ap) for ap in candidates))
        return self.outcomes - before

    async def close(self) -> None:
        """Let running SSH sessions end (each bounded by netmiko's timeouts) while the
        event loop is still alive to receive their results; drop queued ones."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    def close_now(self) -> None:
        """Outside the event loop: stop the pool without waiting for its sessions."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
