"""What a partner's usage report says: plain frozen values, rendered as JSON, CSV (and,
later, PDF) without any computing of their own, so every format shows the same numbers.

Units are in the names: ``_pct`` 0 to 100, ``_s`` seconds, ``_bytes`` bytes (renderers
show GB = 10⁹ bytes). ``None`` means "not measured" (no poll, no sample), never 0.
Directions are the user's: ``down`` what users downloaded (the uplink's rx), ``up`` what
they sent (tx).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: Where the usage figures of a site come from: RADIUS accounting (sessions, unique users,
#: median session time) when the site sent any in the period, else the SNMP polls (peak
#: and mean associated clients).
FigureSource = Literal["radius", "snmp"]


@dataclass(frozen=True, slots=True)
class IncidentLine:
    """An incident that took (part of) a site down in the period; times clipped to it."""

    id: int
    kind: str  # core.incidents.IncidentClass value
    started_at: float
    ended_at: float | None  # None: still open at the period's end
    duration_s: float  # within the period


@dataclass(frozen=True, slots=True)
class Totals:
    """Figures of one site, or of all the partner's sites together (``SiteFigures`` and
    ``UsageReport.totals``).

    Availability: answered / attempted polls of the site's APs, polls during a declared
    maintenance window of the site (or its district) left out; ``sla_met`` compares it with
    the partner's target (None without polls). ``downtime_s``: the period outside
    maintenance times the share of polls not answered. Sessions figures are None where the
    source is "snmp"; clients figures None where no AP reported clients.
    """

    polls: int
    polls_ok: int
    availability_pct: float | None
    sla_met: bool | None
    downtime_s: float | None
    maintenance_s: float  # declared maintenance within the period
    down_bytes: int
    up_bytes: int
    source: FigureSource
    sessions: int | None
    users: int | None  # unique users (hashed identities), summed over months
    median_session_s: float | None
    clients_peak: float | None
    clients_mean: float | None


@dataclass(frozen=True, slots=True)
class SiteFigures:
    site: str
    name: str
    district: str | None
    figures: Totals
    incidents: tuple[IncidentLine, ...]


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One local calendar day of the period, all the partner's sites together."""

    day: str  # "2026-11-30", the city's calendar
    polls: int
    polls_ok: int
    availability_pct: float | None  # maintenance not left out (a day view of the polls)
    down_bytes: int
    up_bytes: int
    clients_peak: float | None
    sessions: int | None  # RADIUS sessions that began that day (None: no site sends any)


@dataclass(frozen=True, slots=True)
class UsageReport:
    """One partner over one period. ``heatmap[weekday][hour]``: bytes (down + up) in that
    local hour of that weekday (Monday = 0) over the period, all sites together.
    ``previous``: the same totals over the previous period (the previous calendar month
    for a month, else the same length just before), for the month-over-month comparison;
    None when not asked for."""

    partner: str
    partner_name: str
    city: str  # the city's name, for the title page
    timezone: str
    period_label: str  # "2026-11", or "2026-11-03 to 2026-11-17"
    start: float
    end: float
    sla_target_pct: float
    generated_at: float
    sites: tuple[SiteFigures, ...]  # sorted by site id
    totals: Totals
    days: tuple[DayFigures, ...]
    heatmap: tuple[tuple[int, ...], ...]  # 7 x 24
    previous: Totals | None
    previous_label: str | None
