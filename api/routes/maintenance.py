"""Maintenance windows: planned work on a site or a district, during which the fault engine
opens no incident for what it covers (and a reboot is expected).

Reads need ``status:read`` and start from :mod:`inventory.scoping`: a partner sees the
windows covering its own sites (without their reason), and any other window answers 404
exactly like one that does not exist. Writes need ``maintenance:manage``, go through
:mod:`inventory.maintenance` (the one writer and the one place of the rules) and are
audited in the same transaction. DELETE ends a window now: one that has not started is
deleted, one that runs is cut short; one that has ended is history (409).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from api.access_models import error_responses
from api.auth import PrincipalDep, ScopeDep, client_address, require
from api.deps import DEFAULT_LIMIT, LimitQuery, NowDep, OffsetQuery, SessionDep
from api.filters import DistrictQuery, SiteQuery
from api.maintenance_models import (
    MaintenanceChange,
    MaintenanceIn,
    MaintenancePublic,
    MaintenancesPublic,
)
from api.times import utc
from api.visible import visible_window
from core.access import AuditAction, Permission, Principal
from core.errors import ConflictError
from core.incidents import IncidentScope
from inventory import audit, maintenance, scoping
from inventory.maintenance import WindowError, WindowState, WindowView
from inventory.models import MaintenanceWindow
from inventory.paging import page

router = APIRouter(prefix="/api/v1/maintenance", tags=["maintenance"])

# Bounded to a 32-bit integer, the column's range on PostgreSQL: a larger id would fail in
# the database (a 500) instead of being "no such window".
WindowIdPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="Maintenance window id.")]
StateQuery = Annotated[WindowState | None, Query(description="Only windows in this state (now).")]

_READ = [require(Permission.STATUS_READ)]
_MANAGE = [require(Permission.MAINTENANCE_MANAGE)]


def window_public(view: WindowView, now: float) -> MaintenancePublic:
    return MaintenancePublic(
        id=view.id,
        scope_kind=view.scope_kind.value,
        scope_id=view.scope_id,
        state=view.state(now),
        starts_at=utc(view.starts_at),
        ends_at=utc(view.ends_at),
        reason=view.reason,
        created_by=view.created_by,
        created_at=utc(view.created_at),
        updated_at=utc(view.updated_at),
    )


def _described(view: WindowView) -> str:
    """The audit detail: what the window covers, when, and why."""
    return (
        f"{view.scope_kind.value} {view.scope_id} "
        f"{utc(view.starts_at).isoformat()} .. {utc(view.ends_at).isoformat()}: {view.reason}"
    )


def _invalid(exc: WindowError) -> RequestValidationError:
    """A rule of inventory.maintenance broken: a 422 naming the field, as FastAPI's own."""
    return RequestValidationError(
        [
            {"type": "value_error", "loc": ("body", field), "msg": message, "input": None}
            for field, message in exc.fields
        ]
    )


def _audited(
    session: Session,
    request: Request,
    principal: Principal,
    action: AuditAction,
    view: WindowView,
    now: float,
    done: str | None = None,
) -> None:
    """Record the change (``done``: what ending did) and commit it with the change."""
    detail = _described(view) if done is None else f"{done}: {_described(view)}"
    audit.record(
        session,
        action,
        actor=principal.name,
        target=f"maintenance {view.id}",
        address=client_address(request),
        detail=detail,
        now=now,
    )
    session.commit()


@router.get(
    "",
    response_model=MaintenancesPublic,
    dependencies=_READ,
    responses=error_responses(401, 403),
)
def list_windows(
    session: SessionDep,
    scope: ScopeDep,
    now: NowDep,
    state: StateQuery = None,
    site: SiteQuery = None,
    district: DistrictQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    """Latest start first. ``site``: the windows covering it (its own and its district's);
    ``district``: the district's own and those of its sites."""
    conditions: list[ColumnElement[bool]] = []
    if state is not None:
        conditions.append(maintenance.state_condition(state, now))
    if site is not None:
        conditions.append(scoping.windows_covering_site(scope, site))
    if district is not None:
        conditions.append(scoping.windows_in_district(district))
    rows, count = page(
        session,
        scoping.scoped_windows(scope).where(*conditions),
        order_by=(MaintenanceWindow.starts_at.desc(), MaintenanceWindow.id.desc()),
        limit=limit,
        offset=offset,
    )
    views = scoping.window_views(scope, rows)
    return MaintenancesPublic(data=[window_public(v, now) for v in views], count=count)


@router.get(
    "/{window_id}",
    response_model=MaintenancePublic,
    dependencies=_READ,
    responses=error_responses(401, 403, 404),
)
def get_window(session: SessionDep, scope: ScopeDep, now: NowDep, window_id: WindowIdPath) -> Any:
    (view,) = scoping.window_views(scope, [visible_window(session, scope, window_id)])
    return window_public(view, now)


@router.post(
    "",
    status_code=201,
    response_model=MaintenancePublic,
    dependencies=_MANAGE,
    responses=error_responses(400, 401, 403),
    summary="Plan a maintenance window on a site or a district (at most 31 days)",
)
def create_window(
    session: SessionDep,
    principal: PrincipalDep,
    request: Request,
    now: NowDep,
    body: MaintenanceIn,
) -> Any:
    """It must end in the future and after it starts; the site or district must exist
    (422 naming the field otherwise)."""
    try:
        view = maintenance.create(
            session,
            scope_kind=IncidentScope(body.scope_kind),
            scope_id=body.scope_id,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            reason=body.reason,
            actor=principal.name,
            now=now,
        )
    except WindowError as exc:
        session.rollback()
        raise _invalid(exc) from None
    _audited(session, request, principal, AuditAction.MAINTENANCE_CREATED, view, now)
    return window_public(view, now)


@router.patch(
    "/{window_id}",
    response_model=MaintenancePublic,
    dependencies=_MANAGE,
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Change a window's times or reason (409 once it has ended, or to move the "
    "start of one that has started)",
)
def change_window(
    session: SessionDep,
    scope: ScopeDep,
    principal: PrincipalDep,
    request: Request,
    now: NowDep,
    window_id: WindowIdPath,
    body: MaintenanceChange,
) -> Any:
    visible_window(session, scope, window_id)
    try:
        view = maintenance.change(
            session,
            window_id,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            reason=body.reason,
            now=now,
        )
    except WindowError as exc:
        session.rollback()
        raise _invalid(exc) from None
    except ConflictError as exc:
        session.rollback()
        raise HTTPException(status_code=409, detail=str(exc)) from None
    _audited(session, request, principal, AuditAction.MAINTENANCE_CHANGED, view, now)
    return window_public(view, now)


@router.delete(
    "/{window_id}",
    status_code=204,
    response_class=Response,
    dependencies=_MANAGE,
    responses=error_responses(401, 403, 404, 409),
    summary="End a window now: deleted if it has not started, else cut short (409 once ended)",
)
def end_window(
    session: SessionDep,
    scope: ScopeDep,
    principal: PrincipalDep,
    request: Request,
    now: NowDep,
    window_id: WindowIdPath,
) -> None:
    visible_window(session, scope, window_id)
    try:
        view, done = maintenance.end(session, window_id, now=now)
    except ConflictError as exc:
        session.rollback()
        raise HTTPException(status_code=409, detail=str(exc)) from None
    _audited(session, request, principal, AuditAction.MAINTENANCE_ENDED, view, now, done.value)
