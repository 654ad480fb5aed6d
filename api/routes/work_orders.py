"""Field teams and work orders (issue 16): managers send teams to fix hotspots, technicians
say they are on site and that it is fixed; telemetry, not a person, says it is verified.

Two rights, one per route (``core.access``):

- ``work-orders:manage`` (engineer, admin): teams and their members, every order, making
  an order from an incident, giving it to a team, cancelling it, its photo;
- ``work-orders:work`` (field, admin): ``/work-orders/mine`` (the orders of the caller's
  teams: a manager who also works, the admin, sees all) and the technician's acts on
  an order: ``state`` (on_site, fixed), ``notes``, ``photo``. An order of another team
  answers 404, exactly like one that does not exist.

``verified`` is never set through the API: asking for it is a 422 saying why (the fault
engine sets it from telemetry, :mod:`fieldwork.verify`). Every change is audited in the
transaction that makes it (FIELD_TEAM_CHANGED, WORK_ORDER_CREATED, WORK_ORDER_CHANGED).
Partners have neither right: every route is a 403 for them.
"""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.access_models import ErrorPublic, error_responses
from api.auth import PrincipalDep, client_address, require
from api.body import read_capped
from api.deps import DEFAULT_LIMIT, LimitQuery, NowDep, OffsetQuery, SessionDep, SettingsDep
from api.filters import MAX_ID_LENGTH, DistrictQuery, SiteQuery
from api.times import utc
from api.work_order_models import (
    Action,
    FieldTeamIn,
    FieldTeamMembersIn,
    FieldTeamPublic,
    FieldTeamsPublic,
    WorkOrderApPublic,
    WorkOrderAssign,
    WorkOrderCancel,
    WorkOrderDetailPublic,
    WorkOrderEntryPublic,
    WorkOrderIn,
    WorkOrderIncidentPublic,
    WorkOrderNoteIn,
    WorkOrderPhotoIn,
    WorkOrderPublic,
    WorkOrderSitePublic,
    WorkOrdersPublic,
    WorkOrderStateIn,
)
from citizens.photos import PhotoTooLarge, sanitize
from core.access import AuditAction, Permission, Principal
from core.errors import ConflictError
from core.incidents import IncidentClass, IncidentState
from core.states import ApState
from fieldwork import orders as rules
from fieldwork.orders import OrderError
from inventory import audit, work_orders
from inventory.models import AccessPoint, ApStatus, Incident, Site
from inventory.work_orders import OPEN_STATES, OrderState, OrderView, TeamError, TeamView

router = APIRouter(tags=["work orders"])

ORDERS = "/api/v1/work-orders"
TEAMS = "/api/v1/field-teams"

OrderIdPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="Work order id.")]
TeamIdPath = Annotated[str, Path(max_length=MAX_ID_LENGTH, description="Field team id.")]
StateQuery = Annotated[OrderState | None, Query(description="Only orders in this state.")]
OpenQuery = Annotated[
    bool | None, Query(description="true: only orders still to do or to verify; false: closed.")
]
TeamQuery = Annotated[str | None, Query(max_length=MAX_ID_LENGTH, description="Team id.")]
IncidentQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Incident id.")]

_MANAGE = [require(Permission.WORK_ORDERS_MANAGE)]
_WORK = [require(Permission.WORK_ORDERS_WORK)]
_TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorPublic, "description": "The photo is over the size limit."}
}


# --- answers ----------------------------------------------------------------------------


def team_public(view: TeamView) -> FieldTeamPublic:
    return FieldTeamPublic(
        id=view.id,
        name=view.name,
        district_id=view.district_id,
        responsible=view.responsible,
        partner_id=view.partner_id,
        members=list(view.members),
    )


def actions_for(principal: Principal, order: OrderView) -> list[Action]:
    """The buttons the caller has for ``order`` now (visibility is checked before)."""
    allowed = rules.TRANSITIONS[order.state]
    found: list[Action] = []
    if principal.may(Permission.WORK_ORDERS_MANAGE) and OrderState.ASSIGNED in allowed:
        found.append("assign")
    if principal.may(Permission.WORK_ORDERS_WORK):
        found += [s.value for s in (OrderState.ON_SITE, OrderState.FIXED) if s in allowed]  # type: ignore[misc]
        if order.state in OPEN_STATES:
            found += ["note", "photo"]
    if principal.may(Permission.WORK_ORDERS_MANAGE) and OrderState.CANCELLED in allowed:
        found.append("cancel")
    return found


