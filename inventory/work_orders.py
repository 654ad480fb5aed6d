"""The one writer of field teams and work orders (``field_teams``, ``field_team_members``,
``work_orders``, ``work_order_entries``, ``work_order_photos``).

The rules of the work (which state may follow which, who may do what, what telemetry
must show for ``verified``) are :mod:`fieldwork`'s; this module stores what fieldwork
decided and reads it back, so the rows' shape is written once. A team's own rules (its
district and partner exist, its members are users) are checked here, like
:mod:`inventory.maintenance`'s: they need nothing but the rows.

Every function takes a Session and leaves the commit to its caller (the API and the CLI
commit a change with its audit row; the fault engine a verification with its cycle).
Readers return plain views, never ORM objects.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, delete, select
from sqlalchemy.orm import Session

from core.errors import ConflictError, InventoryError
from core.incidents import Responsible
from inventory.models import (
    District,
    FieldTeam,
    FieldTeamMember,
    Partner,
    Site,
    User,
    WorkOrder,
    WorkOrderEntry,
    WorkOrderPhoto,
)
from inventory.paging import page

__all__ = [
    "MAX_NOTE",
    "OPEN_STATES",
    "EntryKind",
    "OrderEntry",
    "OrderState",
    "OrderView",
    "PhotoView",
    "TeamError",
    "TeamView",
    "create_team",
    "entries",
    "fixed_orders",
    "get",
    "get_team",
    "insert",
    "locked",
    "orders",
    "photo",
    "set_members",
    "set_note",
    "set_photo",
    "set_state",
    "set_team",
    "teams",
    "teams_of",
]

MAX_NOTE = 1000  # work_orders.note, work_order_entries.detail
_ACTOR_LEN = 64
_NAME_LEN = 200
_ID_LEN = 64


class OrderState(enum.StrEnum):
    """Where a work order stands; values are the strings stored and sent."""

    NEW = "new"  # made from an incident, no team yet
    ASSIGNED = "assigned"  # a team has it
    ON_SITE = "on_site"  # a technician is there
    FIXED = "fixed"  # the technician says it is fixed: telemetry has not yet
    VERIFIED = "verified"  # telemetry says so: every enabled AP up, clients back
    CANCELLED = "cancelled"


#: Still to be worked on or verified.
OPEN_STATES: tuple[OrderState, ...] = (
    OrderState.NEW,
    OrderState.ASSIGNED,
    OrderState.ON_SITE,
    OrderState.FIXED,
)


class EntryKind(enum.StrEnum):
    """What a timeline entry records (``detail`` in brackets)."""

    CREATED = "created"  # [the incident]
    ASSIGNED = "assigned"  # [the team id]
    STATE = "state"  # [the new state]
    NOTE = "note"  # [the note]
    PHOTO = "photo"  # [its size]
    VERIFIED = "verified"  # [what telemetry showed] (actor None)
    CANCELLED = "cancelled"  # [why, if said]


class TeamError(InventoryError):
    """A team's values break a rule; ``fields`` pairs each field with what is wrong."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self.fields = fields
        super().__init__([f"{field}: {message}" for field, message in fields])


@dataclass(frozen=True)
class TeamView:
    id: str
    name: str
    district_id: str | None
    responsible: Responsible
    partner_id: str | None
    members: tuple[str, ...]  # user names, sorted


@dataclass(frozen=True)
class OrderView:
    id: int
    incident_id: int
    site_id: str
    team_id: str | None
    state: OrderState
    created_at: float
    created_by: str
    updated_at: float
    fixed_at: float | None
    verified_at: float | None
    note: str | None
    has_photo: bool


@dataclass(frozen=True)
class OrderEntry:
    id: int
    at: float
    actor: str | None  # None: the telemetry check
    kind: EntryKind
    detail: str | None


@dataclass(frozen=True)
class PhotoView:
    content_type: str
    width: int
    height: int
    data: bytes
    taken_by: str
    uploaded_at: float


def _clip(value: str | None, length: int) -> str | None:
    return None if value is None else value[:length]


# --- teams ------------------------------------------------------------------------------


