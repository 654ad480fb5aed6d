"""What a coverage analysis answers: plain frozen values the API and the CLI render.

Percentages are 0 to 100. Areas are square metres of the metric projection, demand is in
the demand points' weight (people). ``None`` means "cannot be said" (a district without a
boundary has no area; a district without demand points has no demand share), never 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from planning.inputs import CandidateSource

GapKind = Literal["fault", "design"]
Method = Literal["optimal", "greedy"]
#: How a suggestion ended: "optimal" (proved), "time_limit" (best found when the solver's
#: time ran out; ``bound`` says how much better any answer could be), "greedy".
SolveStatus = Literal["optimal", "time_limit", "greedy"]


@dataclass(frozen=True, slots=True)
class AreaCoverage:
    """Coverage of one district, or of the whole city (``district`` None)."""

    district: str | None
    name: str
    area_m2: float | None  # None: no boundary
    designed_m2: float | None  # covered by active sites (overlaps once)
    live_m2: float | None  # covered by live sites
    designed_pct: float | None
    live_pct: float | None
    demand: float  # total weight of the demand points in it
    demand_designed: float  # weight within reach of an active site
    demand_live: float  # weight within reach of a live site
    demand_pct: float | None  # None: no demand points
    live_demand_pct: float | None
    sites: int  # active sites whose disc touches it
    sites_live: int


@dataclass(frozen=True, slots=True)
class CoverageReport:
    districts: tuple[AreaCoverage, ...]  # sorted by district id
    city: AreaCoverage
    epsg: int  # the projection the areas were measured in


@dataclass(frozen=True, slots=True)
class Gap:
    """An uncovered area. ``kind`` "fault": designed coverage lost because its sites are
    down now (``sites`` names them); "design": no active site reaches it (the part of one
    ``gap_cell_m`` square in one district). ``geometry``: GeoJSON (lon/lat)."""

    kind: GapKind
    district: str | None
    area_m2: float
    demand: float  # weight of the demand points inside, unserved
    demand_points: int
    sites: tuple[str, ...]
    geometry: dict[str, Any]
    rank: int  # 1 = the most demand left unserved (within all gaps returned)


@dataclass(frozen=True, slots=True)
class Gaps:
    gaps: tuple[Gap, ...]  # ranked: most unserved demand first, then largest area
    fault_area_m2: float
    design_area_m2: float
    fault_demand: float
    design_demand: float

    def geojson(self) -> dict[str, Any]:
        """A FeatureCollection, one Feature per gap, its fields as properties."""
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": gap.geometry,
                    "properties": {
                        "rank": gap.rank,
                        "kind": gap.kind,
                        "district": gap.district,
                        "area_m2": round(gap.area_m2, 1),
                        "demand": round(gap.demand, 3),
                        "demand_points": gap.demand_points,
                        "sites": list(gap.sites),
                    },
                }
                for gap in self.gaps
            ],
        }


@dataclass(frozen=True, slots=True)
class Suggested:
    """One chosen place. ``added_demand``: what it adds given the ones before it in the
    list (so the list's sum is the total); ``alone_demand``: what it would add by itself."""

    candidate: str
    name: str
    lat: float
    lon: float
    radius_m: float
    district: str | None
    added_demand: float
    alone_demand: float


@dataclass(frozen=True, slots=True)
class Suggestions:
    """k new sites chosen among the candidates to cover the most demand that no active
    site covers yet.

    ``optimal_demand`` is the MILP's objective (None when the method was greedy and the
    MILP was not run), ``greedy_demand`` the greedy solution's; ``gap_pct`` is the greedy
    solution's shortfall against the MILP's, 100 * (optimal - greedy) / optimal (None without
    both). ``bound`` is the best objective any solution could reach (the solver's dual
    bound; equal to ``optimal_demand`` when proved optimal).
    """

    method: Method
    status: SolveStatus
    k: int
    sites: tuple[Suggested, ...]
    added_demand: float
    demand_total: float
    covered_before_pct: float | None
    covered_after_pct: float | None
    candidates: int
    candidate_source: CandidateSource
    optimal_demand: float | None
    greedy_demand: float
    gap_pct: float | None
    bound: float | None
    solve_s: float


@dataclass(frozen=True, slots=True)
class NewSite:
    """A site a what-if adds (lon/lat, radius)."""

    id: str
    lat: float
    lon: float
    radius_m: float


@dataclass(frozen=True, slots=True)
class DistrictChange:
    """One district (or the city: ``district`` None) before and after a what-if."""

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
    demand_lost: float  # weight served (live) before and not after
    demand_gained: float  # weight served (live) after and not before


@dataclass(frozen=True, slots=True)
class WhatIf:
    """Coverage with sites removed, added, or failing (failing: still designed, not
    live), against coverage now. ``lost``: the demand points that lose service, GeoJSON
    Point features with their id and weight, most weight first (at most ``max_points``)."""

    removed: tuple[str, ...]
    added: tuple[NewSite, ...]
    failed: tuple[str, ...]
    districts: tuple[DistrictChange, ...]
    city: DistrictChange
    demand_lost: float
    demand_gained: float
    lost_points: int
    lost: dict[str, Any]  # GeoJSON FeatureCollection of the points losing service