def orders_public(
    session: Session, principal: Principal, views: list[OrderView]
) -> list[WorkOrderPublic]:
    """The orders with their incident, site, the site's enabled APs and team: a few
    queries for a whole page, none per order."""
    incident_ids = {v.incident_id for v in views}
    site_ids = {v.site_id for v in views}
    incidents = (
        {i.id: i for i in session.scalars(select(Incident).where(Incident.id.in_(incident_ids)))}
        if incident_ids
        else {}
    )
    sites = (
        {s.id: s for s in session.scalars(select(Site).where(Site.id.in_(site_ids)))}
        if site_ids
        else {}
    )
    aps: dict[str, list[WorkOrderApPublic]] = defaultdict(list)
    if site_ids:
        query = (
            select(AccessPoint.site_id, AccessPoint.id, AccessPoint.name, ApStatus)
            .outerjoin(ApStatus, ApStatus.ap_id == AccessPoint.id)
            .where(AccessPoint.site_id.in_(site_ids), AccessPoint.enabled.is_(True))
            .order_by(AccessPoint.id)
        )
        for site_id, ap_id, name, status in session.execute(query):
            aps[site_id].append(
                WorkOrderApPublic(
                    id=ap_id,
                    name=name,
                    state=status.state if status is not None else ApState.UNKNOWN.value,
                    since=utc(status.since) if status is not None else None,
                    last_seen=utc(status.last_seen) if status is not None else None,
                )
            )
    team_names = {t.id: t.name for t in work_orders.teams(session)}
    found = []
    for view in views:
        incident = incidents[view.incident_id]
        site = sites.get(view.site_id)
        found.append(
            WorkOrderPublic(
                id=view.id,
                state=view.state,
                incident=WorkOrderIncidentPublic(
                    id=incident.id,
                    class_=IncidentClass(incident.kind),
                    state=IncidentState(incident.state),
                    explanation=incident.explanation,
                    priority=incident.priority,
                ),
                site=WorkOrderSitePublic(
                    id=view.site_id,
                    name=site.name if site is not None else None,
                    lat=site.lat if site is not None else None,
                    lon=site.lon if site is not None else None,
                    district_id=site.district_id if site is not None else None,
                ),
                aps=aps.get(view.site_id, []),
                team_id=view.team_id,
                team_name=team_names.get(view.team_id or ""),
                created_at=utc(view.created_at),
                created_by=view.created_by,
                updated_at=utc(view.updated_at),
                fixed_at=utc(view.fixed_at),
                verified_at=utc(view.verified_at),
                note=view.note,
                has_photo=view.has_photo,
                actions=actions_for(principal, view),
            )
        )
    return found


def _detail(session: Session, principal: Principal, view: OrderView) -> WorkOrderDetailPublic:
    (public,) = orders_public(session, principal, [view])
    timeline = [
        WorkOrderEntryPublic(at=utc(e.at), actor=e.actor, kind=e.kind, detail=e.detail)
        for e in work_orders.entries(session, view.id)
    ]
    return WorkOrderDetailPublic(**public.model_dump(), timeline=timeline)


def _visible(session: Session, principal: Principal, order_id: int) -> OrderView:
    """The order if the caller may see it; else the one 404 of a missing order."""
    view = work_orders.get(session, order_id)
    if view is None or not rules.may_see(session, principal, view):
        raise HTTPException(status_code=404, detail=f"no work order with id {order_id}")
    return view


def _invalid(fields: list[tuple[str, str]]) -> RequestValidationError:
    """A rule broken: a 422 naming the field, as FastAPI's own."""
    return RequestValidationError(
        [
            {"type": "value_error", "loc": ("body", field), "msg": message, "input": None}
            for field, message in fields
        ]
    )


def _audit(
    session: Session,
    request: Request,
    principal: Principal,
    action: AuditAction,
    target: str,
    detail: str,
    now: float,
) -> None:
    """Record the change and commit it with the change."""
    audit.record(
        session,
        action,
        actor=principal.name,
        target=target,
        address=client_address(request),
        detail=detail,
        now=now,
    )
    session.commit()


