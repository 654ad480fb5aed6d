"""The inventory as coverage inputs: sites, live state, districts, demand, candidates.

Four Core selects (no ORM objects: 10,000 demand rows as ORM instances would cost more
than the analysis of them), each ordered by id so that the same database always gives the
same :class:`CoverageInputs` and so the same cache keys. A site's live state comes out of
the sites query itself (an EXISTS on its APs), so there is no query per site.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.access import Scope
from core.settings import Settings
from core.states import ApState
from inventory.candidates import stored_candidates
from inventory.models import AccessPoint, ApStatus, DemandPoint, District, Site
from inventory.scoping import site_conditions
from planning.inputs import (
    Candidate,
    CandidateSource,
    CoverageInputs,
    DemandSpot,
    DistrictShape,
    SiteDisc,
)

#: Only these sites cover anything: planned ones are not built, retired ones are gone.
ACTIVE = "active"


def load_inputs(
    session: Session,
    scope: Scope,
    settings: Settings,
    *,
    candidates: Sequence[Candidate] | None = None,
) -> CoverageInputs:
    """What ``scope`` may analyse: its active sites (a partner: its own only) with their
    live state, every district and demand point (public facts: where people are is not a
    partner's secret), and the candidate places: ``candidates`` when given (a file), else
    the stored list, else none (the suggestions then lay a grid)."""
    chosen: tuple[Candidate, ...]
    source: CandidateSource
    if candidates is not None:
        chosen, source = tuple(candidates), "file"
    else:
        chosen, source = _stored(session, settings)
    return CoverageInputs(
        districts=_districts(session),
        sites=_sites(session, scope),
        demand=_demand(session),
        candidates=chosen,
        candidate_source=source,
        grid_spacing_m=settings.coverage_candidate_spacing_m,
        grid_radius_m=settings.coverage_candidate_radius_m,
        gap_cell_m=settings.coverage_gap_cell_m,
        epsg=settings.coverage_epsg,
        scope_partner=scope.partner_id,
        notes={"live_as_of": _live_as_of(session, scope)},
    )


def _sites(session: Session, scope: Scope) -> tuple[SiteDisc, ...]:
    # Up means answering: a disabled AP is not polled, so its last state is stale and
    # does not count; a site with no AP at all is not live. The sites with an AP up are
    # one derived table joined once (a correlated EXISTS per site ran ten times slower on
    # PostgreSQL).
    live = (
        select(AccessPoint.site_id)
        .join(ApStatus, ApStatus.ap_id == AccessPoint.id)
        .where(AccessPoint.enabled.is_(True), ApStatus.state == ApState.UP.value)
        .distinct()
        .subquery()
    )
    query = (
        select(
            Site.id,
            Site.name,
            Site.lat,
            Site.lon,
            Site.coverage_radius_m,
            Site.district_id,
            Site.partner_id,
            live.c.site_id.is_not(None).label("live"),
        )
        .outerjoin(live, live.c.site_id == Site.id)
        .where(Site.status == ACTIVE, *site_conditions(scope))
        .order_by(Site.id)
    )
    return tuple(
        SiteDisc(
            id=row.id,
            name=row.name,
            lat=row.lat,
            lon=row.lon,
            radius_m=row.coverage_radius_m,
            district_id=row.district_id,
            partner_id=row.partner_id,
            live=bool(row.live),
        )
        for row in session.execute(query)
    )


def _districts(session: Session) -> tuple[DistrictShape, ...]:
    query = select(District.id, District.name, District.boundary_geojson).order_by(District.id)
    return tuple(DistrictShape(*row) for row in session.execute(query))


def _demand(session: Session) -> tuple[DemandSpot, ...]:
    query = select(
        DemandPoint.id,
        DemandPoint.lat,
        DemandPoint.lon,
        DemandPoint.weight,
        DemandPoint.district_id,
    ).order_by(DemandPoint.id)
    return tuple(DemandSpot(*row) for row in session.execute(query))


def _stored(session: Session, settings: Settings) -> tuple[tuple[Candidate, ...], CandidateSource]:
    stored = stored_candidates(session)
    if not stored:
        return (), "grid"
    radius = settings.coverage_candidate_radius_m
    return (
        tuple(
            Candidate(
                id=c.id,
                name=c.name,
                lat=c.lat,
                lon=c.lon,
                radius_m=c.coverage_radius_m if c.coverage_radius_m is not None else radius,
            )
            for c in stored
        ),
        "inventory",
    )


def _live_as_of(session: Session, scope: Scope) -> float | None:
    """When the live state was last refreshed: the newest poll of an AP in scope (a
    partner is told about its own APs' polls only)."""
    query = select(func.max(ApStatus.last_poll))
    if not scope.whole_city:
        query = (
            query.join(AccessPoint, AccessPoint.id == ApStatus.ap_id)
            .join(Site, Site.id == AccessPoint.site_id)
            .where(*site_conditions(scope))
        )
    value = session.execute(query).scalar_one_or_none()
    return float(value) if value is not None else None