def _members(session: Session, team_ids: Collection[str]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = defaultdict(list)
    if team_ids:
        query = (
            select(FieldTeamMember.team_id, User.name)
            .join(User, User.id == FieldTeamMember.user_id)
            .where(FieldTeamMember.team_id.in_(list(team_ids)))
            .order_by(User.name)
        )
        for team_id, name in session.execute(query):
            found[team_id].append(name)
    return {team_id: tuple(found.get(team_id, ())) for team_id in team_ids}


def _team_view(row: FieldTeam, members: tuple[str, ...]) -> TeamView:
    return TeamView(
        id=row.id,
        name=row.name,
        district_id=row.district_id,
        responsible=Responsible(row.responsible),
        partner_id=row.partner_id,
        members=members,
    )


def teams(session: Session, *, team_ids: Collection[str] | None = None) -> list[TeamView]:
    """Every team (or those of ``team_ids``), by id, with their members."""
    query = select(FieldTeam).order_by(FieldTeam.id)
    if team_ids is not None:
        query = query.where(FieldTeam.id.in_(list(team_ids)))
    rows = list(session.scalars(query))
    members = _members(session, [row.id for row in rows])
    return [_team_view(row, members[row.id]) for row in rows]


def get_team(session: Session, team_id: str) -> TeamView | None:
    row = session.get(FieldTeam, team_id)
    return None if row is None else _team_view(row, _members(session, [team_id])[team_id])


def teams_of(session: Session, user_id: int) -> set[str]:
    """The ids of the teams a user is a member of."""
    query = select(FieldTeamMember.team_id).where(FieldTeamMember.user_id == user_id)
    return set(session.scalars(query))


def create_team(
    session: Session,
    *,
    team_id: str,
    name: str,
    responsible: Responsible,
    district_id: str | None = None,
    partner_id: str | None = None,
) -> TeamView:
    """A new team without members; ConflictError if the id is taken, TeamError naming
    each field that breaks a rule (empty or too long, an unknown district or partner, a
    partner for a team that is not a sponsor's)."""
    problems: list[tuple[str, str]] = []
    if not team_id.strip() or len(team_id) > _ID_LEN:
        problems.append(("id", f"1..{_ID_LEN} characters"))
    if not name.strip() or len(name) > _NAME_LEN:
        problems.append(("name", f"1..{_NAME_LEN} characters"))
    if district_id is not None and session.get(District, district_id) is None:
        problems.append(("district_id", f"no district with id {district_id!r}"))
    if partner_id is not None:
        if session.get(Partner, partner_id) is None:
            problems.append(("partner_id", f"no partner with id {partner_id!r}"))
        elif Responsible(responsible) is not Responsible.SPONSOR:
            problems.append(("partner_id", "only a sponsor's team (responsible sponsor) has one"))
    if problems:
        raise TeamError(problems)
    if session.get(FieldTeam, team_id) is not None:
        raise ConflictError(f"field team {team_id!r} already exists")
    row = FieldTeam(
        id=team_id,
        name=name,
        responsible=Responsible(responsible).value,
        district_id=district_id,
        partner_id=partner_id,
    )
    session.add(row)
    session.flush()
    return _team_view(row, ())


def set_members(session: Session, team_id: str, names: Iterable[str]) -> TeamView:
    """Make the team's members exactly the users ``names``; ConflictError for an unknown
    team, TeamError naming the unknown users."""
    row = session.get(FieldTeam, team_id)
    if row is None:
        raise ConflictError(f"no field team {team_id!r}")
    wanted = sorted(set(names))
    query = select(User.name, User.id).where(User.name.in_(wanted))
    users = {name: user_id for name, user_id in session.execute(query)}
    unknown = [name for name in wanted if name not in users]
    if unknown:
        raise TeamError([("members", f"no user named {', '.join(map(repr, unknown))}")])
    session.execute(delete(FieldTeamMember).where(FieldTeamMember.team_id == team_id))
    session.add_all(FieldTeamMember(team_id=team_id, user_id=users[name]) for name in wanted)
    session.flush()
    return _team_view(row, tuple(wanted))


# --- work orders: readers ---------------------------------------------------------------


def _order_view(row: WorkOrder, has_photo: bool) -> OrderView:
    return OrderView(
        id=row.id,
        incident_id=row.incident_id,
        site_id=row.site_id,
        team_id=row.team_id,
        state=OrderState(row.state),
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        fixed_at=row.fixed_at,
        verified_at=row.verified_at,
        note=row.note,
        has_photo=has_photo,
    )


def _with_photos(session: Session, rows: list[WorkOrder]) -> list[OrderView]:
    ids = [row.id for row in rows]
    photos = (
        set(
            session.scalars(select(WorkOrderPhoto.order_id).where(WorkOrderPhoto.order_id.in_(ids)))
        )
        if ids
        else set()
    )
    return [_order_view(row, row.id in photos) for row in rows]


def orders(
    session: Session,
    *,
    team_ids: Collection[str] | None = None,
    states: Collection[OrderState] | None = None,
    site_id: str | None = None,
    incident_id: int | None = None,
    district_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[OrderView], int]:
    """One page of orders, newest first, and how many match. ``team_ids`` None: every
    order; a set (a technician's teams): only those teams' orders (an empty set: none)."""
    conditions: list[ColumnElement[bool]] = []
    if team_ids is not None:
        conditions.append(WorkOrder.team_id.in_(list(team_ids)))
    if states is not None:
        conditions.append(WorkOrder.state.in_([OrderState(s).value for s in states]))
    if site_id is not None:
        conditions.append(WorkOrder.site_id == site_id)
    if incident_id is not None:
        conditions.append(WorkOrder.incident_id == incident_id)
    query: Select[WorkOrder] = select(WorkOrder).where(*conditions)
    if district_id is not None:
        query = query.join(Site, Site.id == WorkOrder.site_id).where(
            Site.district_id == district_id
        )
    rows, total = page(
        session,
        query,
        order_by=(WorkOrder.created_at.desc(), WorkOrder.id.desc()),
        limit=limit,
        offset=offset,
    )
    return _with_photos(session, rows), total


def get(session: Session, order_id: int) -> OrderView | None:
    row = session.get(WorkOrder, order_id)
    return None if row is None else _with_photos(session, [row])[0]


def entries(session: Session, order_id: int) -> list[OrderEntry]:
    """The order's timeline, oldest first."""
    query = (
        select(WorkOrderEntry)
        .where(WorkOrderEntry.order_id == order_id)
        .order_by(WorkOrderEntry.at, WorkOrderEntry.id)
    )
    return [
        OrderEntry(id=e.id, at=e.at, actor=e.actor, kind=EntryKind(e.kind), detail=e.detail)
        for e in session.scalars(query)
    ]


def photo(session: Session, order_id: int) -> PhotoView | None:
    row = session.get(WorkOrderPhoto, order_id)
    if row is None:
        return None
    return PhotoView(
        content_type=row.content_type,
        width=row.width,
        height=row.height,
        data=row.data,
        taken_by=row.taken_by,
        uploaded_at=row.uploaded_at,
    )


def fixed_orders(session: Session) -> list[OrderView]:
    """Every order a technician has marked fixed, which telemetry has yet to confirm."""
    query = (
        select(WorkOrder).where(WorkOrder.state == OrderState.FIXED.value).order_by(WorkOrder.id)
    )
    return _with_photos(session, list(session.scalars(query)))


# --- work orders: writers (the rules are fieldwork's) ----------------------------------


def _entry(
    session: Session,
    order_id: int,
    kind: EntryKind,
    *,
    now: float,
    actor: str | None,
    detail: str | None = None,
) -> None:
    session.add(
        WorkOrderEntry(
            order_id=order_id,
            at=now,
            actor=_clip(actor, _ACTOR_LEN),
            kind=kind.value,
            detail=_clip(detail, MAX_NOTE),
        )
    )


def _row(session: Session, order_id: int) -> WorkOrder:
    # Locked and read afresh, as incidents are: a technician's change and the engine's
    # verification may meet on one order.
    row = session.get(WorkOrder, order_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise ConflictError(f"work order {order_id} does not exist")
    return row


def locked(session: Session, order_id: int) -> OrderView:
    """The order read afresh under a row lock (what a rule is checked against before a
    change); ConflictError when it does not exist."""
    return _with_photos(session, [_row(session, order_id)])[0]


def insert(
    session: Session,
    *,
    incident_id: int,
    site_id: str,
    team_id: str | None,
    actor: str,
    now: float,
    note: str | None = None,
) -> OrderView:
    """A new order, ``assigned`` when it has a team, else ``new``."""
    state = OrderState.ASSIGNED if team_id is not None else OrderState.NEW
    row = WorkOrder(
        incident_id=incident_id,
        site_id=site_id,
        team_id=team_id,
        state=state.value,
        created_at=now,
        created_by=_clip(actor, _ACTOR_LEN) or "",
        updated_at=now,
        note=_clip(note, MAX_NOTE),
    )
    session.add(row)
    session.flush()
    _entry(
        session, row.id, EntryKind.CREATED, now=now, actor=actor, detail=f"incident {incident_id}"
    )
    if note is not None:
        _entry(session, row.id, EntryKind.NOTE, now=now, actor=actor, detail=note)
    if team_id is not None:
        _entry(session, row.id, EntryKind.ASSIGNED, now=now, actor=actor, detail=team_id)
    session.flush()
    return _order_view(row, False)


def set_team(session: Session, order_id: int, team_id: str, *, actor: str, now: float) -> OrderView:
    """Give the order to a team: it is ``assigned`` (again) from then on."""
    row = _row(session, order_id)
    row.team_id = team_id
    row.state = OrderState.ASSIGNED.value
    row.fixed_at = None
    row.updated_at = now
    _entry(session, order_id, EntryKind.ASSIGNED, now=now, actor=actor, detail=team_id)
    session.flush()
    return locked(session, order_id)


def set_state(
    session: Session,
    order_id: int,
    state: OrderState,
    *,
    actor: str | None,
    now: float,
    detail: str | None = None,
) -> OrderView:
    """Store a state fieldwork allowed: ``fixed_at`` set on fixed (cleared when work goes
    on), ``verified_at`` on verified; a timeline entry (verified and cancelled have
    their own kinds, with ``detail``)."""
    state = OrderState(state)
    row = _row(session, order_id)
    row.state = state.value
    row.updated_at = now
    if state is OrderState.FIXED:
        row.fixed_at = now
    elif state is OrderState.VERIFIED:
        row.verified_at = now
    elif state is not OrderState.CANCELLED:
        row.fixed_at = None
    kind = {OrderState.VERIFIED: EntryKind.VERIFIED, OrderState.CANCELLED: EntryKind.CANCELLED}
    found = kind.get(state)
    if found is None:
        _entry(session, order_id, EntryKind.STATE, now=now, actor=actor, detail=state.value)
        if detail is not None:
            _entry(session, order_id, EntryKind.NOTE, now=now, actor=actor, detail=detail)
            row.note = _clip(detail, MAX_NOTE)
    else:
        _entry(session, order_id, found, now=now, actor=actor, detail=detail)
    session.flush()
    return locked(session, order_id)


def set_note(session: Session, order_id: int, note: str, *, actor: str, now: float) -> OrderView:
    """The order's note becomes ``note`` (every note stays on the timeline)."""
    row = _row(session, order_id)
    row.note = _clip(note, MAX_NOTE)
    row.updated_at = now
    _entry(session, order_id, EntryKind.NOTE, now=now, actor=actor, detail=note)
    session.flush()
    return locked(session, order_id)


def set_photo(
    session: Session,
    order_id: int,
    *,
    content_type: str,
    width: int,
    height: int,
    data: bytes,
    actor: str,
    now: float,
) -> OrderView:
    """The order's one photo (an earlier one is replaced); already sanitised."""
    row = _row(session, order_id)
    existing = session.get(WorkOrderPhoto, order_id)
    if existing is not None:
        session.delete(existing)
        session.flush()
    session.add(
        WorkOrderPhoto(
            order_id=order_id,
            content_type=content_type,
            width=width,
            height=height,
            data=data,
            taken_by=_clip(actor, _ACTOR_LEN) or "",
            uploaded_at=now,
        )
    )
    row.updated_at = now
    detail = f"{content_type} {width}x{height}, {len(data)} bytes"
    _entry(session, order_id, EntryKind.PHOTO, now=now, actor=actor, detail=detail)
    session.flush()
    return locked(session, order_id)
