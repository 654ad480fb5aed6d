"""The one writer of the notification planner's state (``notification_groups``,
``notified_incidents``) and the one place that queues outbox rows (``notifications``).

The planner (:mod:`faults.planner`) reads what each route was told, decides, and writes
the new state and the messages it made through these functions in the same transaction:
a message is queued exactly when the state that says it was sent is stored, so neither a
crash nor a restart loses or repeats one. Delivery (:mod:`inventory.outbox`) only updates
the rows queued here.

Two planners running at once (a second demo by mistake, a restart overlapping the old
process) must not both queue the same message: a group's row is changed only if its
``sequence`` is still the one the planner read (compare and set), and a new group's row
is inserted, which the primary key lets only one of them do. The loser's transaction
fails with :class:`core.errors.ConflictError` and rolls back whole.

The citizens' messages ("the WiFi you reported works again", :func:`queue_citizen_notice`)
are queued here too, one per report, by the notifier's step (``faults.notifier``) in the
transaction that wipes the report's phone number. The number travels sealed: the row's
payload holds the report's sealed value as it was (``to``), opened only by delivery
(``faults.delivery``) and wiped from the row once the message is sent or given up
(:mod:`inventory.outbox`).

Readers return plain values (no ORM object escapes a session).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import ConflictError
from core.incidents import IncidentState
from inventory.models import (
    District,
    Incident,
    Notification,
    NotificationGroup,
    NotifiedIncident,
    Site,
    Uplink,
)
from inventory.outbox import Status

__all__ = [
    "CITIZEN_KIND",
    "PENDING",
    "GroupRow",
    "Places",
    "SiteFacts",
    "Told",
    "groups",
    "incident_rows",
    "places",
    "queue",
    "queue_citizen_notice",
    "record_told",
    "save_group",
    "told_incidents",
]

#: The status of a queued row nobody has tried to deliver yet (inventory.outbox's word).
PENDING = Status.PENDING.value
_SUBJECT_LEN = 300
#: The ``kind`` of a citizen's message: its payload's ``to`` is sealed until delivery.
CITIZEN_KIND = "citizen"


@dataclass(frozen=True)
class GroupRow:
    """A group's stored timing state (see faults.grouping.GroupState)."""

    route: str
    group_key: str
    pending_since: float | None
    last_sent_at: float | None
    sequence: int


@dataclass(frozen=True)
class Told:
    """What a route was last told of an incident, and in which of its groups."""

    group_key: str
    state: IncidentState
    told_at: float


@dataclass(frozen=True)
class SiteFacts:
    name: str
    partner_id: str | None
    uplink_id: str | None


@dataclass(frozen=True)
class Places:
    """The names and owners a route filter and a message's words need."""

    sites: Mapping[str, SiteFacts]
    districts: Mapping[str, str]  # id -> name
    uplinks: Mapping[str, tuple[str, str]]  # id -> (name, operator)


# --- readers ----------------------------------------------------------------------------


def groups(session: Session, routes: Collection[str]) -> dict[tuple[str, str], GroupRow]:
    """The stored groups of ``routes``, by (route, group key)."""
    if not routes:
        return {}
    query = select(NotificationGroup).where(NotificationGroup.route.in_(list(routes)))
    return {
        (row.route, row.group_key): GroupRow(
            row.route, row.group_key, row.pending_since, row.last_sent_at, row.sequence
        )
        for row in session.scalars(query)
    }


def told_incidents(
    session: Session, routes: Collection[str], *, active_ids: Collection[int]
) -> dict[str, dict[int, Told]]:
    """Per route, what it was told of each incident it must still hear about: every one
    told open or acknowledged (a resolved message may be owed), and the active ones told
    resolved (they were reopened). Incidents told resolved and still resolved are left
    out, so the read does not grow with the history."""
    found: dict[str, dict[int, Told]] = {route: {} for route in routes}
    if not routes:
        return found
    unresolved = NotifiedIncident.state != IncidentState.RESOLVED.value
    condition = unresolved
    if active_ids:
        condition = or_(unresolved, NotifiedIncident.incident_id.in_(list(active_ids)))
    query = select(NotifiedIncident).where(NotifiedIncident.route.in_(list(routes)), condition)
    for row in session.scalars(query):
        found[row.route][row.incident_id] = Told(
            row.group_key, IncidentState(row.state), row.told_at
        )
    return found


def incident_rows(session: Session, incident_ids: Iterable[int]) -> list[Incident]:
    """The incident rows of ``incident_ids`` (for :func:`inventory.incidents.views` or
    :func:`inventory.scoping.incident_views`), by id."""
    ids = sorted(set(incident_ids))
    if not ids:
        return []
    return list(session.scalars(select(Incident).where(Incident.id.in_(ids)).order_by(Incident.id)))