def _listed(
    session: Session,
    principal: Principal,
    *,
    teams: set[str] | None,
    state: OrderState | None,
    open_: bool | None,
    team: str | None,
    site: str | None,
    district: str | None,
    incident: int | None,
    limit: int,
    offset: int,
) -> WorkOrdersPublic:
    states: set[OrderState] | None = None
    if open_ is not None:
        states = set(OPEN_STATES) if open_ else set(OrderState) - set(OPEN_STATES)
    if state is not None:
        states = {state} & states if states is not None else {state}
    if team is not None:
        teams = {team} & teams if teams is not None else {team}
    views, count = work_orders.orders(
        session,
        team_ids=teams,
        states=states,
        site_id=site,
        district_id=district,
        incident_id=incident,
        limit=limit,
        offset=offset,
    )
    return WorkOrdersPublic(data=orders_public(session, principal, views), count=count)


# --- teams (work-orders:manage) ---------------------------------------------------------


@router.get(TEAMS, response_model=FieldTeamsPublic, dependencies=_MANAGE)
def list_teams(session: SessionDep) -> Any:
    """Every field team with its members, by id."""
    found = work_orders.teams(session)
    return FieldTeamsPublic(data=[team_public(t) for t in found], count=len(found))


@router.post(
    TEAMS,
    status_code=201,
    response_model=FieldTeamPublic,
    dependencies=_MANAGE,
    responses=error_responses(400, 409),
    summary="Make a field team (the city's own, the backhaul operator's or a sponsor's)",
)
def create_team(
    session: SessionDep, principal: PrincipalDep, request: Request, now: NowDep, body: FieldTeamIn
) -> Any:
    try:
        view = work_orders.create_team(
            session,
            team_id=body.id,
            name=body.name,
            responsible=body.responsible,
            district_id=body.district_id,
            partner_id=body.partner_id,
        )
    except TeamError as exc:
        session.rollback()
        raise _invalid(exc.fields) from None
    except ConflictError as exc:
        session.rollback()
        raise HTTPException(status_code=409, detail=str(exc)) from None
    detail = (
        f"created {view.name!r}: responsible {view.responsible.value}, "
        f"district {view.district_id or '-'}, partner {view.partner_id or '-'}"
    )
    _audit(
        session, request, principal, AuditAction.FIELD_TEAM_CHANGED, f"field team {view.id}",
        detail, now,
    )  # fmt: skip
    return team_public(view)


@router.put(
    TEAMS + "/{team_id}/members",
    response_model=FieldTeamPublic,
    dependencies=_MANAGE,
    responses=error_responses(400, 404),
    summary="Set a team's members (user names: the whole list)",
)
def set_members(
    session: SessionDep,
    principal: PrincipalDep,
    request: Request,
    now: NowDep,
    team_id: TeamIdPath,
    body: FieldTeamMembersIn,
) -> Any:
    if work_orders.get_team(session, team_id) is None:
        raise HTTPException(status_code=404, detail=f"no field team with id {team_id!r}")
    try:
        view = work_orders.set_members(session, team_id, body.members)
    except TeamError as exc:
        session.rollback()
        raise _invalid(exc.fields) from None
    detail = f"members: {', '.join(view.members) or 'none'}"
    _audit(
        session, request, principal, AuditAction.FIELD_TEAM_CHANGED, f"field team {view.id}",
        detail, now,
    )  # fmt: skip
    return team_public(view)


# --- orders: a technician's (work-orders:work) ------------------------------------------
# Declared before /{order_id} so that "mine" is never read as an id.


@router.get(ORDERS + "/mine", response_model=WorkOrdersPublic, dependencies=_WORK)
def my_orders(
    session: SessionDep,
    principal: PrincipalDep,
    state: StateQuery = None,
    open: OpenQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    """The orders of the caller's teams, newest first (``open=true``: the day's work)."""
    return _listed(
        session, principal, teams=rules.visible_teams(session, principal), state=state,
        open_=open, team=None, site=None, district=None, incident=None, limit=limit,
        offset=offset,
    )  # fmt: skip


@router.get(
    ORDERS + "/mine/{order_id}",
    response_model=WorkOrderDetailPublic,
    dependencies=_WORK,
    responses=error_responses(404),
)
def my_order(session: SessionDep, principal: PrincipalDep, order_id: OrderIdPath) -> Any:
    """One order of the caller's teams, with its timeline."""
    return _detail(session, principal, _visible(session, principal, order_id))


def _photo_response(session: Session, order_id: int) -> Response:
    found = work_orders.photo(session, order_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"work order {order_id} has no photo")
    return Response(
        content=found.data,
        media_type=found.content_type,
        headers={"Cache-Control": "private, no-store"},
    )


_PHOTO_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "The photo."},
    **error_responses(404),
}


