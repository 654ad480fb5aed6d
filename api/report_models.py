"""Shapes of the reports route: a partner's usage report (:class:`reports.UsageReport`) as
JSON, and the rules for asking for one (a month, or a range of local dates or times).

The JSON mirrors the report field for field; times are ISO UTC like every other route,
and beside every byte count stands its GB (10⁹ bytes, 3 decimals: the figure the CSV and
the PDF print, from :func:`reports.csvformat.gigabytes`), so a client never divides. The
CLI's ``--format json`` renders through the same models, so both carry the same fields.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, WithJsonSchema

from api.times import MAX_TIME, MAX_TIME_TEXT, MIN_TIME, parse_time, time_in_range, utc
from reports.csvformat import gigabytes
from reports.model import DayFigures, FigureSource, IncidentLine, SiteFigures, Totals, UsageReport
from reports.period import Period, month_period, range_period

#: The longest range a report covers: a year, a leap year's included. The report reads
#: every hour of the range from the store.
MAX_RANGE_DAYS = 366
MONTH_PATTERN = r"^\d{4}-\d{2}$"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncidentLinePublic(_Model):
    id: int
    kind: str  # ap_down, site_down, uplink_down, area_outage, flapping
    started_at: datetime  # clipped to the period
    ended_at: datetime | None  # null: still open at the period's end
    duration_s: float  # within the period


class TotalsPublic(_Model):
    polls: int
    polls_ok: int
    availability_pct: float | None  # null: no polls
    sla_met: bool | None
    downtime_s: float | None
    maintenance_s: float
    down_bytes: int  # what the users downloaded
    down_gb: float  # the same in GB (10⁹ bytes), 3 decimals
    up_bytes: int  # what they sent
    up_gb: float
    source: FigureSource  # radius: sessions/users/median; snmp: clients figures only
    sessions: int | None
    users: int | None  # unique users (monthly hashes): summed over months, an upper bound
    median_session_s: float | None
    clients_peak: float | None
    clients_mean: float | None


class SiteFiguresPublic(_Model):
    site: str
    name: str
    district: str | None
    figures: TotalsPublic
    incidents: list[IncidentLinePublic]


class DayFiguresPublic(_Model):
    day: str  # the city's calendar day, "2026-11-30"
    polls: int
    polls_ok: int
    availability_pct: float | None  # maintenance not left out
    down_bytes: int
    down_gb: float
    up_bytes: int
    up_gb: float
    clients_peak: float | None
    sessions: int | None


class UsageReportPublic(_Model):
    partner: str
    partner_name: str
    city: str
    timezone: str  # the city's (IANA): days, months and the heat map's hours are local
    period_label: str
    start: datetime  # the period [start, end)
    end: datetime
    sla_target_pct: float
    generated_at: datetime
    sites: list[SiteFiguresPublic]  # by site id
    totals: TotalsPublic
    days: list[DayFiguresPublic]
    heatmap: list[list[int]]  # [weekday, Monday = 0][local hour]: bytes down + up
    previous: TotalsPublic | None  # the previous period's totals (month over month)
    previous_label: str | None


def _gb(count: int) -> float:
    return float(gigabytes(count))


def totals_public(f: Totals) -> TotalsPublic:
    return TotalsPublic(
        polls=f.polls,
        polls_ok=f.polls_ok,
        availability_pct=f.availability_pct,
        sla_met=f.sla_met,
        downtime_s=f.downtime_s,
        maintenance_s=f.maintenance_s,
        down_bytes=f.down_bytes,
        down_gb=_gb(f.down_bytes),
        up_bytes=f.up_bytes,
        up_gb=_gb(f.up_bytes),
        source=f.source,
        sessions=f.sessions,
        users=f.users,
        median_session_s=f.median_session_s,
        clients_peak=f.clients_peak,
        clients_mean=f.clients_mean,
    )


def _incident(line: IncidentLine) -> IncidentLinePublic:
    return IncidentLinePublic(
        id=line.id,
        kind=line.kind,
        started_at=utc(line.started_at),
        ended_at=utc(line.ended_at),
        duration_s=line.duration_s,
    )


def _site(site: SiteFigures) -> SiteFiguresPublic:
    return SiteFiguresPublic(
        site=site.site,
        name=site.name,
        district=site.district,
        figures=totals_public(site.figures),
        incidents=[_incident(line) for line in site.incidents],
    )


def _day(day: DayFigures) -> DayFiguresPublic:
    return DayFiguresPublic(
        day=day.day,
        polls=day.polls,
        polls_ok=day.polls_ok,
        availability_pct=day.availability_pct,
        down_bytes=day.down_bytes,
        down_gb=_gb(day.down_bytes),
        up_bytes=day.up_bytes,
        up_gb=_gb(day.up_bytes),
        clients_peak=day.clients_peak,
        sessions=day.sessions,
    )


def report_public(report: UsageReport) -> UsageReportPublic:
    return UsageReportPublic(
        partner=report.partner,
        partner_name=report.partner_name,
        city=report.city,
        timezone=report.timezone,
        period_label=report.period_label,
        start=utc(report.start),
        end=utc(report.end),
        sla_target_pct=report.sla_target_pct,
        generated_at=utc(report.generated_at),
        sites=[_site(site) for site in report.sites],
        totals=totals_public(report.totals),
        days=[_day(day) for day in report.days],
        heatmap=[list(row) for row in report.heatmap],
        previous=None if report.previous is None else totals_public(report.previous),
        previous_label=report.previous_label,
    )


# --- asking for a period ------------------------------------------------------------------

#: A bound of a range: a local calendar date (the city's), or an instant like every other
#: route's times. Kept as a ``date`` until the city's time zone turns it into seconds.
Bound = date | float


def parse_bound(value: Any) -> Any:
    """``2026-11-03`` is a date in the city's calendar; anything else is a time as the other
    routes take it (ISO 8601 with a time, UTC without an offset, or epoch seconds)."""
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"not a date: {value!r}; use YYYY-MM-DD") from None
    return parse_time(value)


def _bound_in_range(value: Bound | None) -> Bound | None:
    if isinstance(value, date):
        return value
    return time_in_range(value)


BoundQuery = Annotated[
    Bound | None,
    BeforeValidator(parse_bound),
    AfterValidator(_bound_in_range),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date"},
                {"type": "string", "format": "date-time", "maxLength": MAX_TIME_TEXT},
                {"type": "number", "minimum": MIN_TIME, "maximum": MAX_TIME},
            ]
        }
    ),
    Query(
        description="A date of the city's calendar (YYYY-MM-DD: its local midnight; as "
        "`end`, the whole day is included), or a time: ISO 8601 (UTC if no offset) or UTC "
        "epoch seconds. With `end`, instead of `month`."
    ),
]


def bound_seconds(value: Bound, tz: ZoneInfo, *, end: bool) -> float:
    """A bound in epoch seconds. A date is its local midnight in ``tz``; as an ``end`` the
    day is included, so its end is the next local midnight ("1 to 30 November" is all of
    November). ValueError outside the times the API takes (1970 to 9999, UTC)."""
    if not isinstance(value, date):
        return value
    try:
        day = value + timedelta(days=1) if end else value
        seconds = datetime.combine(day, time(0), tzinfo=tz).timestamp()
    except (OverflowError, ValueError):
        seconds = MAX_TIME + 1
    checked = time_in_range(seconds)
    assert checked is not None
    return checked


class PeriodRefused(ValueError):
    """A period asked for wrongly; ``field`` names the parameter to change (``month``,
    ``start`` or ``end``), which the API puts in its 422 and the CLI in its usage error."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def asked_period(month: str | None, start: Bound | None, end: Bound | None, tz: ZoneInfo) -> Period:
    """The period of a request: exactly one of a month (the city's calendar month) or a
    range (``start`` and ``end``, at most :data:`MAX_RANGE_DAYS` days). One rule for the
    API and the CLI."""
    if month is not None:
        if start is not None or end is not None:
            raise PeriodRefused("month", "give either month or start and end, not both")
        try:
            return month_period(month, tz)
        except ValueError as exc:
            raise PeriodRefused("month", str(exc)) from None
    if start is None and end is None:
        raise PeriodRefused("month", "give a month (YYYY-MM) or a range (start and end)")
    if start is None or end is None:
        missing = "start" if start is None else "end"
        raise PeriodRefused(missing, f"a range needs both start and end; {missing} is missing")
    try:
        since = bound_seconds(start, tz, end=False)
    except ValueError as exc:
        raise PeriodRefused("start", str(exc)) from None
    try:
        until = bound_seconds(end, tz, end=True)
    except ValueError as exc:
        raise PeriodRefused("end", str(exc)) from None
    if until <= since:
        raise PeriodRefused(
            "end", f"end ({utc(until).isoformat()}) must be after start ({utc(since).isoformat()})"
        )
    # An hour to spare: 366 local days may hold one more hour where clocks go back (DST).
    if until - since > MAX_RANGE_DAYS * 86_400.0 + 3600.0:
        raise PeriodRefused(
            "start", f"a report covers at most {MAX_RANGE_DAYS} days; this range has "
            f"{(until - since) / 86_400.0:g}",
        )  # fmt: skip
    return range_period(since, until, tz)
