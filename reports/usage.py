"""A partner's usage report over a period, from the inventory and the metric store.

Where each figure comes from, and why:

- **Sites**: the partner's sites in the inventory now. Active ones always appear (a site
  that sent nothing shows None figures: "not measured", which a board must see); planned
  and retired ones only when they were polled or had sessions in the period (a site
  retired last year is not this month's news).
- **Availability**: answered / attempted polls (``reachable``) of the site's APs, polls
  made while a declared maintenance window covered the site (its own windows and its
  district's, :func:`inventory.maintenance.windows_by_ap`) left out. Exact, not
  pro-rated: the store is asked for every site's polls over the whole period in one
  call, and for the polls within each window (sites under the same windows in one
  call), which are taken away. Polls add up over disjoint spans on every backend (the
  store's contract), so that is the count outside the windows; asked this way the
  store reads hours of a window, not the weeks around it. ``maintenance_s`` is the covered
  time within the period (up to ``now`` for a period still running: a window not yet
  begun has not excused anything), ``downtime_s`` the rest of that time times the share
  of polls not answered.
- **Incidents**: the outage classes only (:data:`OUTAGE_CLASSES`: ap_down, site_down,
  uplink_down, area_outage, flapping): the ones that take a site's service away. An
  overload or a silent AP is a quality problem, not downtime. Listed under each site one
  of whose APs is a member, clipped to the period; an incident later merged into a larger
  one stays listed (it is a record of its own). Downtime itself is counted from the
  polls, never from incident durations, so the two cannot disagree.
- **Bytes**: sums of the per-poll ``rx_bytes_delta`` (down: what users downloaded) and
  ``tx_bytes_delta`` (up), so a Counter32 wrap counts once and the interval across a
  reboot counts nothing (the collector's rule, :mod:`collector.derive`); rounded to whole
  bytes per site, and the totals are the sum of the sites' (the table adds up).
- **Sessions and users**: RADIUS accounting (:func:`inventory.sessions.summarise_each`) for a
  site that sent any session beginning in the period (source "radius"), else the SNMP
  clients figures alone (source "snmp"). The totals are "radius" when any site is; their
  sessions, unique users and median are the partner's sessions as a whole (summarise by
  partner): a user seen at two of its sites is one user, not two. Clients peak and mean
  are filled for every site that reported clients, whatever the source; the totals'
  peak is the largest site's and their mean is over all the sites' samples (pooled from
  each site's mean and sample count: no read of its own).
- **Totals of downtime and maintenance**: sums over the sites (site-seconds: what the
  partner's sites lost together), beside the pooled availability of all their polls.
- **Days and heat map**: the store's hourly buckets of the partner (:meth:`hourly`), put
  in the city's local days and hours. Whole UTC hours are local hours where the offset is
  whole hours (as everywhere in Indonesia); a period bound off the hour leaves its partial
  hour out of the days and the heat map (never out of the totals). Sessions per day: the
  partner's sessions that began that local day.

The report holds no MAC address, IP address or user name: the figures are counts, and
users are counted from the keyed hashes of :mod:`inventory.userkeys`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.access import Scope
from core.errors import InventoryError
from core.incidents import IncidentClass
from core.settings import Settings
from inventory.incidents import members
from inventory.maintenance import Span, windows_by_ap
from inventory.models import AccessPoint, District, Incident, Partner, Site
from inventory.scoping import scoped_incident_members, scoped_incidents
from inventory.sessions import SessionSummary, starts_per_window, summarise_each
from reports.model import DayFigures, FigureSource, IncidentLine, SiteFigures, Totals, UsageReport
from reports.period import Period, previous_period
from timeseries import MetricStore
from timeseries.port import Aggregate, HourBucket

__all__ = ["HOURLY_CHUNK_S", "OUTAGE_CLASSES", "usage_report"]

#: The incident classes that take a site's service away: the ones a report lists.
OUTAGE_CLASSES: frozenset[IncidentClass] = frozenset(
    {
        IncidentClass.AP_DOWN,
        IncidentClass.SITE_DOWN,
        IncidentClass.UPLINK_DOWN,
        IncidentClass.AREA_OUTAGE,
        IncidentClass.FLAPPING,
    }
)
#: The hourly buckets are read a week at a time, so a long range moves the progress bar.
HOURLY_CHUNK_S = 7 * 86_400
_HOUR = 3600
_ACTIVE = "active"

Progress = Callable[[int, int], None]


def usage_report(
    session: Session,
    store: MetricStore,
    settings: Settings,
    *,
    partner: str,
    period: Period,
    now: float,
    compare: bool = True,
    progress: Progress | None = None,
) -> UsageReport:
    """The report of ``partner`` (an id that exists: the caller checks scope and 404s)
    over ``period``; ``progress(done, total)`` is called as the store is read (the CLI's
    progress bar)."""
    row = session.get(Partner, partner)
    if row is None:  # the caller's bug: it checks the partner first
        raise InventoryError([f"no partner {partner!r}"])
    tz = settings.city_tz
    target = row.sla_target_pct if row.sla_target_pct is not None else settings.sla_target_pct
    sites = _partner_sites(session, partner)
    current = _Plan.make(session, sites, period, now)
    before = previous_period(period, tz) if compare else None
    earlier = _Plan.make(session, sites, before, now) if before is not None else None
    chunks = _hour_chunks(period.start, period.end)
    reader = _Reader(
        store,
        progress,
        total=current.calls + len(chunks) + (earlier.calls if earlier is not None else 0),
    )
    scope = Scope(partner_id=partner)

    sites_now, totals = _figures(session, reader, scope, partner, sites, current, target)
    buckets = [b for lo, hi in chunks for b in reader.hourly(lo, hi, partner)]
    previous = None
    if earlier is not None:
        _sites_before, previous = _figures(session, reader, scope, partner, sites, earlier, target)
    incidents = _incidents(session, scope, period, now)
    radius = totals.source == "radius"
    return UsageReport(
        partner=partner,
        partner_name=row.name,
        city=settings.city_name,
        timezone=settings.city_timezone,
        period_label=period.label,
        start=period.start,
        end=period.end,
        sla_target_pct=target,
        generated_at=now,
        sites=tuple(
            SiteFigures(
                site=site.id,
                name=site.name,
                district=site.district,
                figures=figures,
                incidents=tuple(incidents.get(site.id, ())),
            )
            for site, figures in sites_now
        ),
        totals=totals,
        days=_days(session, scope, partner, period, tz, buckets, radius=radius),
        heatmap=_heatmap(buckets, tz),
        previous=previous,
        previous_label=before.label if before is not None else None,
    )


# --- the partner's sites and the plan of store calls -------------------------------------


@dataclass(frozen=True, slots=True)
class _Site:
    id: str
    name: str
    district: str | None  # the district's name, as a board reads it
    active: bool


def _partner_sites(session: Session, partner: str) -> list[_Site]:
    rows = session.execute(
        select(Site.id, Site.name, District.name, Site.status)
        .outerjoin(District, Site.district_id == District.id)
        .where(Site.partner_id == partner)
        .order_by(Site.id)
    ).all()
    return [_Site(id, name, district, status == _ACTIVE) for id, name, district, status in rows]


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the store is asked for one period: ``covered`` the maintenance spans of each
    site that had any (merged, clipped), and the sites grouped by those spans, so sites
    under the same district window share their calls."""

    period: Period
    until: float  # the period's end, or now for a period still running
    covered: dict[str, list[Span]]
    groups: dict[tuple[Span, ...], list[str]] = field(default_factory=dict)

    @classmethod
    def make(cls, session: Session, sites: Sequence[_Site], period: Period, now: float) -> _Plan:
        until = min(period.end, max(period.start, now))
        spans = _site_spans(session, [site.id for site in sites], period.start, until)
        covered = {site: merged for site, found in spans.items() if (merged := _merge(found))}
        groups: dict[tuple[Span, ...], list[str]] = defaultdict(list)
        for site, merged in sorted(covered.items()):
            groups[tuple(merged)].append(site)
        return cls(period, until, covered, dict(groups))

    @property
    def calls(self) -> int:
        """Store calls: the sites over the whole period, and one per maintenance span of
        each group."""
        return 1 + sum(len(spans) for spans in self.groups)

    def maintenance_s(self, site: str) -> float:
        return sum(hi - lo for lo, hi in self.covered.get(site, ()))


