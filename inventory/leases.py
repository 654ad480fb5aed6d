"""AP leases: which collector polls which AP, decided in the database; the only writer of
``collectors`` and ``ap_leases``.

N collector processes (on one machine or many) share the city's APs without a fixed
``hash % n``: each holds leases on a fair share of the APs and renews them every poll
interval; a collector that dies stops renewing, its leases run out and the others take
its APs. The rules, and why each is so:

**Aligned intervals.** Interval k is ``[k·I, (k+1)·I)`` in epoch seconds (I =
``poll_interval_s``), the same in every process on every machine, and every AP keeps its
stable phase inside it. So "the interval" means the same thing to all collectors: a lease
handed over at a boundary moves an AP from one collector's interval k to another's
interval k + 1, and each polls it once in its own interval, never twice in one. It
assumes clocks agree (NTP): the grace (``collector_lease_grace_s``, default I/2) must
exceed the clock skew between machines, since every deadline below is read on each
process's own clock.

**One short transaction per interval** (:func:`cycle`), at the interval's start:

1. heartbeat: upsert this collector's ``collectors`` row (``last_seen = now``);
2. a lease row (free: no owner, ``lease_until = 0``) for every enabled AP that has none
   (``INSERT … SELECT … ON CONFLICT DO NOTHING``);
3. live collectors = rows seen within ``I + grace``; fair share = ceil(enabled / live);
4. renew what it holds: ``lease_until = next boundary + grace``. If it holds more than
   its share it releases only the excess, those with the highest stable hash, by setting
   their ``lease_until = next boundary`` (no grace): it still polls them in this
   interval, and whoever has room claims them at the next boundary, where they start in
   the claimer's interval. A moved AP thus misses no interval and is never polled twice,
   and a newcomer's arrival moves only the APs it needs (no thundering herd of every
   collector dropping and re-grabbing everything);
5. claim up to ``share - held`` expired leases (``lease_until <= now``, enabled APs) with
   ``SELECT … FOR UPDATE SKIP LOCKED``: two collectors claiming at once take different
   rows and neither waits for the other. SQLite ignores the clause and serialises
   writers; the same code runs there with one collector;
6. reaper: ``collectors`` rows silent for more than 10 intervals are deleted.

Each newly claimed AP comes with the first slot its new holder may poll (``since``): the
interval's start, or later if the lease ran out after it (a late cycle, a graceful
release mid-interval): the previous holder polled only slots before its own deadline
(``lease_until``), so slots from ``max(start, old lease_until)`` on are the new holder's
alone.

**The local deadline** (enforced by the collector, :mod:`collector.leases`): a collector
polls an AP only at slots its own lease holds (``since <= slot < lease_until``), and
begins such a poll, or writes its answer, only before ``lease_until`` or, if later, the
AP's next slot less the grace. The next holder polls only slots at or after
``lease_until``, the first of them at least one interval after any slot of the old
holder; so a collector that stalls (a frozen VM, a lost database) stops polling before
anyone polls the AP after it, on its own clock, with no message needed, and a poll of
the last slot of a lease given back at a boundary may end a little after that boundary
on a loaded machine without being lost.

**Timings.** A killed collector's leases expire at its last boundary + I + grace; the
survivors claim at the next boundary after that: its APs miss at most two intervals. Its
heartbeat is stale by then too (older than I + grace), so the survivors' share grows to
take them all.

**Graceful stop** (:func:`release_all`): the collector's leases run out at once and its
``collectors`` row goes, so a restart or a peer takes them at its next cycle. The leases'
``lease_until`` is set to the release time rather than 0: a peer whose boundary cycle
runs a moment after the release then still knows that the slots before it were polled.

**New, disabled, deleted APs.** A new AP gets its lease row at the next cycle (step 2)
and is claimed like any expired lease. A disabled AP (or one at a retired site) is
neither renewed nor claimed: its lease runs out and its holder stops; its row stays and
is claimed again once it is enabled. A deleted AP's row goes with it (``ON DELETE
CASCADE``).

Which APs are "enabled" is the collector's own rule (``inventory.queries.enabled_aps``):
enabled, at a site that is not retired. The excess is ranked by the collector's stable
hash, given by the caller (``rank``): the hash lives with the scheduler, above this
package.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, delete, exists, func, literal, select, update
from sqlalchemy.orm import Session

from inventory.models import AccessPoint, ApLease, CollectorMember, Site
from inventory.queries import dialect_insert, polled

__all__ = [
    "REAP_AFTER_INTERVALS",
    "CycleResult",
    "Member",
    "boundaries",
    "cycle",
    "enabled_ap_ids",
    "held_counts",
    "release_all",
]

REAP_AFTER_INTERVALS = 10
"""A ``collectors`` row silent for this many intervals is deleted by any lease cycle."""

CHUNK = 1000  # ids per ``IN (…)``: far below SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True)
class Member:
    """A collector process as the others see it in ``collectors``."""

    id: str
    host: str
    pid: int
    started_at: float


@dataclass(frozen=True)
class CycleResult:
    """What one lease cycle decided for its collector (times are epoch seconds).

    ``kept``: APs it keeps, leased until ``renewed_until``; ``released``: the excess it
    gave up, still its own until ``next_boundary``; ``claimed``: APs newly taken, each with
    the first slot it may poll (leased until ``renewed_until`` too)."""

    now: float
    next_boundary: float
    renewed_until: float
    live: int
    enabled: int
    share: int
    kept: tuple[str, ...]
    released: tuple[str, ...]
    claimed: dict[str, float] = field(default_factory=dict)
    inserted: int = 0
    reaped: int = 0

    @property
    def held(self) -> int:
        """Leases held after this cycle (kept + claimed; the released ones are on their
        way out)."""
        return len(self.kept) + len(self.claimed)


def boundaries(now: float, interval_s: float) -> tuple[float, float]:
    """The start of the aligned interval holding ``now`` and the start of the next one."""
    k = math.floor(now / interval_s)
    return k * interval_s, (k + 1) * interval_s


def enabled_ap_ids() -> Select[Any]:
    """The ids of the APs collectors poll: enabled, at a site that is not retired (the
    rule of ``inventory.queries.polled``, shared with ``enabled_aps``)."""
    return select(AccessPoint.id).join(Site, AccessPoint.site_id == Site.id).where(*polled())


def cycle(
    session: Session,
    member: Member,
    *,
    now: float,
    start: float,
    next_boundary: float,
    interval_s: float,
    grace_s: float,
    rank: Callable[[str], int],
) -> CycleResult:
    """One lease cycle of ``member`` (see the module doc); the caller owns the
    transaction and should run nothing else in it.

    ``now``: this process's clock; ``start``: the first slot of the interval this cycle
    is for (its boundary, or the moment the collector started mid-interval);
    ``next_boundary``: the start of the next interval; ``rank``: the stable hash that
    orders the excess (highest released first).
    """
    renewed_until = next_boundary + grace_s
    # Core statements on the session's connection: no ORM bookkeeping (nothing is loaded
    # as objects), and true row counts.
    db = session.connection()
    # 1. Heartbeat first: on SQLite the first write opens the transaction and takes the
    #    write lock, so everything below runs serialised with the other writers.
    insert = dialect_insert(session)
    heartbeat = insert(CollectorMember).values(
        id=member.id,
        host=member.host,
        pid=member.pid,
        started_at=member.started_at,
        last_seen=now,
    )
    db.execute(
        heartbeat.on_conflict_do_update(
            index_elements=[CollectorMember.id],
            set_={
                "host": heartbeat.excluded.host,
                "pid": heartbeat.excluded.pid,
                "started_at": heartbeat.excluded.started_at,
                "last_seen": heartbeat.excluded.last_seen,
            },
        )
    )
    # 2. Rows for new APs, in id order so that two collectors inserting the same new APs
    #    at once wait for each other in one order (never a deadlock).
    enabled = enabled_ap_ids().subquery()
    missing = (
        select(enabled.c.id, literal(0.0))
        .where(~exists().where(ApLease.ap_id == enabled.c.id))
        .order_by(enabled.c.id)
    )
    inserted = db.execute(
        insert(ApLease)
        .from_select(["ap_id", "lease_until"], missing)
        .on_conflict_do_nothing(index_elements=[ApLease.ap_id])
        .execution_options(preserve_rowcount=True)  # counted for INSERT only when asked
    ).rowcount
    # 3. Fair share.
    live_count, enabled_count = db.execute(
        select(
            select(func.count())
            .select_from(CollectorMember)
            .where(CollectorMember.last_seen >= now - (interval_s + grace_s))
            .scalar_subquery(),
            select(func.count()).select_from(enabled_ap_ids().subquery()).scalar_subquery(),
        )
    ).one()
    live, total = max(int(live_count), 1), int(enabled_count)
    share = math.ceil(total / live)
    # 4. Renew what it holds (RETURNING: exactly the rows still ours, locked till commit).
    kept = list(
        db.scalars(
            update(ApLease)
            .where(
                ApLease.owner == member.id,
                ApLease.lease_until > now,
                ApLease.ap_id.in_(enabled_ap_ids()),
            )
            .values(lease_until=renewed_until)
            .returning(ApLease.ap_id)
        )
    )
    released: list[str] = []
    if len(kept) > share:
        ranked = sorted(kept, key=lambda ap: (rank(ap), ap), reverse=True)
        released = sorted(ranked[: len(kept) - share])
        gone = set(released)
        kept = [ap for ap in kept if ap not in gone]
        for chunk in _chunks(released):
            db.execute(
                update(ApLease)
                .where(ApLease.owner == member.id, ApLease.ap_id.in_(chunk))
                .values(lease_until=next_boundary)
            )
    # 5. Claim expired leases up to the share.
    claimed: dict[str, float] = {}
    room = share - len(kept)
    if room > 0:
        rows = db.execute(
            select(ApLease.ap_id, ApLease.lease_until)
            .where(ApLease.lease_until <= now, ApLease.ap_id.in_(enabled_ap_ids()))
            .order_by(ApLease.ap_id)
            .limit(room)
            .with_for_update(skip_locked=True, of=ApLease)
        ).all()
        claimed = {str(row.ap_id): max(start, float(row.lease_until)) for row in rows}
        for chunk in _chunks(sorted(claimed)):
            db.execute(
                update(ApLease)
                .where(ApLease.ap_id.in_(chunk))
                .values(owner=member.id, lease_until=renewed_until)
            )
    # 6. Reaper (SKIP LOCKED: a row its owner is heartbeating right now is not silent).
    silent = (
        select(CollectorMember.id)
        .where(CollectorMember.last_seen < now - REAP_AFTER_INTERVALS * interval_s)
        .with_for_update(skip_locked=True)
    )
    reaped = db.execute(delete(CollectorMember).where(CollectorMember.id.in_(silent))).rowcount
    return CycleResult(
        now=now,
        next_boundary=next_boundary,
        renewed_until=renewed_until,
        live=live,
        enabled=total,
        share=share,
        kept=tuple(sorted(kept)),
        released=tuple(released),
        claimed=claimed,
        inserted=max(int(inserted or 0), 0),
        reaped=max(int(reaped or 0), 0),
    )


def release_all(session: Session, owner: str, now: float) -> int:
    """A graceful stop: ``owner``'s leases run out at ``now`` (ownerless) and its
    ``collectors`` row goes; the number of leases released."""
    db = session.connection()
    released = db.execute(
        update(ApLease).where(ApLease.owner == owner).values(owner=None, lease_until=now)
    ).rowcount
    db.execute(delete(CollectorMember).where(CollectorMember.id == owner))
    return int(released or 0)


def held_counts(session: Session, now: float) -> dict[str, int]:
    """Unexpired leases per owner at ``now`` (for status, tests and benchmarks)."""
    rows = session.execute(
        select(ApLease.owner, func.count())
        .where(ApLease.owner.is_not(None), ApLease.lease_until > now)
        .group_by(ApLease.owner)
    ).all()
    return {str(owner): int(count) for owner, count in rows}


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
