"""The notifications outbox after it is queued: which messages are due, what became of
each attempt (sent, retried later, failed), and the listings the API shows.

The planner (:mod:`inventory.notifications`) inserts rows as ``pending``, due at once;
from then on this module is the only writer of a row, so the retry rule lives in one
place: a failed attempt is retried after ``notify_retry_initial_s · 2^(attempts before
it)``, capped at ``notify_retry_max_s``; a message still undelivered ``notify_give_up_s``
after it was queued is ``failed`` (its last attempt is made exactly then, not skipped);
a receiver that refuses the message as such (``permanent``) fails it at once. Each
outcome is written in its own short transaction, so nothing here is held while a
transport waits on a receiver.

A payload may hold a sealed value (a citizen's phone number, ``SecretBox``-sealed): it
is kept only while the message may still be sent, and wiped (``null``) the moment the
row is sent or failed; the listing shows it as ``"(sealed)"``, never the token.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from core.errors import ConflictError
from core.settings import Settings
from inventory.models import Notification
from inventory.paging import page
from inventory.secretbox import SEALED_PREFIX

#: last_error's column width.
MAX_ERROR = 500
#: What the listing shows in place of a sealed value.
SEALED_SHOWN = "(sealed)"


class Status(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class RetryPolicy:
    initial_s: float
    max_s: float
    give_up_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            initial_s=settings.notify_retry_initial_s,
            max_s=settings.notify_retry_max_s,
            give_up_s=settings.notify_give_up_s,
        )

    def backoff_s(self, failed_before: int) -> float:
        """The wait after a failed attempt that had ``failed_before`` failures before it:
        initial, 2·initial, 4·initial ... capped at ``max_s``."""
        if failed_before >= 64:  # 2**64 · initial is past any cap; avoid a huge float
            return self.max_s
        return float(min(self.initial_s * 2.0**failed_before, self.max_s))


@dataclass(frozen=True)
class OutboxRow:
    """One queued message as the notifier and the API see it."""

    id: int
    message_id: str
    route: str
    group_key: str
    kind: str
    subject: str
    payload: str
    created_at: float
    due_at: float
    status: Status
    attempts: int
    sent_at: float | None
    last_error: str | None


def message_id(row: Notification) -> str:
    """The id receivers dedupe on: the payload's ``id`` ("<route>:<group>:<sequence>",
    made by the planner), else one made of the route, group and row id."""
    try:
        parsed = json.loads(row.payload)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("id"), str):
        return str(parsed["id"])
    return f"{row.route}:{row.group_key}:row{row.id}"


def _sealed_replaced(payload: str, by: str | None) -> str:
    """``payload`` with each top-level sealed value replaced ``by`` (unchanged when it
    holds none, or is not a JSON object)."""
    try:
        parsed = json.loads(payload)
    except ValueError:
        return payload
    if not isinstance(parsed, dict):
        return payload
    sealed = [
        key
        for key, value in parsed.items()
        if isinstance(value, str) and value.startswith(SEALED_PREFIX)
    ]
    if not sealed:
        return payload
    return json.dumps({**parsed, **dict.fromkeys(sealed, by)})


def view(row: Notification, *, shown: bool = False) -> OutboxRow:
    """The row as delivery needs it, or (``shown``) as people may read it: a sealed value
    masked."""
    return OutboxRow(
        id=row.id,
        message_id=message_id(row),
        route=row.route,
        group_key=row.group_key,
        kind=row.kind,
        subject=row.subject,
        payload=_sealed_replaced(row.payload, SEALED_SHOWN) if shown else row.payload,
        created_at=row.created_at,
        due_at=row.due_at,
        status=Status(row.status),
        attempts=row.attempts,
        sent_at=row.sent_at,
        last_error=row.last_error,
    )


def due(session: Session, *, now: float, limit: int) -> list[OutboxRow]:
    """Pending messages due at ``now``, the longest waiting first."""
    rows = session.scalars(
        select(Notification)
        .where(Notification.status == Status.PENDING.value, Notification.due_at <= now)
        .order_by(Notification.due_at, Notification.id)
        .limit(limit)
    ).all()
    return [view(row) for row in rows]


def next_due(session: Session) -> float | None:
    """When the earliest pending message is due (None: nothing is pending)."""
    found = session.scalar(
        select(func.min(Notification.due_at)).where(Notification.status == Status.PENDING.value)
    )
    return None if found is None else float(found)


def record(
    session: Session,
    row_id: int,
    *,
    delivered: bool,
    permanent: bool = False,
    error: str | None = None,
    now: float,
    policy: RetryPolicy,
) -> Status:
    """Write what an attempt at ``now`` came to, and say the row's status after it.

    Sent: ``sent_at`` now (an earlier attempt's error stays, as its history). Not sent:
    ``permanent`` or past the give-up time → failed; else pending again, due after the
    backoff (never later than the give-up time, where the last attempt is made)."""
    row = session.get(Notification, row_id)
    if row is None or row.status != Status.PENDING.value:
        raise ConflictError(f"notification {row_id} is not pending")
    failed_before = row.attempts
    row.attempts += 1
    if delivered:
        row.status = Status.SENT.value
        row.sent_at = now
        row.payload = _sealed_replaced(row.payload, None)  # no longer needed: wiped
        return Status.SENT
    row.last_error = (error or "not delivered")[:MAX_ERROR]
    give_up_at = row.created_at + policy.give_up_s
    if permanent or now >= give_up_at:
        row.status = Status.FAILED.value
        row.payload = _sealed_replaced(row.payload, None)
        return Status.FAILED
    row.due_at = min(now + policy.backoff_s(failed_before), give_up_at)
    return Status.PENDING


def listing(
    session: Session,
    *,
    status: Status | None = None,
    route: str | None = None,
    limit: int,
    offset: int,
) -> tuple[list[OutboxRow], int]:
    """One page of the outbox, newest first, and how many rows match."""
    conditions: list[ColumnElement[bool]] = []
    if status is not None:
        conditions.append(Notification.status == status.value)
    if route is not None:
        conditions.append(Notification.route == route)
    rows, count = page(
        session,
        select(Notification).where(*conditions),
        order_by=(Notification.created_at.desc(), Notification.id.desc()),
        limit=limit,
        offset=offset,
    )
    return [view(row, shown=True) for row in rows], count


@dataclass(frozen=True)
class RouteCounts:
    """A route's messages by status, and the newest message's error (None: none had)."""

    pending: int = 0
    sent: int = 0
    failed: int = 0
    last_error: str | None = None
    last_error_notification: int | None = None


def route_counts(session: Session) -> dict[str, RouteCounts]:
    """Per route that has messages: counts by status and its newest error, in two queries."""
    counts: dict[str, dict[str, int]] = {}
    for route, status, n in session.execute(
        select(Notification.route, Notification.status, func.count()).group_by(
            Notification.route, Notification.status
        )
    ):
        counts.setdefault(route, {})[status] = int(n)
    newest = (
        select(Notification.route, func.max(Notification.id).label("id"))
        .where(Notification.last_error.is_not(None))
        .group_by(Notification.route)
        .subquery()
    )
    errors = {
        route: (error, row_id)
        for route, error, row_id in session.execute(
            select(Notification.route, Notification.last_error, Notification.id).join(
                newest, Notification.id == newest.c.id
            )
        )
    }
    return {
        route: RouteCounts(
            pending=by_status.get(Status.PENDING.value, 0),
            sent=by_status.get(Status.SENT.value, 0),
            failed=by_status.get(Status.FAILED.value, 0),
            last_error=errors.get(route, (None, None))[0],
            last_error_notification=errors.get(route, (None, None))[1],
        )
        for route, by_status in counts.items()
    }
