"""Shapes of the coverage routes: coverage per district, gaps, suggestions, what-if.

They mirror :mod:`planning.results` (whose docstrings define the figures: percentages 0 to
100, ``null`` = cannot be said, never 0), rounded for the wire: nobody plans with a
millionth of a percent, and a smaller answer is a faster page. Areas leave as km² for a
district (what a person reads) and m² for a gap (gaps are small).

The what-if body is strict and bounded (lists of at most a thousand ids, a hundred new
sites, coordinates on the globe, a radius of at most 5 km): the analysis is CPU work, and
an unbounded request would be a way to stall the server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from api.filters import MAX_ID_LENGTH
from api.text import NoNul
from api.times import utc
from planning.inputs import CandidateSource
from planning.results import (
    AreaCoverage,
    CoverageReport,
    DistrictChange,
    GapKind,
    Gaps,
    Method,
    NewSite,
    SolveStatus,
    Suggestions,
    WhatIf,
)

MAX_WHATIF_SITES = 1000  # ids in remove / fail
MAX_WHATIF_NEW = 100  # new sites in add
MAX_RADIUS_M = 5000.0

SiteId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH), NoNul]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- coverage per district -----------------------------------------------------------


class CoverageRow(_Model):
    """One district, or the city (``district`` null)."""

    district: str | None
    name: str
    area_km2: float | None  # null: the district has no boundary
    designed_km2: float | None
    live_km2: float | None
    designed_pct: float | None  # of the area covered by active sites (overlaps once)
    live_pct: float | None  # ... by sites with an AP up now
    demand_pct: float | None  # of the demand within reach of an active site
    live_demand_pct: float | None
    demand: float
    demand_designed: float
    demand_live: float
    sites: int
    sites_live: int


class CoveragePublic(_Model):
    data: list[CoverageRow]
    count: int
    city: CoverageRow
    # "partner": the figures are what the caller's own sites cover, nobody else's.
    scope: Literal["city", "partner"]
    epsg: int  # the metric projection the areas were measured in
    live_as_of: datetime | None  # the newest poll the live figures rest on


# --- gaps (GeoJSON) ------------------------------------------------------------------


class GapProperties(_Model):
    rank: int
    kind: GapKind
    district: str | None
    area_m2: float
    demand: float
    demand_points: int
    sites: list[str]  # fault gaps: the down sites whose discs made it


class GapFeature(_Model):
    type: Literal["Feature"]
    geometry: dict[str, Any]  # GeoJSON Polygon or MultiPolygon, lon/lat
    properties: GapProperties


class GapsPublic(_Model):
    """A GeoJSON FeatureCollection, with the totals as foreign members (RFC 7946 §6.1)."""

    type: Literal["FeatureCollection"]
    features: list[GapFeature]
    count: int  # features returned (after ``kind``, ``district`` and ``limit``)
    fault_area_m2: float
    design_area_m2: float
    fault_demand: float
    design_demand: float


# --- suggestions ---------------------------------------------------------------------


class SuggestedPublic(_Model):
    candidate: str
    name: str
    lat: float
    lon: float
    radius_m: float
    district: str | None
    added_demand: float  # given the ones before it in the list
    alone_demand: float  # by itself


class SuggestionsPublic(_Model):
    method: Method
    # "time_limit": the solver ran out of time; the best found is given and ``bound`` says
    # how much better any answer could be.
    status: SolveStatus
    k: int
    sites: list[SuggestedPublic]
    added_demand: float
    demand_total: float
    covered_before_pct: float | None
    covered_after_pct: float | None
    candidates: int
    candidate_source: CandidateSource
    optimal_demand: float | None
    greedy_demand: float
    gap_pct: float | None  # greedy's shortfall against the optimum
    bound: float | None
    solve_s: float


# --- what-if -------------------------------------------------------------------------


class _Strict(_Model):
    """A body: JSON types as declared (``false`` is not a longitude, ``"1"`` not a number)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class NewSiteIn(_Strict):
    id: SiteId | None = Field(default=None, description="Default: new-1, new-2, ... in order.")
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    radius_m: float = Field(gt=0.0, le=MAX_RADIUS_M, description="Coverage radius, metres.")


def _unique_ids(sites: list[NewSiteIn]) -> list[NewSiteIn]:
    ids = [site.id for site in sites if site.id is not None]
    if len(ids) != len(set(ids)):
        raise ValueError("new sites must have distinct ids")
    return sites


class WhatIfIn(_Strict):
    """Sites taken out (``remove``), built (``add``) or failing (``fail``: still designed,
    not live), against coverage now."""

    remove: list[SiteId] = Field(default_factory=list, max_length=MAX_WHATIF_SITES)
    add: Annotated[list[NewSiteIn], AfterValidator(_unique_ids)] = Field(
        default_factory=list, max_length=MAX_WHATIF_NEW
    )
    fail: list[SiteId] = Field(default_factory=list, max_length=MAX_WHATIF_SITES)


class NewSitePublic(_Model):
    id: str
    lat: float
    lon: float
    radius_m: float


class DistrictChangePublic(_Model):
    district: str | None
    name: str
    designed_pct_before: float | None
    designed_pct_after: float | None
    live_pct_before: float | None
    live_pct_after: float | None
    demand_pct_before: float | None
    demand_pct_after: float | None
    live_demand_pct_before: float | None
    live_demand_pct_after: float | None
    demand_lost: float
    demand_gained: float


