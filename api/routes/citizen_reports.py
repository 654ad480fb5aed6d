"""Citizens' reports, the engineers' side: the call centre files what a caller says,
engineers read the reports (with the phone number and the photo, until the report is
closed), close them, and import the operation centre's other channels (CSV or JSON).

Filing goes through :func:`citizens.filing.file_report` (matching the hotspot, joining,
opening or reopening its incident), storage and reading through
:mod:`inventory.citizen_reports` (the one writer: text and phone sealed); both run in the
request's transaction with the audit row, committed together or not at all. An audit row
names the report, the hotspot and the incident, never the text or the number. Reading
needs ``citizen-reports:read``, filing, closing and importing ``citizen-reports:file``
(engineers and admins): a partner or planner never sees what a citizen sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.access_models import ErrorPublic, error_responses
from api.auth import PrincipalDep, client_address, require
from api.body import read_capped
from api.citizen_models import (
    CitizenReportCreate,
    CitizenReportFiled,
    CitizenReportPublic,
    CitizenReportsPublic,
    ImportedRow,
    ImportResult,
    ReportIncident,
)
from api.deps import (
    DEFAULT_LIMIT,
    BoxDep,
    LimitQuery,
    NowDep,
    OffsetQuery,
    SessionDep,
    SettingsDep,
)
from api.filters import MAX_ID_LENGTH
from api.times import utc
from citizens.filing import FiledReport, NewReport, file_report
from citizens.importing import (
    COLUMNS,
    MAX_IMPORT_BYTES,
    MAX_REF,
    MAX_ROWS,
    MAX_TEXT,
    import_reports,
    parse_reports,
)
from citizens.phone import MAX_PHONE_TEXT
from core.access import AuditAction, Permission
from core.citizens import Channel, Match, Problem
from core.errors import CitywifiError, ConflictError, InventoryError
from inventory import audit, citizen_reports
from inventory.citizen_reports import ReportView
from inventory.models import Incident
from inventory.secretbox import SecretBox

router = APIRouter(prefix="/api/v1/citizen-reports", tags=["citizen reports"])

# Bounded to a 32-bit integer, the column's range on PostgreSQL (as incidents' ids). The
# paths say ``{report_id:int}``: a word there (GET /import) is no report, and answers 405
# or 404, not a 422 about an integer.
ReportIdPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="Citizen report id.")]
IncidentIdQuery = Annotated[
    int | None, Query(ge=1, le=2**31 - 1, description="Only the reports of this incident.")
]
SiteIdQuery = Annotated[
    str | None, Query(max_length=MAX_ID_LENGTH, description="Only reports matched to this site.")
]
MatchQuery = Annotated[Match | None, Query(description="Only reports that did this.")]
OpenQuery = Annotated[
    bool | None, Query(description="true: only open reports; false: only closed ones.")
]

_READ = [require(Permission.CITIZEN_REPORTS_READ)]
_FILE = [require(Permission.CITIZEN_REPORTS_FILE)]

CSV, JSON = "text/csv", "application/json"
_BODY_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorPublic, "description": f"The body is over {MAX_IMPORT_BYTES} bytes."},
    415: {"model": ErrorPublic, "description": "The body is neither text/csv nor JSON."},
    # FastAPI declares its 422 only for parameters it reads itself; this body is read here.
    422: {
        "description": "A row that cannot be filed: ``message`` names its line and column.",
        "content": {JSON: {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}},
    },
}
_IMPORT_ROW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["ref", "problem"],
    "properties": {
        "ref": {"type": "string", "maxLength": MAX_REF, "description": "Its id over there."},
        "received_at": {
            "anyOf": [{"type": "string", "maxLength": 40}, {"type": "number"}, {"type": "null"}],
            "description": "ISO 8601 with an offset, or epoch seconds; empty: now.",
        },
        "lat": {"anyOf": [{"type": "number", "minimum": -90, "maximum": 90}, {"type": "null"}]},
        "lon": {"anyOf": [{"type": "number", "minimum": -180, "maximum": 180}, {"type": "null"}]},
        "site": {"anyOf": [{"type": "string", "maxLength": MAX_ID_LENGTH}, {"type": "null"}]},
        "problem": {"type": "string", "enum": [p.value for p in Problem]},
        "text": {"anyOf": [{"type": "string", "maxLength": MAX_TEXT}, {"type": "null"}]},
        "phone": {"anyOf": [{"type": "string", "maxLength": MAX_PHONE_TEXT}, {"type": "null"}]},
    },
}
_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": f"CSV with a header line (columns {', '.join(COLUMNS)}) or a JSON list "
        f"of objects with those keys; at most {MAX_ROWS} reports and {MAX_IMPORT_BYTES} bytes.",
        "content": {
            CSV: {"schema": {"type": "string", "maxLength": MAX_IMPORT_BYTES}},
            JSON: {
                "schema": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_ROWS,
                    "items": _IMPORT_ROW_SCHEMA,
                }
            },
        },
    }
}


def _refused(message: str, *where: str | int) -> RequestValidationError:
    """A rule the schema cannot state, broken: a 422 in FastAPI's own shape, whose
    ``message`` is one line (``body: <message>``). ``input`` is never echoed: a row holds
    a citizen's text and number."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", *where), "msg": message, "input": None}]
    )


