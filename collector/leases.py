"""The collector's side of the AP leases: run the lease cycle each interval, keep the
leases it holds, and say whether a slot may be polled.

The rules are in :mod:`inventory.leases` (the one writer of the lease tables); here is
what one collector does with them:

* At each interval start the engine calls :meth:`LeaseKeeper.cycle` (one short
  transaction) before reading its targets, and polls only the APs it holds.
* **The local deadline**: :meth:`LeaseKeeper.covers` lets a poll start only if this
  collector's own lease holds its slot (``since <= slot < until``) and it is not too
  late for it: ``now < max(until, slot + interval - grace)``. ``until`` is what this
  process wrote, read on its own clock; so a collector that stalls — its database gone,
  its VM frozen, its loop starved — stops polling before anyone polls the AP after it,
  and two collectors never poll one AP in one interval. Why the second bound: whoever
  holds the AP next polls it from the first slot at or after ``until`` on, which is
  ``slot + interval`` at the earliest (one AP's slots are an interval apart); the grace
  (which must exceed the clock skew between machines) keeps this collector's poll clear
  of it. It matters for a lease given back at a boundary (``until`` = the boundary): a
  poll of its last slot, near the end of the interval, may begin or be answered a
  little after the boundary on a loaded machine and is still this interval's, not
  lost. ``since`` holds a newly claimed AP back from the slots its previous holder may
  still have polled. The engine asks again with the same slot when a poll's answer is
  in, and drops one that came later: the AP may be another's by then, polled by it, and
  a late write would count a second poll and could overwrite the new holder's status
  with an older judgement.
* A failed lease cycle (the database unreachable) changes nothing here: the collector
  keeps polling what it holds until each lease's deadline, then stops, and tries again
  at the next boundary.
* Newly claimed APs are returned so the engine loads their ``ap_status`` row before it
  polls them: "down since", the failure count and the detected profile survive a
  handover.

Which collectors use leases (:func:`keeper_for`): the default shard ``0/1``. With
``--shard i/n`` (n > 1) the split is static (stable hash % n) and there are no leases;
``--once`` polls every AP of its shard now, without leases (a manual check, not a member
of the pool: run beside leasing collectors it polls their APs a second time).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from collector.scheduler import stable_hash
from core.errors import first_line
from core.settings import Settings
from inventory import leases
from inventory.db import transaction

log = logging.getLogger(__name__)

__all__ = ["Lease", "LeaseKeeper", "LeaseOutcome", "keeper_for"]


@dataclass(frozen=True, slots=True)
class Lease:
    """One AP this collector holds: it may poll slots in ``[since, until)``."""

    since: float
    until: float


@dataclass(frozen=True, slots=True)
class LeaseOutcome:
    """What one lease cycle did, for the engine's self-metrics and log."""

    ok: bool
    seconds: float
    held: int
    claimed: frozenset[str] = frozenset()
    released: int = 0
    share: int = 0
    live: int = 0


