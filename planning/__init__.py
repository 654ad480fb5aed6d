"""Coverage and planning: where the city has working WiFi, where it has none, and the
best places to build next. The API and the CLI only call what is re-exported here.

Why not ``coverage/``: that top-level name belongs to coverage.py, which pytest-cov,
hypothesis and most CI tooling import; a package of ours by that name would shadow it.

Modules, bottom up::

    inputs      CoverageInputs: districts, site discs (live or not), demand, candidates
    projection  degrees to metres (the city's UTM zone)
    geometry    the city projected: shapely discs and polygons, numpy arrays, reach()
    analysis    coverage per district and citywide, designed and live, area and demand
    gaps        uncovered areas ranked by unserved demand, fault gaps apart
    suggest     k new sites: exact MILP (scipy/HiGHS) and greedy, with the gap between
    whatif      sites removed, added or failing, against now
    source      the inventory (scoped) as CoverageInputs
    cache       results kept until the inventory or the live state changes

Errors are ``core.errors.PlanningError``.
"""

from planning.analysis import coverage_report
from planning.cache import CoverageCache
from planning.gaps import find_gaps
from planning.geometry import CityGeometry, city_geometry
from planning.inputs import (
    Candidate,
    CandidateSource,
    CoverageInputs,
    DemandSpot,
    DistrictShape,
    SiteDisc,
)
from planning.results import (
    AreaCoverage,
    CoverageReport,
    DistrictChange,
    Gap,
    GapKind,
    Gaps,
    Method,
    NewSite,
    SolveStatus,
    Suggested,
    Suggestions,
    WhatIf,
)
from planning.source import load_inputs
from planning.suggestions import grid_candidates, suggest
from planning.whatif import what_if

__all__ = [
    "AreaCoverage",
    "Candidate",
    "CandidateSource",
    "CityGeometry",
    "CoverageCache",
    "CoverageInputs",
    "CoverageReport",
    "DemandSpot",
    "DistrictChange",
    "DistrictShape",
    "Gap",
    "GapKind",
    "Gaps",
    "Method",
    "NewSite",
    "SiteDisc",
    "SolveStatus",
    "Suggested",
    "Suggestions",
    "WhatIf",
    "city_geometry",
    "coverage_report",
    "find_gaps",
    "grid_candidates",
    "load_inputs",
    "suggest",
    "what_if",
]