def _incidents(session: Session, ids: Iterable[int | None]) -> dict[int, ReportIncident]:
    """The incidents of a page of reports, in one query (not one per report)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.scalars(select(Incident).where(Incident.id.in_(wanted)))
    return {
        row.id: ReportIncident(id=row.id, class_=row.kind, state=row.state, priority=row.priority)
        for row in rows
    }


def _incident(session: Session, incident_id: int | None) -> ReportIncident | None:
    return _incidents(session, [incident_id]).get(incident_id or 0)


def report_public(
    session: Session, view: ReportView, known: dict[int, ReportIncident] | None = None
) -> CitizenReportPublic:
    """``known``: the page's incidents, read already (else read for this one)."""
    incident = (
        known.get(view.incident_id or 0)
        if known is not None
        else _incident(session, view.incident_id)
    )
    return CitizenReportPublic(
        id=view.id,
        received_at=utc(view.received_at),
        channel=view.channel,
        problem=view.problem,
        lat=view.lat,
        lon=view.lon,
        site_id=view.site_id,
        site_name=view.site_name,
        distance_m=view.distance_m,
        match=view.match,
        incident_id=view.incident_id,
        incident=incident,
        text=view.text,
        phone=view.phone,
        has_photo=view.has_photo,
        filed_by=view.filed_by,
        external_ref=view.external_ref,
        closed_at=utc(view.closed_at),
    )


def filed_public(session: Session, filed: FiledReport) -> CitizenReportFiled:
    return CitizenReportFiled(
        id=filed.id,
        match=filed.match,
        site_id=filed.site_id,
        site_name=filed.site_name,
        distance_m=filed.distance_m,
        incident=_incident(session, filed.incident_id),
        known=filed.known,
    )


def _described(filed: FiledReport, problem: Problem) -> str:
    """The audit detail: what, where and what it did; never the text or the number."""
    where = f"site {filed.site_id}" if filed.site_id is not None else "no site in reach"
    incident = f", incident {filed.incident_id}" if filed.incident_id is not None else ""
    return f"{problem.value} at {where}: {filed.match.value}{incident}"


def _visible(session: Session, box: SecretBox, report_id: int) -> ReportView:
    view = citizen_reports.get(session, box, report_id)
    if view is None:
        raise HTTPException(status_code=404, detail=f"no citizen report {report_id}")
    return view


