"""The audit log: who did what, when, from where (``audit_log``, core.access.AuditAction).

Every writer (logins in :mod:`inventory.accounts`, the CLI's user commands, the API's user
routes, inventory imports, secret exports, key rotation, later incident actions) calls
:func:`record`, and every reader (``GET /api/v1/audit``, the login rate limit) reads
through this module, so the row's shape is written in one place. Rows are appended, never
updated. The caller owns the transaction: a record is committed with the change it
describes, or not at all.

Values are clipped to their columns here: an actor is whatever name a client typed at the
login form, and PostgreSQL refuses a string longer than its column where SQLite would
silently keep it. Nothing secret is ever passed in (``detail`` names what changed, never a
password, token or device credential).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from core.access import AuditAction
from inventory.models import AuditEntry
from inventory.paging import page

__all__ = [
    "AuditRecord",
    "clip_actor",
    "clip_address",
    "entries",
    "failure_times",
    "failures_since",
    "record",
]

_ACTOR_LEN = 64
_TARGET_LEN = 200
_ADDRESS_LEN = 64
_DETAIL_LEN = 500


@dataclass(frozen=True)
class AuditRecord:
    """One audit row as read back (``at`` in epoch seconds)."""

    id: int
    at: float
    actor: str
    action: AuditAction
    target: str | None
    address: str | None
    detail: str | None


def _clip(value: str | None, length: int) -> str | None:
    return None if value is None else value[:length]


def clip_actor(actor: str) -> str:
    """The actor as stored: what to compare with when counting a name's rows."""
    return actor[:_ACTOR_LEN]


def clip_address(address: str) -> str:
    """The address as stored."""
    return address[:_ADDRESS_LEN]


def record(
    session: Session,
    action: AuditAction,
    *,
    actor: str,
    target: str | None = None,
    address: str | None = None,
    detail: str | None = None,
    now: float,
) -> None:
    """Append one row (added to ``session``; the caller commits it with its change)."""
    session.add(
        AuditEntry(
            at=now,
            actor=clip_actor(actor),
            action=AuditAction(action).value,
            target=_clip(target, _TARGET_LEN),
            address=_clip(address, _ADDRESS_LEN),
            detail=_clip(detail, _DETAIL_LEN),
        )
    )


def _conditions(
    *,
    action: AuditAction | None = None,
    actor: str | None = None,
    address: str | None = None,
    start: float | None = None,
    end: float | None = None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if action is not None:
        conditions.append(AuditEntry.action == AuditAction(action).value)
    if actor is not None:
        conditions.append(AuditEntry.actor == clip_actor(actor))
    if address is not None:
        conditions.append(AuditEntry.address == clip_address(address))
    if start is not None:
        conditions.append(AuditEntry.at >= start)
    if end is not None:
        conditions.append(AuditEntry.at < end)
    return conditions


def _to_record(row: AuditEntry) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=AuditAction(row.action),
        target=row.target,
        address=row.address,
        detail=row.detail,
    )


def entries(
    session: Session,
    *,
    action: AuditAction | None = None,
    actor: str | None = None,
    start: float | None = None,
    end: float | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditRecord], int]:
    """One page of rows, newest first (ties by id, so pages are stable), and how many
    match in all. ``start`` is inclusive, ``end`` exclusive."""
    conditions = _conditions(action=action, actor=actor, start=start, end=end)
    rows, total = page(
        session,
        select(AuditEntry).where(*conditions),
        order_by=(AuditEntry.at.desc(), AuditEntry.id.desc()),
        limit=limit,
        offset=offset,
    )
    return [_to_record(row) for row in rows], total


def _failures(*, since: float, actor: str | None, address: str | None) -> list[ColumnElement[bool]]:
    conditions = _conditions(action=AuditAction.LOGIN_FAILED, actor=actor, address=address)
    return [*conditions, AuditEntry.at > since]


def failures_since(
    session: Session, *, since: float, actor: str | None = None, address: str | None = None
) -> int:
    """How many LOGIN_FAILED rows after ``since`` (strictly: a failure exactly one window
    old has left it), for a name and/or an address."""
    conditions = _failures(since=since, actor=actor, address=address)
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions))
    return int(total or 0)


def failure_times(
    session: Session,
    *,
    since: float,
    actor: str | None = None,
    address: str | None = None,
    limit: int = 10_000,
) -> list[float]:
    """When the LOGIN_FAILED rows after ``since`` happened, oldest first: the login limit
    needs them to say when enough of them will have left its window."""
    conditions = _failures(since=since, actor=actor, address=address)
    query = select(AuditEntry.at).where(*conditions).order_by(AuditEntry.at).limit(limit)
    return [float(at) for at in session.scalars(query)]
