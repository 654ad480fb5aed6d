"""Partner usage and SLA reports: what a CSR partner's hotspots delivered over a month or a
range, as JSON, CSV or a PDF fit to hand to a board.

``reports:read`` (every role). A partner's token reports on its own partner only:
``partner`` defaults to it, and another partner's id answers 404 exactly like an id that
does not exist (so partner ids cannot be probed). Staff name the partner. The figures are
:func:`reports.usage_report`'s, rendered without computing anything of their own
(:mod:`api.report_models`, :mod:`reports.csvformat`, :mod:`reports.pdf`), so the three
formats agree. The work reads the inventory and up to a year of hourly buckets from the
store: a sync handler, run in FastAPI's thread pool.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.access_models import error_responses
from api.auth import ScopeDep, require
from api.deps import NowDep, SessionDep, SettingsDep, StoreDep
from api.filters import MAX_ID_LENGTH
from api.report_models import (
    MONTH_PATTERN,
    BoundQuery,
    PeriodRefused,
    UsageReportPublic,
    asked_period,
    report_public,
)
from api.times import invalid
from api.visible import visible_partner
from core.access import Permission, Scope
from inventory.models import Partner
from reports import UsageReport, usage_report
from reports.csvformat import usage_csv

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

ReportFormat = Literal["json", "csv", "pdf"]
CSV_TYPE = "text/csv; charset=utf-8"
PDF_TYPE = "application/pdf"
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")

PartnerParam = Annotated[
    str | None,
    Query(
        max_length=MAX_ID_LENGTH,
        description="Partner id. A partner's token: its own (the default); staff: required.",
    ),
]
MonthParam = Annotated[
    str | None,
    Query(
        pattern=MONTH_PATTERN,
        description="A calendar month of the city (city_timezone), YYYY-MM; or start and end.",
    ),
]
FormatParam = Annotated[
    ReportFormat,
    Query(alias="format", description="json; csv (text/csv); pdf (application/pdf)."),
]

_READ = [require(Permission.REPORTS_READ)]
_FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report: JSON, or with `format` a CSV or PDF download.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            PDF_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    },
}


def _reported_partner(session: Session, scope: Scope, asked: str | None) -> Partner:
    """The partner to report on, within the caller's scope: 404 for one the caller may not
    see, with the very body of an unknown id; staff must name one (422)."""
    wanted = asked if asked is not None else scope.partner_id
    if wanted is None:
        raise invalid("partner", "name the partner to report on", None)
    return visible_partner(session, scope, wanted)


def file_name(report: UsageReport, extension: str) -> str:
    """``citywifi-usage-<partner>-<period>.<ext>``, with anything but letters, digits, dot,
    dash and underscore made a dash: the name sits in a quoted header parameter, where a
    quote or a line break from an id would break the header (or forge another)."""
    stem = f"citywifi-usage-{report.partner}-{report.period_label.replace(' to ', '_')}"
    return f"{_UNSAFE_IN_NAME.sub('-', stem)}.{extension}"


def _download(content: bytes | str, media_type: str, name: str) -> Response:
    return Response(
        content=content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/usage",
    response_model=UsageReportPublic,
    dependencies=_READ,
    responses={**error_responses(401, 403, 404), **_FILES},
    summary="A partner's usage and SLA report for a month or a range: JSON, CSV or PDF",
)
def get_usage_report(
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    scope: ScopeDep,
    now: NowDep,
    partner: PartnerParam = None,
    month: MonthParam = None,
    start: BoundQuery = None,
    end: BoundQuery = None,
    report_format: FormatParam = "json",
) -> Any:
    """Per sponsored site and in total: availability (answered / attempted polls outside
    declared maintenance) against the partner's SLA target, downtime and the incidents
    behind it, GB down and up (per-poll byte deltas), and sessions, unique users and the
    median session from RADIUS where the site sends accounting, else peak and mean clients
    (``source`` says which); the daily trend, the hour-by-weekday heat map and the previous
    period's totals. Exactly one of ``month`` or ``start`` and ``end`` (at most 366 days).
    No MAC address, IP or user name appears in any format."""
    try:
        period = asked_period(month, start, end, settings.city_tz)
    except PeriodRefused as exc:
        given = {"month": month, "start": start, "end": end}[exc.field]
        raise invalid(exc.field, str(exc), str(given) if given is not None else None) from None
    found = _reported_partner(session, scope, partner)
    report = usage_report(session, store, settings, partner=found.id, period=period, now=now)
    if report_format == "csv":
        return _download(usage_csv(report), CSV_TYPE, file_name(report, "csv"))
    if report_format == "pdf":
        # Imported on the first PDF asked for: reportlab and matplotlib take 0.4 s to load,
        # which every API process and test would pay at start-up for a rare download.
        from reports.pdf import render_pdf

        return _download(render_pdf(report), PDF_TYPE, file_name(report, "pdf"))
    return report_public(report)