@router.get(
    "",
    response_model=CitizenReportsPublic,
    dependencies=_READ,
    responses=error_responses(401, 403),
)
def list_reports(
    session: SessionDep,
    box: BoxDep,
    site_id: SiteIdQuery = None,
    incident_id: IncidentIdQuery = None,
    match: MatchQuery = None,
    open: OpenQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    """Newest first, with what each citizen sent (text, phone number while open)."""
    filters = citizen_reports.ReportFilters(
        site_id=site_id, incident_id=incident_id, match=match, open=open
    )
    views, count = citizen_reports.views(session, box, filters=filters, limit=limit, offset=offset)
    known = _incidents(session, (v.incident_id for v in views))
    return CitizenReportsPublic(data=[report_public(session, v, known) for v in views], count=count)


@router.post(
    "",
    status_code=201,
    response_model=CitizenReportFiled,
    dependencies=_FILE,
    responses=error_responses(400, 401, 403),
    summary="File a report taken by phone: matched to the nearest hotspot and its incident",
)
def file(
    session: SessionDep,
    box: BoxDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    request: Request,
    now: NowDep,
    body: CitizenReportCreate,
) -> Any:
    """Give ``lat``/``lon`` or the ``site_id`` the caller named (it wins). Unmatched (no
    hotspot in reach) is stored and said so; a site that is not there or not active is a
    422 naming ``site_id``."""
    if (body.lat is None) != (body.lon is None):
        raise _refused("give both lat and lon, or neither", "lon" if body.lon is None else "lat")
    if body.site_id is None and body.lat is None:
        raise _refused("give lat and lon, or site_id: where the problem is", "lat")
    report = NewReport(
        problem=body.problem,
        channel=Channel.CALL_CENTRE,
        lat=body.lat,
        lon=body.lon,
        site_id=body.site_id,
        text=body.text.strip() or None if body.text is not None else None,
        phone=body.phone,
        filed_by=principal.name,
    )
    try:
        filed = file_report(session, report, box=box, settings=settings, now=now)
    except (CitywifiError, ValueError) as exc:
        session.rollback()
        raise _refused(str(exc), "site_id" if body.site_id is not None else "lat") from None
    audit.record(
        session,
        AuditAction.CITIZEN_REPORT_FILED,
        actor=principal.name,
        target=f"citizen report {filed.id}",
        address=client_address(request),
        detail=_described(filed, body.problem),
        now=now,
    )
    session.commit()
    return filed_public(session, filed)


async def capped_body(request: Request) -> bytes:
    """The body, read here (not by FastAPI) so that a large one is refused with 413 after
    at most :data:`MAX_IMPORT_BYTES` bytes, not held whole first."""
    return await read_capped(request, MAX_IMPORT_BYTES, f"over {MAX_IMPORT_BYTES} bytes: split it")


def _format(request: Request) -> str:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in (CSV, "application/csv"):
        return "csv"
    if media == JSON:
        return "json"
    raise HTTPException(
        status_code=415, detail=f"send the reports as {CSV} or {JSON}, not {media or 'nothing'}"
    )


@router.post(
    "/import",
    response_model=ImportResult,
    dependencies=_FILE,
    responses={**error_responses(401, 403), **_BODY_RESPONSES},
    openapi_extra=_IMPORT_BODY,
    summary="Import reports of the operation centre's other channels (CSV or JSON), all or nothing",
)
def import_(
    session: SessionDep,
    box: BoxDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    request: Request,
    now: NowDep,
    data: Annotated[bytes, Depends(capped_body)],
) -> Any:
    """Every row is checked first; the first bad one is a 422 naming its line (CSV) or
    item (JSON) and column, and nothing is filed. A ``ref`` imported before is skipped."""
    fmt = _format(request)
    source = f"import.{fmt}"
    try:
        rows = parse_reports(data, "csv" if fmt == "csv" else "json", source, now=now)
        outcome = import_reports(
            session, rows, box=box, settings=settings, now=now, filed_by=principal.name
        )
    except InventoryError as exc:
        session.rollback()
        raise _refused(exc.problems[0]) from None
    audit.record(
        session,
        AuditAction.CITIZEN_REPORTS_IMPORTED,
        actor=principal.name,
        target=f"citizen reports {source}",
        address=client_address(request),
        detail=outcome.summary(source),
        now=now,
    )
    try:
        session.commit()
    except IntegrityError:  # a ref imported by another request meanwhile (unique)
        session.rollback()
        raise HTTPException(
            status_code=409, detail="another import filed some of these refs meanwhile: resend"
        ) from None
    return ImportResult(
        filed=outcome.filed,
        skipped=outcome.skipped,
        unmatched=outcome.unmatched,
        reports=[
            ImportedRow(
                line=row.line,
                ref=row.ref,
                status="skipped" if row.report is None else "filed",
                report=None if row.report is None else filed_public(session, row.report),
            )
            for row in outcome.rows
        ],
    )


@router.get(
    "/{report_id:int}",
    response_model=CitizenReportPublic,
    dependencies=_READ,
    responses=error_responses(401, 403, 404),
)
def get_report(session: SessionDep, box: BoxDep, report_id: ReportIdPath) -> Any:
    return report_public(session, _visible(session, box, report_id))


@router.get(
    "/{report_id:int}/photo",
    response_class=Response,
    dependencies=_READ,
    responses={
        **error_responses(401, 403, 404),
        200: {
            "content": {"image/jpeg": {}, "image/png": {}},
            "description": "The photo, re-encoded without EXIF; never cached.",
        },
    },
    summary="A report's photo (audited: a citizen's photo is personal data)",
)
def get_photo(
    session: SessionDep,
    principal: PrincipalDep,
    request: Request,
    now: NowDep,
    report_id: ReportIdPath,
) -> Response:
    photo = citizen_reports.photo(session, report_id)
    if photo is None:
        raise HTTPException(status_code=404, detail=f"no photo of citizen report {report_id}")
    audit.record(
        session,
        AuditAction.CITIZEN_PHOTO_VIEWED,
        actor=principal.name,
        target=f"citizen report {report_id}",
        address=client_address(request),
        detail=None,
        now=now,
    )
    session.commit()
    # Never cached: api.headers puts ``Cache-Control: no-store`` on every /api/ answer.
    return Response(
        content=photo.data,
        media_type=photo.content_type,
        headers={"Content-Disposition": f'inline; filename="report-{report_id}-photo"'},
    )


@router.post(
    "/{report_id:int}/close",
    response_model=CitizenReportPublic,
    dependencies=_FILE,
    responses=error_responses(401, 403, 404),
    summary="Close a report by hand: its phone number is wiped (closing twice changes nothing)",
)
def close(
    session: SessionDep,
    box: BoxDep,
    principal: PrincipalDep,
    request: Request,
    now: NowDep,
    report_id: ReportIdPath,
) -> Any:
    view = _visible(session, box, report_id)
    if view.closed_at is None:
        try:
            citizen_reports.close(session, report_id, now=now)
        except ConflictError:  # closed meanwhile (its incident resolved): it stays so
            session.rollback()
            return report_public(session, _visible(session, box, report_id))
        audit.record(
            session,
            AuditAction.CITIZEN_REPORT_CLOSED,
            actor=principal.name,
            target=f"citizen report {report_id}",
            address=client_address(request),
            detail=None,
            now=now,
        )
        session.commit()
        view = _visible(session, box, report_id)
    return report_public(session, view)