@router.get(
    ORDERS + "/mine/{order_id}/photo",
    response_class=Response,
    dependencies=_WORK,
    responses=_PHOTO_ANSWER,
)
def my_order_photo(session: SessionDep, principal: PrincipalDep, order_id: OrderIdPath) -> Any:
    """The photo of the fix (404 when there is none)."""
    _visible(session, principal, order_id)
    return _photo_response(session, order_id)


def _changed(
    session: Session,
    request: Request,
    principal: Principal,
    view: OrderView,
    detail: str,
    now: float,
) -> WorkOrderPublic:
    _audit(
        session, request, principal, AuditAction.WORK_ORDER_CHANGED, f"work order {view.id}",
        detail, now,
    )  # fmt: skip
    (public,) = orders_public(session, principal, [view])
    return public


def _acting(session: Session, act: Any) -> OrderView:
    """Run a rule of fieldwork.orders: 422 naming the field, 409 for the state."""
    try:
        view: OrderView = act()
    except OrderError as exc:
        session.rollback()
        raise _invalid(exc.fields) from None
    except ConflictError as exc:
        session.rollback()
        raise HTTPException(status_code=409, detail=str(exc)) from None
    return view


@router.post(
    ORDERS + "/{order_id}/state",
    response_model=WorkOrderPublic,
    dependencies=_WORK,
    responses=error_responses(400, 404, 409),
    summary="A technician's change: on_site or fixed (verified comes only from telemetry: 422)",
)
def change_state(
    session: SessionDep,
    principal: PrincipalDep,
    request: Request,
    now: NowDep,
    order_id: OrderIdPath,
    body: WorkOrderStateIn,
) -> Any:
    _visible(session, principal, order_id)
    view = _acting(
        session,
        lambda: rules.work(
            session, order_id, body.state, actor=principal.name, now=now, note=body.note
        ),
    )
    detail = view.state.value + (" (with a note)" if body.note else "")
    return _changed(session, request, principal, view, detail, now)


@router.post(
    ORDERS + "/{order_id}/notes",
    response_model=WorkOrderPublic,
    dependencies=_WORK,
    responses=error_responses(400, 404, 409),
)
def add_note(
    session: SessionDep,
    principal: PrincipalDep,
    request: Request,
    now: NowDep,
    order_id: OrderIdPath,
    body: WorkOrderNoteIn,
) -> Any:
    """A technician's note (the latest is the order's ``note``; all are on the timeline)."""
    _visible(session, principal, order_id)
    view = _acting(
        session, lambda: rules.note(session, order_id, body.note, actor=principal.name, now=now)
    )
    return _changed(session, request, principal, view, f"note ({len(body.note)} characters)", now)


