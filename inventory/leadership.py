"""Leader leases: the one instance of a role that acts for the whole city (the fault
engine), elected through the database; the only writer of ``leader_leases``.

Several processes run the same role against one database; each calls :func:`hold` every
cycle. The lease goes to whoever asks while it is free (never taken, released, or
expired) and stays with its holder while it renews in time. Each change of holder adds
one to the row's ``term``, a fencing token: the holder writes only inside a transaction
that first passed :func:`check` with its term, so a holder that stalled past its lease
(a long GC pause, a frozen VM, a laptop lid) and wakes up after a successor took over
writes nothing, even though it still believes it leads.

Why each statement is race-safe:

- :func:`hold` is one ``INSERT … ON CONFLICT (role) DO UPDATE … WHERE <free or ours>
  RETURNING term``. On PostgreSQL the conflicting row is locked and the condition is
  judged on its newest committed version, so of two contenders for an expired lease
  the second waits for the first and then finds the lease taken; two first inserts are
  settled by the primary key the same way. SQLite serialises writers outright.
- :func:`check` is an ``UPDATE`` that matches only our own (owner, term) and changes
  nothing. It takes the row's lock on PostgreSQL (as ``SELECT … FOR UPDATE`` would) and
  the database's write lock on SQLite, where a plain SELECT would not even open the
  transaction (pysqlite begins it at the first write) and a takeover could slip in
  between the check and the writes. Held until the writing transaction ends, that lock
  makes a contender's :func:`hold` wait: nobody takes the lease while we write under it,
  so an expired lease that nobody took yet is still safe to write under.
  Run it FIRST in the transaction: on SQLite a transaction that read before it may not
  be able to take the write lock.

Owner names must be unique among the processes running at the same time (the default,
``<hostname>-<pid>``, is; a fixed ``instance_id`` must differ per process): two
processes with one name would share one term. Times are epoch floats from each
process's own clock: the lease must be longer than the clock skew between machines
(NTP keeps it far below a second).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session

from inventory.models import LeaderLease
from inventory.queries import dialect_insert

__all__ = ["Holder", "check", "hold", "holder", "release"]


@dataclass(frozen=True)
class Holder:
    """Who holds a role's lease, until when, in which term (owner None: released)."""

    owner: str | None
    lease_until: float
    term: int


def hold(session: Session, role: str, owner: str, now: float, lease_s: float) -> int | None:
    """Take or renew ``role``'s lease for ``owner`` until ``now + lease_s``; our term, or
    None when another holds it unexpired.

    Free (no row, released, or ``lease_until <= now``) or already ours: it is ours. The
    term stays while the holder stays (a renewal, also one after our own lease ran out
    unclaimed) and grows by one at every change of holder."""
    statement = dialect_insert(session)(LeaderLease).values(
        role=role, owner=owner, lease_until=now + lease_s, term=1
    )
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[LeaderLease.role],
        set_={
            "owner": excluded.owner,
            "lease_until": excluded.lease_until,
            # NULL = owner (a released lease) is not true: a new term, as it should be.
            "term": _case_same_owner(excluded.owner),
        },
        where=or_(
            LeaderLease.owner == excluded.owner,
            LeaderLease.owner.is_(None),
            LeaderLease.lease_until <= now,
        ),
    ).returning(LeaderLease.term)
    term = session.execute(statement).scalar_one_or_none()
    return None if term is None else int(term)


def _case_same_owner(new_owner: Any) -> Any:
    """The row's term if ``new_owner`` already holds it, else one more."""
    return case((LeaderLease.owner == new_owner, LeaderLease.term), else_=LeaderLease.term + 1)


def check(session: Session, role: str, owner: str, term: int) -> bool:
    """Whether ``owner`` still holds ``role`` in ``term``, locking the lease for the
    rest of the transaction (the fencing check: run it first in every writing
    transaction; see the module docstring for why it is an UPDATE)."""
    result = session.execute(
        update(LeaderLease)
        .where(LeaderLease.role == role, LeaderLease.owner == owner, LeaderLease.term == term)
        .values(term=LeaderLease.term)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release(session: Session, role: str, owner: str) -> bool:
    """Give ``role``'s lease up at once if ``owner`` holds it (a graceful stop: a
    standby takes it at its next cycle instead of waiting out the lease); True if it
    did. The term stays: the next holder's is one more."""
    result = session.execute(
        update(LeaderLease)
        .where(LeaderLease.role == role, LeaderLease.owner == owner)
        .values(owner=None, lease_until=0.0)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def holder(session: Session, role: str) -> Holder | None:
    """Who holds ``role``'s lease now (None: nobody ever did); for logs and status."""
    row = session.execute(
        select(LeaderLease.owner, LeaderLease.lease_until, LeaderLease.term).where(
            LeaderLease.role == role
        )
    ).one_or_none()
    return None if row is None else Holder(row.owner, float(row.lease_until), int(row.term))