class LeaseKeeper:
    """The leases of one collector process, renewed once per interval.

    ``clock`` is the wall clock (epoch seconds) the intervals are aligned to; tests give
    a virtual one (the event loop's), so it is read only on the event loop: the blocking
    methods (:meth:`cycle`, :meth:`release`, run in worker threads) are given ``now``.
    :meth:`covers` runs on the loop while a cycle may run in a thread: the table is
    replaced in one assignment."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        clock: Callable[[], float] = time.time,
        member_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.interval_s = settings.poll_interval_s
        self.grace_s = settings.lease_grace_s
        self.member = leases.Member(
            id=member_id or settings.instance_name,
            host=socket.gethostname()[:255],
            pid=os.getpid(),
            started_at=time.time(),  # when this process joined (for people reading the table)
        )
        self._table: dict[str, Lease] = {}

    @property
    def owner(self) -> str:
        return self.member.id

    def held(self, now: float) -> set[str]:
        """The APs whose lease has not run out at ``now``."""
        return {ap for ap, lease in self._table.items() if lease.until > now}

    def covers(self, ap_id: str, slot: float) -> bool:
        """Whether a poll of ``ap_id`` at ``slot`` may start now, or its answer be written
        now (the local deadline, see the module doc)."""
        lease = self._table.get(ap_id)
        if lease is None or not lease.since <= slot < lease.until:
            return False
        return self.clock() < max(lease.until, slot + self.interval_s - self.grace_s)

    def holds(self, ap_id: str, now: float) -> bool:
        """Whether this collector holds ``ap_id`` at ``now`` (for work not tied to a slot
        of the poll interval: the SSH polls)."""
        lease = self._table.get(ap_id)
        return lease is not None and lease.since <= now < lease.until

    def cycle(self, start: float, next_boundary: float, now: float) -> LeaseOutcome:
        """Run the lease cycle at ``now`` (read from :attr:`clock` by the caller, on the
        event loop) for the interval whose first slot is ``start`` and that ends at
        ``next_boundary``; blocking: call it in a worker thread. On a database error the
        leases held stay as they were, each until its deadline."""
        began = time.perf_counter()
        # Never before the interval's start: a timer that woke a hair early must still
        # see the leases that ran out at the boundary as free.
        now = max(now, start)
        try:
            with transaction(self.engine) as session:
                result = leases.cycle(
                    session,
                    self.member,
                    now=now,
                    start=start,
                    next_boundary=next_boundary,
                    interval_s=self.interval_s,
                    grace_s=self.grace_s,
                    rank=stable_hash,
                )
        except SQLAlchemyError as exc:
            reason = first_line(exc)
            log.warning(
                "lease cycle failed (%s); keeping the leases held until they run out", reason
            )
            return LeaseOutcome(False, time.perf_counter() - began, len(self.held(now)))
        self._apply(result, start)
        if result.claimed or result.released:
            log.info(
                "leases: %d held (share %d of %d APs, %d collectors), %d claimed, %d released",
                result.held,
                result.share,
                result.enabled,
                result.live,
                len(result.claimed),
                len(result.released),
            )
        return LeaseOutcome(
            ok=True,
            seconds=time.perf_counter() - began,
            held=result.held,
            claimed=frozenset(result.claimed),
            released=len(result.released),
            share=result.share,
            live=result.live,
        )

    def _apply(self, result: leases.CycleResult, start: float) -> None:
        old = self._table
        table: dict[str, Lease] = {}
        for ap in result.kept:
            before = old.get(ap)
            table[ap] = Lease(before.since if before else start, result.renewed_until)
        for ap in result.released:
            before = old.get(ap)
            table[ap] = Lease(before.since if before else start, result.next_boundary)
        for ap, since in result.claimed.items():
            table[ap] = Lease(since, result.renewed_until)
        # A lease that ended (given back at this boundary, or not renewed) is kept a while:
        # a poll of one of its last slots may still be running, and its answer is still
        # this collector's until the AP's next slot less the grace (see covers).
        for ap, lease in old.items():
            if ap not in table and lease.until > start - self.interval_s:
                table[ap] = lease
        self._table = table

    def release(self, now: float) -> int:
        """A graceful stop at ``now``: give every lease up and leave the pool (see
        :func:`inventory.leases.release_all`); the number released, -1 on a database
        error (the leases then simply run out). Blocking, like :meth:`cycle`."""
        self._table = {}
        try:
            with transaction(self.engine) as session:
                return leases.release_all(session, self.owner, now)
        except SQLAlchemyError as exc:
            reason = first_line(exc)
            log.warning("could not release the leases (%s); they run out by themselves", reason)
            return -1


def keeper_for(settings: Settings, engine: Engine) -> LeaseKeeper | None:
    """The lease keeper of a ``citywifi collect`` process: one for the default shard
    ``0/1``; None for a static ``--shard i/n`` split (n > 1), which uses no leases."""
    _, count = settings.shard_index_count
    return LeaseKeeper(settings, engine) if count == 1 else None
