"""Coverage and planning: where the city has working WiFi, where it has none, and where to
build next. The analysis is :mod:`planning`'s; these routes read the caller's slice of the
inventory, ask the app's cache, and render.

Who sees what (docs/access.md). ``GET /coverage`` needs ``coverage:read``; a partner gets
what ITS OWN sites cover, per district (the districts and the demand are public facts;
another partner's sites never enter its figures). Gaps, suggestions and what-if need
``coverage:plan``: they reveal the whole city's layout (where every site is, which are
down), so a partner gets 403 there.

The inputs are read on every request (a few queries, well under 100 ms for a city of a
thousand sites); the results are kept in ``app.state.coverage`` (a
:class:`planning.CoverageCache`, made by ``create_app``) until the inventory or the live
state changes. The work is CPU-bound: sync handlers, run in FastAPI's thread pool.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.access_models import error_responses
from api.auth import ScopeDep, require
from api.coverage_models import (
    CoveragePublic,
    GapsPublic,
    SuggestionsPublic,
    WhatIfIn,
    WhatIfPublic,
    coverage_public,
    gaps_public,
    new_sites,
    suggestions_public,
    whatif_public,
)
from api.deps import MAX_LIMIT, SessionDep, SettingsDep
from api.filters import DistrictQuery
from core.access import Permission
from core.errors import PlanningError
from planning import CoverageCache, CoverageInputs, GapKind, Method, load_inputs

router = APIRouter(prefix="/api/v1/coverage", tags=["coverage"])

MAX_K = 100
DEFAULT_K = 10
DEFAULT_GAPS = 1000
MAX_TIME_LIMIT_S = 3600.0  # the setting's own bound; the setting bounds each request
ERROR_SCHEMA = "#/components/schemas/ErrorPublic"


class GeoJSONResponse(JSONResponse):
    """RFC 7946's media type, so a GIS client (QGIS, a map library) knows what it got."""

    media_type = "application/geo+json"


def json_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """:func:`error_responses` for a route whose success is not JSON: FastAPI would
    document its error bodies under the route's media type (``application/geo+json``), but
    they are JSON like every other error (:class:`api.access_models.ErrorPublic`)."""
    found = error_responses(*codes)
    for entry in found.values():
        entry.pop("model")
        entry["content"] = {"application/json": {"schema": {"$ref": ERROR_SCHEMA}}}
    return found


def get_coverage(request: Request) -> CoverageCache:
    return cast(CoverageCache, request.app.state.coverage)


CoverageDep = Annotated[CoverageCache, Depends(get_coverage)]

_READ = [require(Permission.COVERAGE_READ)]
_PLAN = [require(Permission.COVERAGE_PLAN)]


def _known_district(inputs: CoverageInputs, district: str | None) -> None:
    """404 for a district that does not exist, with the body of any unknown id (the
    districts are public: every caller's inputs hold them all)."""
    if district is not None and all(d.id != district for d in inputs.districts):
        raise HTTPException(status_code=404, detail=f"no district with id {district!r}")


def _refused(exc: PlanningError, *loc: str) -> RequestValidationError:
    """A question the analysis cannot answer as asked: a 422 in FastAPI's own format,
    naming the parameter, with the analysis's one-line reason."""
    message = str(exc).splitlines()[0] if str(exc) else "cannot be answered as asked"
    return RequestValidationError(
        [{"type": "value_error", "loc": loc, "msg": message, "input": None}]
    )


@router.get(
    "",
    response_model=CoveragePublic,
    dependencies=_READ,
    responses=error_responses(401, 403, 404),
    summary="Coverage per district and citywide: designed and live, area and demand",
)
def get_coverage_report(
    session: SessionDep,
    scope: ScopeDep,
    settings: SettingsDep,
    cache: CoverageDep,
    district: DistrictQuery = None,
) -> Any:
    """Designed: the area the active sites cover (overlaps once); live: only sites with an
    AP up now; demand: the share of the population within reach. A partner: what its own
    sites cover (``scope`` "partner")."""
    inputs = load_inputs(session, scope, settings)
    _known_district(inputs, district)
    report = cache.report(inputs)
    return coverage_public(
        report,
        district=district,
        partner=scope.partner_id is not None,
        live_as_of=inputs.notes.get("live_as_of"),
    )