class WhatIfPublic(_Model):
    removed: list[str]
    added: list[NewSitePublic]
    failed: list[str]
    districts: list[DistrictChangePublic]
    city: DistrictChangePublic
    demand_lost: float
    demand_gained: float
    lost_points: int  # all of them; ``lost`` holds at most 500, most weight first
    lost: dict[str, Any]  # GeoJSON FeatureCollection of the points losing service


# --- from planning.results -----------------------------------------------------------
# One place for the rounding, used by the API and by ``citywifi coverage --json`` alike.

PCT_DIGITS = 3
DEMAND_DIGITS = 3
KM2_DIGITS = 6


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, PCT_DIGITS)


def _km2(m2: float | None) -> float | None:
    return None if m2 is None else round(m2 / 1e6, KM2_DIGITS)


def _demand(value: float) -> float:
    return round(value, DEMAND_DIGITS)


def coverage_row(area: AreaCoverage) -> CoverageRow:
    return CoverageRow(
        district=area.district,
        name=area.name,
        area_km2=_km2(area.area_m2),
        designed_km2=_km2(area.designed_m2),
        live_km2=_km2(area.live_m2),
        designed_pct=_pct(area.designed_pct),
        live_pct=_pct(area.live_pct),
        demand_pct=_pct(area.demand_pct),
        live_demand_pct=_pct(area.live_demand_pct),
        demand=_demand(area.demand),
        demand_designed=_demand(area.demand_designed),
        demand_live=_demand(area.demand_live),
        sites=area.sites,
        sites_live=area.sites_live,
    )


def coverage_public(
    report: CoverageReport,
    *,
    district: str | None,
    partner: bool,
    live_as_of: float | None,
) -> CoveragePublic:
    """The report's rows (``district``: that one only) and the city line."""
    rows = [
        coverage_row(area)
        for area in report.districts
        if district is None or area.district == district
    ]
    return CoveragePublic(
        data=rows,
        count=len(rows),
        city=coverage_row(report.city),
        scope="partner" if partner else "city",
        epsg=report.epsg,
        live_as_of=utc(live_as_of),
    )


def gaps_public(gaps: Gaps) -> GapsPublic:
    collection = gaps.geojson()
    return GapsPublic(
        type="FeatureCollection",
        features=[GapFeature.model_validate(f) for f in collection["features"]],
        count=len(gaps.gaps),
        fault_area_m2=round(gaps.fault_area_m2, 1),
        design_area_m2=round(gaps.design_area_m2, 1),
        fault_demand=_demand(gaps.fault_demand),
        design_demand=_demand(gaps.design_demand),
    )


def suggestions_public(found: Suggestions) -> SuggestionsPublic:
    return SuggestionsPublic(
        method=found.method,
        status=found.status,
        k=found.k,
        sites=[
            SuggestedPublic(
                candidate=s.candidate,
                name=s.name,
                lat=s.lat,
                lon=s.lon,
                radius_m=s.radius_m,
                district=s.district,
                added_demand=_demand(s.added_demand),
                alone_demand=_demand(s.alone_demand),
            )
            for s in found.sites
        ],
        added_demand=_demand(found.added_demand),
        demand_total=_demand(found.demand_total),
        covered_before_pct=_pct(found.covered_before_pct),
        covered_after_pct=_pct(found.covered_after_pct),
        candidates=found.candidates,
        candidate_source=found.candidate_source,
        optimal_demand=None if found.optimal_demand is None else _demand(found.optimal_demand),
        greedy_demand=_demand(found.greedy_demand),
        gap_pct=_pct(found.gap_pct),
        bound=None if found.bound is None else _demand(found.bound),
        solve_s=round(found.solve_s, 3),
    )


def new_sites(body: WhatIfIn) -> list[NewSite]:
    """The body's new sites, those without an id named new-1, new-2, ... (skipping ids
    the body gives itself)."""
    taken = {site.id for site in body.add if site.id is not None}
    free = (f"new-{n}" for n in range(1, 2 * MAX_WHATIF_NEW + 2) if f"new-{n}" not in taken)
    return [
        NewSite(id=site.id if site.id is not None else next(free), lat=site.lat, lon=site.lon,
                radius_m=site.radius_m)
        for site in body.add
    ]  # fmt: skip


def _change(change: DistrictChange) -> DistrictChangePublic:
    return DistrictChangePublic(
        district=change.district,
        name=change.name,
        designed_pct_before=_pct(change.designed_pct_before),
        designed_pct_after=_pct(change.designed_pct_after),
        live_pct_before=_pct(change.live_pct_before),
        live_pct_after=_pct(change.live_pct_after),
        demand_pct_before=_pct(change.demand_pct_before),
        demand_pct_after=_pct(change.demand_pct_after),
        live_demand_pct_before=_pct(change.live_demand_pct_before),
        live_demand_pct_after=_pct(change.live_demand_pct_after),
        demand_lost=_demand(change.demand_lost),
        demand_gained=_demand(change.demand_gained),
    )


def whatif_public(found: WhatIf) -> WhatIfPublic:
    return WhatIfPublic(
        removed=list(found.removed),
        added=[
            NewSitePublic(id=s.id, lat=s.lat, lon=s.lon, radius_m=s.radius_m) for s in found.added
        ],
        failed=list(found.failed),
        districts=[_change(c) for c in found.districts],
        city=_change(found.city),
        demand_lost=_demand(found.demand_lost),
        demand_gained=_demand(found.demand_gained),
        lost_points=found.lost_points,
        lost=found.lost,
    )
