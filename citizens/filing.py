"""Filing a citizen's report: which hotspot, which incident, and the report stored.

The rules, one place each:

- The hotspot is the one picked on the map (it must be reportable: active, an enabled
  AP), else the nearest whose coverage reaches the point (:mod:`citizens.matching`);
  with neither, the report is stored ``unmatched`` and opens nothing (it is still read
  by an engineer: a hotspot may be missing from the inventory).
- A hotspot with an active incident (one holding an AP of the site, or about the site
  itself): the report joins it, whatever its class, and raises its priority. Of several,
  the engine's rather than the citizens' (it names a cause), then the oldest.
- Otherwise the citizens' own incident (``citizen_reported``) of that site, resolved
  less than ``citizen_report_window_s`` ago, is reopened (the same complaint coming back,
  not a new one); else one is opened with the site's enabled APs as members, so that
  the fault engine merges it into its own incident once it finds the cause.
- Nothing the citizen wrote, nor their phone, goes into an incident: the timeline and
  explanation say the report's number, its problem in words and its channel.

Everything happens in the caller's transaction (flushed, never committed): the API
commits the report with its audit row, the import all its rows or none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from citizens.matching import SiteMatch, nearest_site, picked_site
from core.citizens import PROBLEM_WORDS, Channel, Match, Problem
from core.incidents import IncidentClass, IncidentScope, IncidentState
from core.settings import Settings
from inventory import citizen_reports, incidents
from inventory.citizen_reports import PhotoData
from inventory.models import AccessPoint, Incident, IncidentAp, Site
from inventory.secretbox import SecretBox

__all__ = ["FiledReport", "NewReport", "explanation", "file_report"]

CITIZENS = IncidentClass.CITIZEN_REPORTED


@dataclass(frozen=True)
class NewReport:
    """A report as received (validated by the caller: the API's models, the import)."""

    problem: Problem
    channel: Channel
    lat: float | None = None
    lon: float | None = None
    site_id: str | None = None  # picked on the map: wins over lat/lon
    text: str | None = None  # <= 1000 characters; sealed
    phone: str | None = None  # normalised (citizens.phone); sealed, wiped when closed
    photo: PhotoData | None = None  # from citizens.photos.sanitize
    address_hash: str | None = None  # from inventory.citizen_reports.hash_address
    filed_by: str | None = None  # the operator's name; None: the public page
    external_ref: str | None = None  # the other system's id (import)


@dataclass(frozen=True)
class FiledReport:
    """What filing did. ``known``: the hotspot already had an active incident (public:
    the page tells the citizen the operation centre knew)."""

    id: int
    match: Match
    site_id: str | None
    site_name: str | None
    distance_m: float | None
    incident_id: int | None
    incident_kind: IncidentClass | None
    known: bool


def file_report(
    session: Session, report: NewReport, *, box: SecretBox, settings: Settings, now: float
) -> FiledReport:
    """Match ``report``, join, reopen or open its incident, and store it (at ``now``).

    ValueError (one line, nothing written) for a picked site that is not there or not
    reportable, and for a report with neither a site nor a point."""
    site = _site_of(session, report)
    if site is None:
        report_id = _insert(session, report, box, now, site=None, match=Match.UNMATCHED)
        return FiledReport(report_id, Match.UNMATCHED, None, None, None, None, None, False)
    _lock(session, site.site_id)
    found = _active_incident(session, site.site_id)
    if found is not None:
        match, incident_id, kind = Match.JOINED, found.id, IncidentClass(found.kind)
    else:
        kind = CITIZENS
        previous = _recent_citizens_incident(session, site.site_id, settings, now)
        if previous is not None:
            match, incident_id = Match.REOPENED, previous
            detail = f"citizens report {PROBLEM_WORDS[report.problem]} again"
            incidents.reopen(session, previous, now=now, aps=_aps(session, site), detail=detail)
        else:
            match = Match.OPENED
            incident_id = incidents.open_incident(
                session,
                kind=CITIZENS,
                scope_id=site.site_id,
                district_id=site.district_id,
                aps=_aps(session, site),
                explanation=explanation(site.name, [report.problem]),
                now=now,
                responsible=settings.responsible_for(CITIZENS),
            )
    report_id = _insert(session, report, box, now, site=site, match=match, incident=incident_id)
    detail = f"citizen report #{report_id}: {PROBLEM_WORDS[report.problem]} ({report.channel})"
    incidents.add_citizen_report(session, incident_id, detail=detail, now=now)
    if kind is CITIZENS:
        problems = citizen_reports.problems_of(session, incident_id)
        incidents.set_explanation(session, incident_id, explanation(site.name, problems), now=now)
    return FiledReport(
        id=report_id,
        match=match,
        site_id=site.site_id,
        site_name=site.name,
        distance_m=site.distance_m,
        incident_id=incident_id,
        incident_kind=kind,
        known=match is Match.JOINED,
    )


def explanation(site_name: str, problems: Sequence[Problem]) -> str:
    """A citizens' incident's explanation: what they report (each problem once, in the
    order first reported) at which hotspot, and how many reports."""
    words = ", ".join(PROBLEM_WORDS[p] for p in dict.fromkeys(problems))
    n = len(problems)
    return f"citizens report: {words} at {site_name} ({n} report{'' if n == 1 else 's'})"


def _site_of(session: Session, report: NewReport) -> SiteMatch | None:
    if report.site_id is not None:
        picked = picked_site(session, report.site_id)
        if picked is None:
            raise ValueError(f"site {report.site_id!r} is not an active hotspot with an enabled AP")
        return picked
    if report.lat is None or report.lon is None:
        raise ValueError("a report needs a site or a location (lat and lon)")
    return nearest_site(session, report.lat, report.lon)


def _lock(session: Session, site_id: str) -> None:
    """Serialise filings about one site (PostgreSQL: the site row, until commit), so two
    reports at once cannot both find no incident and open two."""
    session.execute(select(Site.id).where(Site.id == site_id).with_for_update())


def _active_incident(session: Session, site_id: str) -> Incident | None:
    """The site's active incident: holding one of its APs, or about the site itself.
    The engine's before the citizens' (it names a cause), then the oldest."""
    holds_ap = select(IncidentAp.incident_id).where(IncidentAp.site_id == site_id)
    query = (
        select(Incident)
        .where(
            Incident.state.in_([s.value for s in incidents.ACTIVE_STATES]),
            or_(
                Incident.id.in_(holds_ap),
                and_(Incident.scope_kind == IncidentScope.SITE.value, Incident.scope_id == site_id),
            ),
        )
        .order_by((Incident.kind == CITIZENS.value), Incident.opened_at, Incident.id)
        .limit(1)
    )
    return session.scalars(query).first()


def _recent_citizens_incident(
    session: Session, site_id: str, settings: Settings, now: float
) -> int | None:
    """The site's citizens' incident resolved within the window (not merged away: a
    merged one lives on in its parent), the newest; None without one."""
    query = (
        select(Incident.id)
        .where(
            Incident.kind == CITIZENS.value,
            Incident.scope_id == site_id,
            Incident.state == IncidentState.RESOLVED.value,
            Incident.merged_into.is_(None),
            Incident.resolved_at >= now - settings.citizen_report_window_s,
        )
        .order_by(Incident.resolved_at.desc(), Incident.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def _aps(session: Session, site: SiteMatch) -> dict[str, str]:
    """The site's enabled APs, as members (``ap_id -> site_id``)."""
    query = select(AccessPoint.id).where(
        AccessPoint.site_id == site.site_id, AccessPoint.enabled.is_(True)
    )
    return {ap_id: site.site_id for ap_id in session.scalars(query)}


def _insert(
    session: Session,
    report: NewReport,
    box: SecretBox,
    now: float,
    *,
    site: SiteMatch | None,
    match: Match,
    incident: int | None = None,
) -> int:
    return citizen_reports.insert(
        session,
        box,
        received_at=now,
        channel=report.channel,
        problem=report.problem,
        match=match,
        lat=report.lat,
        lon=report.lon,
        site_id=None if site is None else site.site_id,
        distance_m=None if site is None else site.distance_m,
        incident_id=incident,
        text=report.text,
        phone=report.phone,
        photo=report.photo,
        address_hash=report.address_hash,
        filed_by=report.filed_by,
        external_ref=report.external_ref,
    )