@router.get(
    "/gaps",
    response_model=GapsPublic,
    response_class=GeoJSONResponse,
    dependencies=_PLAN,
    responses=json_errors(401, 403, 404),
    summary="Uncovered areas as GeoJSON, ranked by the demand they leave unserved",
)
def get_gaps(
    session: SessionDep,
    scope: ScopeDep,
    settings: SettingsDep,
    cache: CoverageDep,
    kind: Annotated[
        GapKind | None,
        Query(description="fault: lost because sites are down now; design: no site reaches."),
    ] = None,
    district: DistrictQuery = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"At most this many gaps, 1..{MAX_LIMIT}.")
    ] = DEFAULT_GAPS,
) -> Any:
    """A FeatureCollection (lon/lat), one Feature per gap, most unserved demand first; the
    totals over all gaps of the kind and district ride along as foreign members."""
    inputs = load_inputs(session, scope, settings)
    _known_district(inputs, district)
    return gaps_public(cache.gaps(inputs, kind=kind, district=district, limit=limit))


@router.get(
    "/suggestions",
    response_model=SuggestionsPublic,
    dependencies=_PLAN,
    responses=error_responses(401, 403),
    summary="k new sites among the candidates that add the most covered demand",
)
def get_suggestions(
    session: SessionDep,
    scope: ScopeDep,
    settings: SettingsDep,
    cache: CoverageDep,
    k: Annotated[int, Query(ge=1, le=MAX_K, description=f"How many sites, 1..{MAX_K}.")] = (
        DEFAULT_K
    ),
    method: Annotated[
        Method, Query(description="optimal: the exact MILP (greedy beside it); greedy alone.")
    ] = "optimal",
    time_limit_s: Annotated[
        float | None,
        Query(
            gt=0.0,
            le=MAX_TIME_LIMIT_S,
            description="Longest the solver may run; at most the server's "
            "coverage_solver_time_limit_s (the default).",
        ),
    ] = None,
) -> Any:
    """The candidates are the city's imported ones, else a regular grid over the
    districts. What the new sites add is demand no active site covers yet. A solver out
    of time gives the best found (``status`` "time_limit", with the ``bound``). More
    sites than candidates: 422."""
    inputs = load_inputs(session, scope, settings)
    limit_s = settings.coverage_solver_time_limit_s
    if time_limit_s is not None:
        limit_s = min(limit_s, time_limit_s)
    try:
        found = cache.suggestions(inputs, k=k, method=method, time_limit_s=limit_s)
    except PlanningError as exc:
        raise _refused(exc, "query", "k") from None
    return suggestions_public(found)


@router.post(
    "/what-if",
    response_model=WhatIfPublic,
    dependencies=_PLAN,
    responses=error_responses(400, 401, 403),
    summary="Coverage with sites removed, added or failing, against coverage now",
)
def post_what_if(
    session: SessionDep,
    scope: ScopeDep,
    settings: SettingsDep,
    cache: CoverageDep,
    body: WhatIfIn,
) -> Any:
    """``fail``: still built, not live (which demand loses service); ``remove``: gone;
    ``add``: new sites (live). A site id that is not an active site: 422 naming it."""
    inputs = load_inputs(session, scope, settings)
    try:
        found = cache.what_if(inputs, remove=body.remove, add=new_sites(body), fail=body.fail)
    except PlanningError as exc:
        known = {site.id for site in inputs.sites}
        field = next(
            (name for name, ids in (("remove", body.remove), ("fail", body.fail))
             if set(ids) - known),
            "add",
        )  # fmt: skip
        raise _refused(exc, "body", field) from None
    return whatif_public(found)