async def _photo_in(request: Request, settings: SettingsDep) -> WorkOrderPhotoIn:
    """The photo's JSON, read capped (:func:`api.body.read_capped`): base64 of the largest
    photo the settings allow, plus room for line breaks and the envelope. FastAPI would
    hold the whole body before any check."""
    limit = -(-settings.citizen_photo_max_bytes // 3) * 4 * 77 // 76 + 4096
    too_large = f"the photo is over {settings.citizen_photo_max_bytes} bytes"
    data = await read_capped(request, limit, too_large)
    try:
        return WorkOrderPhotoIn.model_validate_json(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [
                {"type": e["type"], "loc": ("body", *e["loc"]), "msg": e["msg"], "input": None}
                for e in exc.errors()
            ]
        ) from None


@router.put(
    ORDERS + "/{order_id}/photo",
    response_model=WorkOrderPublic,
    dependencies=_WORK,
    responses={**error_responses(400, 404, 409), **_TOO_LARGE},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": WorkOrderPhotoIn.model_json_schema()}},
        }
    },
)
def put_photo(
    session: SessionDep,
    principal: PrincipalDep,
    request: Request,
    now: NowDep,
    settings: SettingsDep,
    order_id: OrderIdPath,
    body: Annotated[WorkOrderPhotoIn, Depends(_photo_in)],
) -> Any:
    """The photo of the fix, base64 (JPEG, PNG or WebP); re-encoded without EXIF (no
    location, no camera data), at most ``citizen_photo_max_side_px`` on its long side.
    It replaces an earlier one; 413 past ``citizen_photo_max_bytes``."""
    _visible(session, principal, order_id)
    try:
        data = base64.b64decode(body.data, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid([("data", "not base64")]) from None
    try:
        photo = sanitize(
            data,
            max_bytes=settings.citizen_photo_max_bytes,
            max_side_px=settings.citizen_photo_max_side_px,
        )
    except PhotoTooLarge as exc:
        raise HTTPException(status_code=413, detail=str(exc)) from None
    except ValueError as exc:
        raise _invalid([("data", str(exc))]) from None
    view = _acting(
        session,
        lambda: rules.photo(
            session,
            order_id,
            content_type=photo.content_type,
            width=photo.width,
            height=photo.height,
            data=photo.data,
            actor=principal.name,
            now=now,
        ),
    )
    detail = f"photo {photo.content_type} {photo.width}x{photo.height}"
    return _changed(session, request, principal, view, detail, now)


# --- orders: a manager's (work-orders:manage) -------------------------------------------


@router.get(ORDERS, response_model=WorkOrdersPublic, dependencies=_MANAGE)
def list_orders(
    session: SessionDep,
    principal: PrincipalDep,
    state: StateQuery = None,
    open: OpenQuery = None,
    team: TeamQuery = None,
    site: SiteQuery = None,
    district: DistrictQuery = None,
    incident: IncidentQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    """Every order, newest first."""
    return _listed(
        session, principal, teams=None, state=state, open_=open, team=team, site=site,
        district=district, incident=incident, limit=limit, offset=offset,
    )  # fmt: skip


@router.get(
    ORDERS + "/{order_id}",
    response_model=WorkOrderDetailPublic,
    dependencies=_MANAGE,
    responses=error_responses(404),
)
def get_order(session: SessionDep, principal: PrincipalDep, order_id: OrderIdPath) -> Any:
    return _detail(session, principal, _visible(session, principal, order_id))


@router.get(
    ORDERS + "/{order_id}/photo",
    response_class=Response,
    dependencies=_MANAGE,
    responses=_PHOTO_ANSWER,
)
def order_photo(session: SessionDep, principal: PrincipalDep, order_id: OrderIdPath) -> Any:
    """The photo of the fix (404 when there is none)."""
    _visible(session, principal, order_id)
    return _photo_response(session, order_id)


@router.post(
    ORDERS,
    status_code=201,
    response_model=WorkOrderPublic,
    dependencies=_MANAGE,
    responses=error_responses(400, 409),
    summary="Make a work order from an active incident (assigned at once with team_id)",
)
def create_order(
    session: SessionDep, principal: PrincipalDep, request: Request, now: NowDep, body: WorkOrderIn
) -> Any:
    view = _acting(
        session,
        lambda: rules.create(
            session,
            incident_id=body.incident_id,
            site_id=body.site_id,
            team_id=body.team_id,
            note=body.note,
            actor=principal.name,
            now=now,
        ),
    )
    detail = f"incident {view.incident_id} at site {view.site_id}, team {view.team_id or '-'}"
    _audit(
        session, request, principal, AuditAction.WORK_ORDER_CREATED, f"work order {view.id}",
        detail, now,
    )  # fmt: skip
    (public,) = orders_public(session, principal, [view])
    return public


@router.post(
    ORDERS + "/{order_id}/assign",
    response_model=WorkOrderPublic,
    dependencies=_MANAGE,
    responses=error_responses(400, 404, 409),
    summary="Give an order to a team (again): it is assigned",
)
def assign_order(
    session: SessionDep,
    principal: PrincipalDep,
    request: Request,
    now: NowDep,
    order_id: OrderIdPath,
    body: WorkOrderAssign,
) -> Any:
    _visible(session, principal, order_id)
    view = _acting(
        session,
        lambda: rules.assign(session, order_id, body.team_id, actor=principal.name, now=now),
    )
    return _changed(session, request, principal, view, f"assigned to {body.team_id}", now)


@router.post(
    ORDERS + "/{order_id}/cancel",
    response_model=WorkOrderPublic,
    dependencies=_MANAGE,
    responses=error_responses(400, 404, 409),
    summary="Call the work off (before it is verified)",
)
def cancel_order(
    session: SessionDep,
    principal: PrincipalDep,
    request: Request,
    now: NowDep,
    order_id: OrderIdPath,
    body: WorkOrderCancel | None = None,
) -> Any:
    _visible(session, principal, order_id)
    reason = body.reason if body is not None else None
    view = _acting(
        session,
        lambda: rules.cancel(session, order_id, actor=principal.name, now=now, reason=reason),
    )
    detail = "cancelled" + (f": {reason}" if reason else "")
    return _changed(session, request, principal, view, detail, now)