def places(session: Session, site_ids: Iterable[str]) -> Places:
    """The sites named (their name, partner and uplink), every district and uplink
    (a city has a few dozen of each)."""
    wanted = sorted(set(site_ids))
    sites: dict[str, SiteFacts] = {}
    for start in range(0, len(wanted), 1000):  # bounded IN lists
        query = select(Site.id, Site.name, Site.partner_id, Site.uplink_id).where(
            Site.id.in_(wanted[start : start + 1000])
        )
        for site_id, name, partner_id, uplink_id in session.execute(query):
            sites[site_id] = SiteFacts(name, partner_id, uplink_id)
    districts = {row.id: row.name for row in session.scalars(select(District))}
    uplinks = {row.id: (row.name, row.operator) for row in session.scalars(select(Uplink))}
    return Places(sites=sites, districts=districts, uplinks=uplinks)


# --- writers ----------------------------------------------------------------------------


def save_group(
    session: Session,
    route: str,
    group_key: str,
    *,
    read: GroupRow | None,
    pending_since: float | None,
    last_sent_at: float | None,
    sequence: int,
) -> None:
    """Store a group's new state; ``read`` is what the planner read (None: no row).

    Nothing is written when nothing changed. A row changed or inserted by someone else
    since ``read`` raises :class:`ConflictError` (the caller's transaction must then roll
    back: another planner has already queued this group's message)."""
    if read is None:
        if pending_since is None and last_sent_at is None and sequence == 0:
            return
        session.add(
            NotificationGroup(
                route=route,
                group_key=group_key,
                pending_since=pending_since,
                last_sent_at=last_sent_at,
                sequence=sequence,
            )
        )
        try:
            session.flush()
        except IntegrityError as exc:
            raise ConflictError(
                f"notification group {route}/{group_key} was created meanwhile"
            ) from exc
        return
    if (read.pending_since, read.last_sent_at, read.sequence) == (
        pending_since,
        last_sent_at,
        sequence,
    ):
        return
    result = session.execute(
        update(NotificationGroup)
        .where(
            NotificationGroup.route == route,
            NotificationGroup.group_key == group_key,
            NotificationGroup.sequence == read.sequence,
        )
        .values(pending_since=pending_since, last_sent_at=last_sent_at, sequence=sequence)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(f"notification group {route}/{group_key} was changed meanwhile")


def record_told(
    session: Session,
    route: str,
    group_key: str,
    told: Mapping[int, IncidentState],
    *,
    now: float,
) -> None:
    """The route has now been told each incident of ``told`` in the state given (rows
    created or updated; the group of an incident already told stays the one that told
    it, so its resolution goes where its opening went)."""
    if not told:
        return
    ids = sorted(told)
    query = select(NotifiedIncident).where(
        NotifiedIncident.route == route, NotifiedIncident.incident_id.in_(ids)
    )
    existing = {row.incident_id: row for row in session.scalars(query)}
    for incident_id in ids:
        state = IncidentState(told[incident_id]).value
        row = existing.get(incident_id)
        if row is None:
            session.add(
                NotifiedIncident(
                    route=route,
                    incident_id=incident_id,
                    group_key=group_key,
                    state=state,
                    told_at=now,
                )
            )
        else:
            if row.state == IncidentState.RESOLVED.value:
                row.group_key = group_key  # told again after a reopen: a new story
            row.state = state
            row.told_at = now
    session.flush()


def queue(
    session: Session,
    *,
    route: str,
    group_key: str,
    kind: str,
    subject: str,
    payload: str,
    now: float,
) -> int:
    """A new outbox row, pending and due now (no attempt yet); its id."""
    row = Notification(
        route=route,
        group_key=group_key,
        kind=kind,
        subject=subject[:_SUBJECT_LEN],
        payload=payload,
        created_at=now,
        due_at=now,
        status=PENDING,
        attempts=0,
    )
    session.add(row)
    session.flush()
    return row.id


def queue_citizen_notice(
    session: Session,
    *,
    route: str,
    report_id: int,
    text: str,
    phone_sealed: str,
    now: float,
) -> int:
    """Queue the message telling a citizen that what they reported works again; its row
    id. ``phone_sealed``: the report's number as stored (sealed), copied, never opened
    here. The message id, ``<route>:citizen-report-<id>:1``, is one per report."""
    group_key = f"citizen-report-{report_id}"
    payload = {
        "id": f"{route}:{group_key}:1",
        "route": route,
        "kind": CITIZEN_KIND,
        "created_at": datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z"),
        "report": report_id,
        "to": phone_sealed,
        "text": text,
    }
    return queue(
        session,
        route=route,
        group_key=group_key,
        kind=CITIZEN_KIND,
        subject=f"[citywifi] citizen report R-{report_id}: works again",
        payload=json.dumps(payload),
        now=now,
    )
