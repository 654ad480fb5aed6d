"""Partner usage and SLA reports: what each CSR sponsor's hotspots delivered.

    model      UsageReport and its parts: plain frozen values every format renders
    period     months and date ranges in the city's time zone, the previous period
    usage      the figures: availability outside maintenance against the SLA, downtime
               and its incidents, GB from per-poll deltas, sessions and users from
               RADIUS (else clients from SNMP), the hour-by-weekday heat map, the trend
    csvformat  the report as CSV
    charts     its charts (matplotlib, Agg)
    pdf        the report as a PDF to hand to a board (reportlab)
    schedule   each partner's PDF e-mailed on the month's first working day, never twice

The API and the CLI only call :func:`usage_report` and a renderer (``reports.pdf`` is
imported where a PDF is asked for: matplotlib costs 0.4 s to load).
"""

from reports.model import (
    DayFigures,
    FigureSource,
    IncidentLine,
    SiteFigures,
    Totals,
    UsageReport,
)
from reports.period import Period, month_period, previous_period, range_period
from reports.usage import usage_report

__all__ = [
    "DayFigures",
    "FigureSource",
    "IncidentLine",
    "Period",
    "SiteFigures",
    "Totals",
    "UsageReport",
    "month_period",
    "previous_period",
    "range_period",
    "usage_report",
]
