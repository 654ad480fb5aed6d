"""A usage report as CSV: what a partner's analyst opens in a spreadsheet.

Two sections in one file, because a partner asks for one download: one row per site and a
final ``TOTAL`` row, then a blank line and one row per local day. Numbers are written the
same way in every locale (a dot, no thousands separators), so a spreadsheet in Jakarta
and one in Berlin read the same values; GB (10⁹ bytes, :func:`gigabytes`) and percentages
to 3 decimals, seconds whole. An empty cell is "not measured" (the model's ``None``),
never 0. The renderer computes nothing of its own beyond units: the figures are the
report's (:mod:`reports.model`), so the CSV, the JSON and the PDF agree.
"""

from __future__ import annotations

import csv
import io
from decimal import ROUND_HALF_UP, Decimal

from reports.model import DayFigures, SiteFigures, Totals, UsageReport

GB = 10**9
_MILLI = Decimal("0.001")

SITE_COLUMNS = (
    "id",
    "name",
    "district",
    "availability_pct",
    "sla_target_pct",
    "sla_met",
    "downtime_s",
    "maintenance_s",
    "down_gb",
    "up_gb",
    "source",
    "sessions",
    "users",
    "median_session_s",
    "clients_peak",
    "clients_mean",
    "incidents",
)
DAY_COLUMNS = ("day", "availability_pct", "down_gb", "up_gb", "clients_peak", "sessions")
TOTAL = "TOTAL"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def gigabytes(count: int) -> Decimal:
    """``count`` bytes in GB (10⁹, as the issue counts them) to 3 decimals, a half rounded
    up as a person checking by hand would. Decimal, not float: 1 000 500 000 bytes is
    exactly 1.0005 GB, which prints 1.001 here, where the float 1.0005 (a hair below the
    half) would print 1.000."""
    return (Decimal(count) / GB).quantize(_MILLI, rounding=ROUND_HALF_UP)


def _text(value: str) -> str:
    """A name as a cell that a spreadsheet shows, never runs: one starting with ``=``,
    ``+``, ``-``, ``@`` (or a tab or CR) would be taken for a formula (CSV injection, OWASP),
    so it gets a leading apostrophe, which spreadsheets hide."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _fixed(value: float | None, places: int) -> str:
    """``value`` with exactly ``places`` decimals (never an exponent); "" for None."""
    if value is None:
        return ""
    return f"{value:.{places}f}"


def _whole(value: float | None) -> str:
    return _fixed(value, 0)


def _count(value: int | None) -> str:
    return "" if value is None else str(value)


def _clients(value: float | None) -> str:
    """A peak of clients is a sample's count: whole unless a backend averaged it."""
    if value is None or not value.is_integer():
        return _fixed(value, 2)
    return _fixed(value, 0)


def _met(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _figures(f: Totals, sla_target_pct: float, incidents: int) -> list[str]:
    return [
        _fixed(f.availability_pct, 3),
        _fixed(sla_target_pct, 3),
        _met(f.sla_met),
        _whole(f.downtime_s),
        _whole(f.maintenance_s),
        str(gigabytes(f.down_bytes)),
        str(gigabytes(f.up_bytes)),
        f.source,
        _count(f.sessions),
        _count(f.users),
        _whole(f.median_session_s),
        _clients(f.clients_peak),
        _fixed(f.clients_mean, 2),
        str(incidents),
    ]


def _site_row(site: SiteFigures, sla_target_pct: float) -> list[str]:
    return [
        _text(site.site),
        _text(site.name),
        _text(site.district or ""),
        *_figures(site.figures, sla_target_pct, len(site.incidents)),
    ]


def _day_row(day: DayFigures) -> list[str]:
    return [
        day.day,
        _fixed(day.availability_pct, 3),
        str(gigabytes(day.down_bytes)),
        str(gigabytes(day.up_bytes)),
        _clients(day.clients_peak),
        _count(day.sessions),
    ]


def usage_csv(report: UsageReport) -> str:
    """The report as CSV text (RFC 4180: CRLF line ends, fields quoted only when they
    hold a comma, a quote or a line break). The ``TOTAL`` row's ``incidents`` counts each
    incident once, even one that took down several of the partner's sites."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SITE_COLUMNS)
    for site in report.sites:
        writer.writerow(_site_row(site, report.sla_target_pct))
    distinct = {line.id for site in report.sites for line in site.incidents}
    totals = _figures(report.totals, report.sla_target_pct, len(distinct))
    writer.writerow([TOTAL, _text(report.partner_name), "", *totals])
    writer.writerow([])
    writer.writerow(DAY_COLUMNS)
    for day in report.days:
        writer.writerow(_day_row(day))
    return out.getvalue()
