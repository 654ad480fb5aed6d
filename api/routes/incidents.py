"""Incidents: the list, one incident with its members and timeline, acknowledge, resolve
and notes, and the incident history of one AP or one site.

Every read starts from :mod:`inventory.scoping`: a partner sees the incidents that cover
at least one of its APs, and of each only its share (its members, counts and explanation);
any other incident answers 404 exactly like one that does not exist. Changes go through
:mod:`inventory.incidents` (the one writer of incident rows) and are audited in the same
transaction. Reading needs ``incidents:read``, changing ``incidents:act``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema
from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import Session

from api.access_models import error_responses
from api.auth import PrincipalDep, ScopeDep, client_address, require
from api.deps import DEFAULT_LIMIT, LimitQuery, NowDep, OffsetQuery, SessionDep
from api.filters import ApIdPath, DistrictQuery, SiteIdPath
from api.incident_models import (
    IncidentActionIn,
    IncidentDetailPublic,
    IncidentEntryPublic,
    IncidentMemberPublic,
    IncidentNoteIn,
    IncidentPublic,
    IncidentsPublic,
)
from api.times import MAX_TIME, MAX_TIME_TEXT, MIN_TIME, parse_time, time_in_range, utc
from api.visible import visible_ap, visible_incident, visible_site
from core.access import AuditAction, Permission, Principal, Scope
from core.errors import ConflictError
from core.incidents import IncidentClass, IncidentState
from inventory import audit, incidents, scoping
from inventory.incidents import IncidentView, TimelineEntry
from inventory.models import Incident, IncidentAp
from inventory.paging import page

router = APIRouter(tags=["incidents"])

# Bounded to a 32-bit integer, the column's range on PostgreSQL: a larger id would fail in
# the database (a 500) instead of being "no such incident".
IncidentIdPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="Incident id.")]


def _since_records_began(seconds: float | None) -> float | None:
    """A ``since`` before 1970 asks for everything: it is only a filter, never echoed, so
    it is taken as 1970 rather than refused (a date-time's text form cannot state the
    bound in OpenAPI, and refusing a schema-valid value would be an error the schema does
    not declare). Past 9999 is refused as for every time."""
    if seconds is None:
        return None
    return time_in_range(max(MIN_TIME, seconds))


SinceQuery = Annotated[
    float | None,
    BeforeValidator(parse_time),
    AfterValidator(_since_records_began),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time", "maxLength": MAX_TIME_TEXT},
                {"type": "number", "maximum": MAX_TIME},
            ]
        }
    ),
    Query(
        description="Only incidents still active at or after this time, or resolved at or "
        "after it: ISO 8601 (UTC if no offset) or UTC epoch seconds."
    ),
]
StateQuery = Annotated[IncidentState | None, Query(description="Only incidents in this state.")]
ClassQuery = Annotated[
    IncidentClass | None, Query(alias="class", description="Only incidents of this class.")
]
SortQuery = Annotated[
    Literal["newest", "priority"],
    Query(
        description="newest: newest first; priority: highest priority (citizens' reports) "
        "first, then newest."
    ),
]
_ORDER = {
    "newest": (Incident.opened_at.desc(), Incident.id.desc()),
    "priority": (Incident.priority.desc(), Incident.opened_at.desc(), Incident.id.desc()),
}

_READ = [require(Permission.INCIDENTS_READ)]
_ACT = [require(Permission.INCIDENTS_ACT)]


def incident_public(view: IncidentView) -> IncidentPublic:
    return IncidentPublic(
        id=view.id,
        class_=view.kind,
        scope_kind=view.scope_kind,
        scope_id=view.scope_id or None,
        district=view.district_id,
        state=view.state,
        opened_at=utc(view.opened_at),
        updated_at=utc(view.updated_at),
        acknowledged_at=utc(view.acknowledged_at),
        acknowledged_by=view.acknowledged_by,
        resolved_at=utc(view.resolved_at),
        resolved_by=view.resolved_by,
        responsible=view.responsible,
        explanation=view.explanation,
        verdict=view.verdict,
        merged_into=view.merged_into,
        reopened=view.reopened,
        ap_count=len(view.aps),
        site_count=len(view.sites),
        priority=view.priority,
        citizen_reports=view.citizen_reports,
    )


def entry_public(entry: TimelineEntry) -> IncidentEntryPublic:
    return IncidentEntryPublic(
        id=entry.id, at=utc(entry.at), kind=entry.kind, actor=entry.actor, detail=entry.detail
    )


def _detail(session: Session, scope: Scope, incident_id: int) -> IncidentDetailPublic:
    row = visible_incident(session, scope, incident_id)
    (view,) = scoping.incident_views(session, scope, [row])
    timeline = scoping.scoped_incident_timeline(session, scope, incident_id)
    return IncidentDetailPublic(
        **incident_public(view).model_dump(),
        aps=[IncidentMemberPublic(ap_id=ap, site_id=site) for ap, site in view.aps.items()],
        timeline=[entry_public(entry) for entry in timeline],
    )


def _listed(
    session: Session,
    scope: Scope,
    conditions: list[ColumnElement[bool]],
    *,
    limit: int,
    offset: int,
    sort: str = "newest",
) -> IncidentsPublic:
    query = scoping.scoped_incidents(scope).where(*conditions)
    rows, count = page(
        session,
        query,
        order_by=_ORDER[sort],
        limit=limit,
        offset=offset,
    )
    views = scoping.incident_views(session, scope, rows)
    return IncidentsPublic(data=[incident_public(view) for view in views], count=count)


@router.get(
    "/api/v1/incidents",
    response_model=IncidentsPublic,
    dependencies=_READ,
    responses=error_responses(401, 403),
)
def list_incidents(
    session: SessionDep,
    scope: ScopeDep,
    state: StateQuery = None,
    class_: ClassQuery = None,
    district: DistrictQuery = None,
    since: SinceQuery = None,
    sort: SortQuery = "newest",
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    """Newest first, or by ``sort``. ``since``: still active, or resolved at or after it."""
    conditions: list[ColumnElement[bool]] = []
    if state is not None:
        conditions.append(Incident.state == state.value)
    if class_ is not None:
        conditions.append(Incident.kind == class_.value)
    if district is not None:
        conditions.append(Incident.district_id == district)
    if since is not None:
        conditions.append(or_(Incident.resolved_at.is_(None), Incident.resolved_at >= since))
    return _listed(session, scope, conditions, limit=limit, offset=offset, sort=sort)


@router.get(
    "/api/v1/incidents/{incident_id}",
    response_model=IncidentDetailPublic,
    dependencies=_READ,
    responses=error_responses(401, 403, 404),
)
def get_incident(session: SessionDep, scope: ScopeDep, incident_id: IncidentIdPath) -> Any:
    return _detail(session, scope, incident_id)


def _act(
    session: Session,
    scope: Scope,
    request: Request,
    principal: Principal,
    incident_id: int,
    action: AuditAction,
    note: str | None,
    now: float,
    change: Callable[[], None],
) -> IncidentDetailPublic:
    """Check the incident is visible, apply ``change``, audit it as ``action``, commit,
    answer the incident as it is now."""
    visible_incident(session, scope, incident_id)
    try:
        change()
    except ConflictError as exc:
        session.rollback()
        raise HTTPException(status_code=409, detail=str(exc)) from None
    audit.record(
        session,
        action,
        actor=principal.name,
        target=f"incident {incident_id}",
        address=client_address(request),
        detail=note,
        now=now,
    )
    session.commit()
    return _detail(session, scope, incident_id)


@router.post(
    "/api/v1/incidents/{incident_id}/ack",
    response_model=IncidentDetailPublic,
    dependencies=_ACT,
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Acknowledge an open incident (409 once acknowledged or resolved)",
)
def acknowledge(
    session: SessionDep,
    scope: ScopeDep,
    principal: PrincipalDep,
    request: Request,
    now: NowDep,
    incident_id: IncidentIdPath,
    body: IncidentActionIn | None = None,
) -> Any:
    note = body.note if body is not None else None
    return _act(
        session, scope, request, principal, incident_id, AuditAction.INCIDENT_ACKNOWLEDGED,
        note, now,
        lambda: incidents.acknowledge(
            session, incident_id, actor=principal.name, note=note, now=now
        ),
    )  # fmt: skip


@router.post(
    "/api/v1/incidents/{incident_id}/resolve",
    response_model=IncidentDetailPublic,
    dependencies=_ACT,
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Resolve an open or acknowledged incident by hand (409 once resolved)",
)
def resolve(
    session: SessionDep,
    scope: ScopeDep,
    principal: PrincipalDep,
    request: Request,
    now: NowDep,
    incident_id: IncidentIdPath,
    body: IncidentActionIn | None = None,
) -> Any:
    note = body.note if body is not None else None
    return _act(
        session, scope, request, principal, incident_id, AuditAction.INCIDENT_RESOLVED,
        note, now,
        lambda: incidents.resolve(session, incident_id, now=now, actor=principal.name, note=note),
    )  # fmt: skip


@router.post(
    "/api/v1/incidents/{incident_id}/notes",
    response_model=IncidentDetailPublic,
    dependencies=_ACT,
    responses=error_responses(400, 401, 403, 404),
    summary="Add a note to an incident's timeline (in any state)",
)
def add_note(
    session: SessionDep,
    scope: ScopeDep,
    principal: PrincipalDep,
    request: Request,
    now: NowDep,
    incident_id: IncidentIdPath,
    body: IncidentNoteIn,
) -> Any:
    return _act(
        session, scope, request, principal, incident_id, AuditAction.INCIDENT_NOTE,
        body.note, now,
        lambda: incidents.add_note(
            session, incident_id, actor=principal.name, note=body.note, now=now
        ),
    )  # fmt: skip


@router.get(
    "/api/v1/aps/{ap_id}/incidents",
    response_model=IncidentsPublic,
    dependencies=_READ,
    responses=error_responses(401, 403, 404),
)
def ap_incidents(
    session: SessionDep,
    scope: ScopeDep,
    ap_id: ApIdPath,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    """The incidents that cover the AP now (or did when they were resolved), newest first."""
    visible_ap(session, scope, ap_id)
    covering = scoping.scoped_incident_members(scope).where(IncidentAp.ap_id == ap_id)
    condition = Incident.id.in_(covering.with_only_columns(IncidentAp.incident_id))
    return _listed(session, scope, [condition], limit=limit, offset=offset)


@router.get(
    "/api/v1/sites/{site_id}/incidents",
    response_model=IncidentsPublic,
    dependencies=_READ,
    responses=error_responses(401, 403, 404),
)
def site_incidents(
    session: SessionDep,
    scope: ScopeDep,
    site_id: SiteIdPath,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    """The incidents with a member at the site, newest first."""
    visible_site(session, scope, site_id)
    covering = scoping.scoped_incident_members(scope).where(IncidentAp.site_id == site_id)
    condition = Incident.id.in_(covering.with_only_columns(IncidentAp.incident_id))
    return _listed(session, scope, [condition], limit=limit, offset=offset)