def _site_spans(
    session: Session, sites: Collection[str], start: float, end: float
) -> dict[str, list[Span]]:
    """The maintenance spans covering each site within [start, end), through
    windows_by_ap (the one rule of what a window covers); every AP of a site has the
    same ones."""
    if end <= start or not sites:
        return {}
    by_ap = windows_by_ap(session, start=start, end=end)
    if not by_ap:
        return {}
    site_of = dict(
        session.execute(
            select(AccessPoint.id, AccessPoint.site_id).where(AccessPoint.site_id.in_(sites))
        ).all()
    )
    spans: dict[str, list[Span]] = {}
    for ap, found in by_ap.items():
        site = site_of.get(ap)
        if site is not None and site not in spans:
            spans[site] = [(max(lo, start), min(hi, end)) for lo, hi in found]
    return spans


def _merge(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or touching spans as one; empty ones dropped; sorted."""
    merged: list[Span] = []
    for lo, hi in sorted(s for s in spans if s[1] > s[0]):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _hour_chunks(start: float, end: float) -> list[Span]:
    """The whole UTC hours of [start, end) in pieces of at most :data:`HOURLY_CHUNK_S`."""
    lo = math.ceil(start / _HOUR) * _HOUR
    hi = math.floor(end / _HOUR) * _HOUR
    return [(at, min(at + HOURLY_CHUNK_S, hi)) for at in range(lo, hi, HOURLY_CHUNK_S)]


class _Reader:
    """The store, counting its calls for ``progress``."""

    def __init__(self, store: MetricStore, progress: Progress | None, *, total: int) -> None:
        self.store, self.progress, self.total, self.done = store, progress, total, 0

    def _step(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)

    def sites(self, start: float, end: float, sites: Collection[str]) -> dict[str, Aggregate]:
        found = self.store.aggregate(start, end, by="site", keys=sites) if sites else []
        self._step()
        return {row.key: row for row in found}

    def hourly(self, start: float, end: float, partner: str) -> list[HourBucket]:
        found = self.store.hourly(start, end, by="partner", keys=[partner])
        self._step()
        return found


# --- the figures of one period -----------------------------------------------------------


def _figures(
    session: Session,
    reader: _Reader,
    scope: Scope,
    partner: str,
    sites: Sequence[_Site],
    plan: _Plan,
    target: float,
) -> tuple[list[tuple[_Site, Totals]], Totals]:
    """Each reported site's figures and the partner's totals over ``plan.period``."""
    start, end = plan.period.start, plan.period.end
    whole = reader.sites(start, end, [site.id for site in sites])
    polls = {key: (row.polls, row.polls_ok) for key, row in whole.items()}
    for spans, group in plan.groups.items():
        for lo, hi in spans:  # merged: disjoint, within the period
            for key, inside in reader.sites(lo, hi, group).items():
                attempted, ok = polls[key]
                polls[key] = (attempted - inside.polls, ok - inside.polls_ok)
    by_site, whole_partner = _summaries(session, scope, start=start, end=end, partner=partner)
    reported = [s for s in sites if s.active or s.id in whole or s.id in by_site]
    figures: list[tuple[_Site, Totals]] = []
    for site in reported:
        attempted, ok = polls.get(site.id, (0, 0))
        found = whole.get(site.id)
        figures.append(
            (
                site,
                _totals(
                    attempted,
                    ok,
                    target=target,
                    span_s=plan.until - start,
                    maintenance_s=plan.maintenance_s(site.id),
                    down=_whole(found.rx_bytes if found else None),
                    up=_whole(found.tx_bytes if found else None),
                    sessions=by_site.get(site.id),
                    clients=found,
                ),
            )
        )
    # The totals are "radius" when a reported site is (a session of the partner's at a
    # site it no longer has does not make them so).
    radius = any(f.source == "radius" for _site, f in figures)
    measured = [f for _site, f in figures if f.downtime_s is not None]
    totals = _totals(
        sum(f.polls for _s, f in figures),
        sum(f.polls_ok for _s, f in figures),
        target=target,
        span_s=None,
        maintenance_s=sum(f.maintenance_s for _s, f in figures),
        down=sum(f.down_bytes for _s, f in figures),
        up=sum(f.up_bytes for _s, f in figures),
        sessions=whole_partner.get(partner) if radius else None,
        clients=_pooled(whole.values()),
        downtime_s=sum(f.downtime_s or 0.0 for f in measured) if measured else None,
    )
    return figures, totals


def _summaries(
    session: Session, scope: Scope, *, start: float, end: float, partner: str
) -> tuple[dict[str, SessionSummary], dict[str, SessionSummary]]:
    """Sessions that began in [start, end) by site and for the partner, the keys with
    any (read once: :func:`summarise_each`)."""
    found = summarise_each(
        session, scope, levels=("site", "partner"), start=start, end=end, partner=partner
    )

    def with_any(rows: Sequence[SessionSummary]) -> dict[str, SessionSummary]:
        return {row.key: row for row in rows if row.key is not None and row.sessions}

    return with_any(found["site"]), with_any(found["partner"])


def _totals(
    polls: int,
    polls_ok: int,
    *,
    target: float,
    span_s: float | None,
    maintenance_s: float,
    down: int,
    up: int,
    sessions: SessionSummary | None,
    clients: Aggregate | None,
    downtime_s: float | None = None,
) -> Totals:
    """One ``Totals``; ``span_s`` the time the polls stand for (downtime computed from it),
    None for the partner's totals (their ``downtime_s`` is given: the sites' sum)."""
    availability = 100.0 * polls_ok / polls if polls else None  # percent, one rounding
    if span_s is not None:
        # (polls - polls_ok) / polls rather than from the percentage: whole numbers stay
        # whole (two hours of one AP of two over a month is 3600.0 s, not 3599.9999).
        downtime_s = (
            max(span_s - maintenance_s, 0.0) * (polls - polls_ok) / polls if polls else None
        )
    source: FigureSource = "radius" if sessions is not None else "snmp"
    return Totals(
        polls=polls,
        polls_ok=polls_ok,
        availability_pct=availability,
        sla_met=availability >= target if availability is not None else None,
        downtime_s=downtime_s,
        maintenance_s=maintenance_s,
        down_bytes=down,
        up_bytes=up,
        source=source,
        sessions=sessions.sessions if sessions is not None else None,
        users=sessions.users if sessions is not None else None,
        median_session_s=sessions.duration_median_s if sessions is not None else None,
        clients_peak=clients.clients_max if clients is not None else None,
        clients_mean=clients.clients_mean if clients is not None else None,
    )


def _pooled(sites: Iterable[Aggregate]) -> Aggregate | None:
    """The partner's clients peak and mean from its sites' (the largest peak; the mean
    over all their samples, from each mean and its ``clients_samples``): the sites' read
    already holds them, so the partner needs no read of its own."""
    rows = [row for row in sites if row.clients_samples and row.clients_mean is not None]
    if not rows:
        return None
    samples = sum(row.clients_samples for row in rows)
    total = sum((row.clients_mean or 0.0) * row.clients_samples for row in rows)
    return Aggregate(
        key="",
        aps=sum(row.aps for row in rows),
        polls=sum(row.polls for row in rows),
        polls_ok=sum(row.polls_ok for row in rows),
        rx_bytes=None,
        tx_bytes=None,
        clients_max=max(row.clients_max for row in rows if row.clients_max is not None),
        clients_mean=total / samples,
        sessions_max=None,
        sessions_mean=None,
        clients_samples=samples,
    )


def _whole(value: float | None) -> int:
    return round(value) if value is not None else 0


# --- incidents ---------------------------------------------------------------------------


def _incidents(
    session: Session, scope: Scope, period: Period, now: float
) -> dict[str, list[IncidentLine]]:
    """Per site, the outage incidents of the partner's APs overlapping the period, clipped
    to it (an open one runs until ``now``), earliest first."""
    until = min(period.end, max(period.start, now))
    rows = session.scalars(
        scoped_incidents(scope)
        .where(
            Incident.kind.in_(sorted(kind.value for kind in OUTAGE_CLASSES)),
            Incident.opened_at < period.end,
            or_(Incident.resolved_at.is_(None), Incident.resolved_at > period.start),
        )
        .order_by(Incident.opened_at, Incident.id)
    ).all()
    found = members(session, (r.id for r in rows), member_query=scoped_incident_members(scope))
    lines: dict[str, list[IncidentLine]] = defaultdict(list)
    for row in rows:
        started = max(row.opened_at, period.start)
        ended = (
            row.resolved_at
            if row.resolved_at is not None and row.resolved_at <= period.end
            else None
        )
        line = IncidentLine(
            id=row.id,
            kind=row.kind,
            started_at=started,
            ended_at=ended,
            duration_s=max((ended if ended is not None else until) - started, 0.0),
        )
        for site in sorted(set(found[row.id].values())):
            lines[site].append(line)
    return lines


# --- days and the heat map ---------------------------------------------------------------


def _local_days(period: Period, tz: ZoneInfo) -> list[tuple[date, float, float]]:
    """Each local calendar day the period touches, with its bounds clipped to it."""
    first = datetime.fromtimestamp(period.start, tz).date()
    last = datetime.fromtimestamp(period.end, tz).date()
    days: list[tuple[date, float, float]] = []
    day = first
    while day <= last:
        lo = datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
        after = day + timedelta(days=1)
        hi = datetime(after.year, after.month, after.day, tzinfo=tz).timestamp()
        lo, hi = max(lo, period.start), min(hi, period.end)
        if hi > lo:
            days.append((day, lo, hi))
        day = after
    return days


@dataclass(slots=True)
class _Day:
    polls: int = 0
    polls_ok: int = 0
    down: float = 0.0
    up: float = 0.0
    clients_peak: float | None = None


def _days(
    session: Session,
    scope: Scope,
    partner: str,
    period: Period,
    tz: ZoneInfo,
    buckets: Sequence[HourBucket],
    *,
    radius: bool,
) -> tuple[DayFigures, ...]:
    sums: dict[date, _Day] = defaultdict(_Day)
    for bucket in buckets:
        into = sums[datetime.fromtimestamp(bucket.hour, tz).date()]
        into.polls += bucket.polls
        into.polls_ok += bucket.polls_ok
        into.down += bucket.rx_bytes or 0.0
        into.up += bucket.tx_bytes or 0.0
        if bucket.clients_max is not None:
            into.clients_peak = max(into.clients_peak or bucket.clients_max, bucket.clients_max)
    figures: list[DayFigures] = []
    days = list(_local_days(period, tz))
    started: list[int | None] = [None] * len(days)
    if radius and days:
        bounds = [lo for _day, lo, _hi in days] + [days[-1][2]]
        started = list(starts_per_window(session, scope, bounds, partner=partner))
    for (day, _lo, _hi), sessions in zip(days, started, strict=True):
        found = sums.get(day, _Day())
        figures.append(
            DayFigures(
                day=day.isoformat(),
                polls=found.polls,
                polls_ok=found.polls_ok,
                availability_pct=100.0 * found.polls_ok / found.polls if found.polls else None,
                down_bytes=round(found.down),
                up_bytes=round(found.up),
                clients_peak=found.clients_peak,
                sessions=sessions,
            )
        )
    return tuple(figures)


def _heatmap(buckets: Sequence[HourBucket], tz: ZoneInfo) -> tuple[tuple[int, ...], ...]:
    """Bytes down + up per local (weekday, hour), Monday = 0."""
    cells = [[0.0] * 24 for _weekday in range(7)]
    for bucket in buckets:
        local = datetime.fromtimestamp(bucket.hour, tz)
        cells[local.weekday()][local.hour] += (bucket.rx_bytes or 0.0) + (bucket.tx_bytes or 0.0)
    return tuple(tuple(round(value) for value in row) for row in cells)
