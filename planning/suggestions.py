"""k new sites that add the most covered demand: a maximal covering location problem.

Only demand that no active site reaches yet counts (what new sites would *add*). Who a
candidate would reach comes from :func:`planning.geometry.reach` (sparse pairs, never a
dense candidates-by-points matrix), and is then shrunk before anything is solved:

* demand points reached by exactly the same candidates become one *group* (their weight
  summed) -- they are covered or not together, so the solver needs one variable for them;
* candidates reaching exactly the same groups become one *column* (the first candidate in
  input order stands for the others) -- picking a second one of them adds nothing;
* points no candidate reaches and candidates reaching nothing drop out.

Two answers are computed on that structure:

* greedy (always): lazy greedy over marginal gains in a heap. Gains only shrink as sites
  are chosen (coverage is submodular), so a stale gain is an upper bound and a column
  whose refreshed gain still tops the heap is the true best. It guarantees at least
  1 - 1/e of the optimum and is the yardstick the MILP's answer is measured against.
* optimal: the MILP max sum(w_g y_g) s.t. y_g <= sum(x_j : j covers g), sum(x_j) <= k,
  x binary, y in [0, 1], solved by HiGHS through ``scipy.optimize.milp`` with a time
  limit. Past the limit HiGHS gives its best solution and dual bound; the answer is the
  better of that and greedy's, and says "time_limit". (scipy's ``milp`` takes no
  starting solution, so greedy cannot warm-start it; it is the fallback instead.)

Chosen sites are listed in greedy order (largest marginal first), so each one's
``added_demand`` is what it adds to the ones before it and the list sums to the total.
A candidate that would add nothing is never listed: fewer than k sites come back when
fewer than k add anything.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from core.errors import PlanningError
from planning.geometry import CityGeometry, Ints, city_geometry, covered, reach
from planning.inputs import Candidate, CandidateSource, CoverageInputs
from planning.projection import Floats
from planning.results import Method, SolveStatus, Suggested, Suggestions

log = logging.getLogger("citywifi.planning")

#: The most grid candidates one request may lay out: a 25 m grid over 600 km^2. Beyond
#: it the grid is a mistake (a country-sized boundary, a spacing in the wrong unit), not a
#: plan, and would only exhaust memory.
MAX_GRID_POINTS = 1_000_000

#: Relative tolerance under which two objectives are the same (sums of float weights).
_SAME = 1e-9


def grid_candidates(inputs: CoverageInputs, geometry: CityGeometry) -> tuple[Candidate, ...]:
    """A regular grid of candidate places (``inputs.grid_spacing_m`` apart, radius
    ``inputs.grid_radius_m``) inside the district shapes, or over the bounding box of the
    demand points when no district has a boundary.

    The grid is anchored at multiples of the spacing in the projection's metres, and a
    place's id is ``grid-<col>-<row>`` of those multiples: the same place keeps the same id
    when districts or demand change, so suggestions can be compared between runs.
    """
    spacing = inputs.grid_spacing_m
    if not (spacing > 0 and math.isfinite(spacing)):
        raise PlanningError(f"grid spacing must be a positive number of metres, not {spacing}")
    shape = geometry.city_shape
    if shape is not None and not shape.is_empty:
        minx, miny, maxx, maxy = shape.bounds
        cols = np.arange(math.ceil(minx / spacing), math.floor(maxx / spacing) + 1)
        rows = np.arange(math.ceil(miny / spacing), math.floor(maxy / spacing) + 1)
    elif len(geometry.demand_xy):
        minx, miny = geometry.demand_xy.min(axis=0)
        maxx, maxy = geometry.demand_xy.max(axis=0)
        # Outward, so that the grid spans every demand point (even a single one).
        cols = np.arange(math.floor(minx / spacing), math.ceil(maxx / spacing) + 1)
        rows = np.arange(math.floor(miny / spacing), math.ceil(maxy / spacing) + 1)
    else:
        return ()
    if len(cols) * len(rows) > MAX_GRID_POINTS:
        raise PlanningError(
            f"a {spacing:g} m grid over the city would hold {len(cols) * len(rows):,} "
            f"candidate places (at most {MAX_GRID_POINTS:,}): use a larger spacing or "
            "import candidate places"
        )
    col, row = (a.ravel() for a in np.meshgrid(cols, rows, indexing="xy"))
    x, y = col * spacing, row * spacing
    if shape is not None and not shape.is_empty:
        inside = shapely.intersects_xy(shape, x, y)
        col, row, x, y = col[inside], row[inside], x[inside], y[inside]
    lon, lat = geometry.projector.inverse(x, y)
    radius = inputs.grid_radius_m
    out = []
    for c, r, lo, la in zip(col.tolist(), row.tolist(), lon.tolist(), lat.tolist(), strict=True):
        name = f"grid-{c}-{r}"
        out.append(Candidate(id=name, name=name, lat=la, lon=lo, radius_m=radius))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _Cover:
    """Who covers what, shrunk (see the module docstring): ``weight[g]`` is group g's
    demand; column c covers groups ``groups[start[c]:start[c + 1]]`` and stands for
    candidate ``candidate[c]`` (columns ascend by candidate index, so ties go to the
    earlier candidate)."""

    weight: Floats
    start: Ints
    groups: Ints
    candidate: Ints

    @property
    def columns(self) -> int:
        return len(self.candidate)

    def of(self, column: int) -> Ints:
        return self.groups[self.start[column] : self.start[column + 1]]

    def alone(self) -> Floats:
        """What each column would add by itself."""
        column = np.repeat(np.arange(self.columns), np.diff(self.start))
        sums = np.bincount(column, weights=self.weight[self.groups], minlength=self.columns)
        return sums.astype(np.float64)


def _by_key(owner: Ints, member: Ints) -> tuple[Ints, list[Ints]]:
    """Sort (owner, member) pairs and give each owner (ascending) the key of its member set:
    owners with equal member sets get equal keys (0, 1, ... in order of first owner)."""
    order = np.lexsort((member, owner))
    owner, member = owner[order], member[order]
    firsts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    ends = np.r_[firsts[1:], len(owner)]
    keys: dict[bytes, int] = {}
    sets: list[Ints] = []
    key_of = np.empty(len(firsts), dtype=np.int64)
    for i, (a, b) in enumerate(zip(firsts.tolist(), ends.tolist(), strict=True)):
        members = member[a:b]
        key = keys.setdefault(members.tobytes(), len(sets))
        if key == len(sets):
            sets.append(members)
        key_of[i] = key
    return key_of, sets


def _cover(point_idx: Ints, cand_idx: Ints, weight: Floats) -> _Cover:
    """Group the (residual point, candidate) pairs into the shrunk structure."""
    if len(point_idx) == 0:
        empty = np.empty(0, dtype=np.int64)
        return _Cover(np.empty(0), np.zeros(1, dtype=np.int64), empty, empty)
    points = np.unique(point_idx)
    group_of_point, group_cands = _by_key(point_idx, cand_idx)
    group_weight = np.bincount(
        group_of_point, weights=weight[points], minlength=len(group_cands)
    ).astype(np.float64)
    sizes = [len(c) for c in group_cands]
    pair_group = np.repeat(np.arange(len(group_cands), dtype=np.int64), sizes)
    pair_cand = np.concatenate(group_cands)
    col_of_cand, col_groups = _by_key(pair_cand, pair_group)
    # The first candidate (ascending) of each distinct group set stands for it.
    cands = np.unique(pair_cand)
    first = np.full(len(col_groups), -1, dtype=np.int64)
    for cand, col in zip(cands.tolist(), col_of_cand.tolist(), strict=True):
        if first[col] < 0:
            first[col] = cand
    order = np.argsort(first, kind="stable")  # columns by their candidate
    ordered = [col_groups[c] for c in order.tolist()]
    start = np.zeros(len(ordered) + 1, dtype=np.int64)
    start[1:] = np.cumsum([len(g) for g in ordered])
    return _Cover(group_weight, start, np.concatenate(ordered), first[order])


def _greedy(cover: _Cover, k: int) -> list[int]:
    """Lazy greedy: up to k columns, each the best marginal gain given the ones before."""
    uncovered = np.ones(len(cover.weight), dtype=bool)
    heap = [(-gain, c) for c, gain in enumerate(cover.alone().tolist()) if gain > 0]
    heapq.heapify(heap)
    chosen: list[int] = []
    while heap and len(chosen) < k:
        _, column = heapq.heappop(heap)
        groups = cover.of(column)
        fresh = float(cover.weight[groups[uncovered[groups]]].sum())
        if fresh <= 0:
            continue
        if not heap or (-fresh, column) <= heap[0]:
            chosen.append(column)
            uncovered[groups] = False
        else:
            heapq.heappush(heap, (-fresh, column))
    return chosen


def _ordered(cover: _Cover, columns: list[int]) -> list[tuple[int, float]]:
    """``columns`` in greedy order with each one's marginal gain; those adding nothing
    given the others dropped."""
    uncovered = np.ones(len(cover.weight), dtype=bool)
    left = sorted(columns)
    out: list[tuple[int, float]] = []
    while left:
        gains = [float(cover.weight[g[uncovered[g]]].sum()) for g in map(cover.of, left)]
        best = int(np.argmax(gains))  # the first of equals: the earlier candidate
        if gains[best] <= 0:
            break
        column = left.pop(best)
        uncovered[cover.of(column)] = False
        out.append((column, gains[best]))
    return out


def _value(cover: _Cover, columns: list[int]) -> float:
    if not columns:
        return 0.0
    groups = np.unique(np.concatenate([cover.of(c) for c in columns]))
    return float(cover.weight[groups].sum())


def _trivial_bound(cover: _Cover, k: int) -> float:
    """A bound no choice of k columns can beat: all reachable demand, or the k best gains
    alone added up (valid because gains only shrink)."""
    alone = np.sort(cover.alone())[::-1]
    return min(float(cover.weight.sum()), float(alone[:k].sum()))


@dataclass(frozen=True, slots=True)
class _Solved:
    columns: list[int]
    status: SolveStatus
    bound: float | None


def _milp(cover: _Cover, k: int, time_limit_s: float) -> _Solved | None:
    """The exact MCLP on the shrunk structure; None when HiGHS gave no usable answer."""
    n_x, n_g = cover.columns, len(cover.weight)
    pair_col = np.repeat(np.arange(n_x), np.diff(cover.start))
    # Rows g < n_g: y_g - sum(x_j covering g) <= 0; row n_g: sum(x) <= k. Columns: the
    # x_j first, then the y_g.
    rows = np.r_[cover.groups, np.arange(n_g), np.full(n_x, n_g)]
    cols = np.r_[pair_col, n_x + np.arange(n_g), np.arange(n_x)]
    values = np.r_[-np.ones(len(cover.groups)), np.ones(n_g), np.ones(n_x)]
    matrix = csr_array((values, (rows, cols)), shape=(n_g + 1, n_x + n_g))
    upper = np.r_[np.zeros(n_g), float(k)]
    result = milp(
        c=np.r_[np.zeros(n_x), -cover.weight],
        integrality=np.r_[np.ones(n_x), np.zeros(n_g)],
        bounds=Bounds(0.0, 1.0),
        constraints=LinearConstraint(matrix, -np.inf, upper),
        options={"time_limit": time_limit_s, "mip_rel_gap": 0.0, "presolve": True},
    )
    if result.status not in (0, 1):
        log.warning("site suggestion: HiGHS ended with %r; greedy answer given", result.message)
        return None
    columns = [] if result.x is None else np.flatnonzero(result.x[:n_x] > 0.5).tolist()
    if result.status == 0:
        return _Solved(columns, "optimal", None)
    dual = getattr(result, "mip_dual_bound", None)
    bound = -float(dual) if dual is not None and math.isfinite(float(dual)) else math.inf
    return _Solved(columns, "time_limit", bound)


def _candidate_xy(geometry: CityGeometry, candidates: tuple[Candidate, ...]) -> Floats:
    x, y = geometry.projector.forward([c.lon for c in candidates], [c.lat for c in candidates])
    return np.column_stack([x, y])


def _district_of(geometry: CityGeometry, xy: Floats) -> list[str | None]:
    """The district holding each point (the first, if boundaries overlap), else None."""
    out: list[str | None] = [None] * len(xy)
    for district, shape in zip(geometry.district_ids, geometry.district_shapes, strict=True):
        if shape is None or not len(xy):
            continue
        inside = shapely.intersects_xy(shape, xy[:, 0], xy[:, 1])
        for i in np.flatnonzero(inside).tolist():
            out[i] = out[i] if out[i] is not None else district
    return out


def _pct(part: float, total: float) -> float | None:
    return 100.0 * part / total if total > 0 else None


def suggest(
    inputs: CoverageInputs,
    geometry: CityGeometry | None = None,
    *,
    k: int,
    method: Method = "optimal",
    time_limit_s: float = 30.0,
) -> Suggestions:
    """Choose up to k candidates adding the most demand not covered by any active site.

    ``method`` "greedy" skips the MILP; "optimal" solves it within ``time_limit_s``
    seconds (see the module docstring for what a time-limited answer holds).
    """
    started = time.perf_counter()
    geometry = geometry if geometry is not None else city_geometry(inputs)
    source: CandidateSource = inputs.candidate_source if inputs.candidates else "grid"
    candidates = inputs.candidates or grid_candidates(inputs, geometry)
    if not candidates:
        raise PlanningError("no candidate places: no districts with a boundary, no demand")
    if k <= 0:
        raise PlanningError(f"k must be at least 1, not {k}")
    if k > len(candidates):
        raise PlanningError(f"k = {k} is more than the {len(candidates)} candidate places")
    if method not in ("optimal", "greedy"):
        raise PlanningError(f"unknown method {method!r}: optimal or greedy")
    if method == "optimal" and not (time_limit_s > 0 and math.isfinite(time_limit_s)):
        raise PlanningError(
            f"the time limit must be a positive number of seconds, not {time_limit_s}"
        )

    weight = geometry.demand_weight
    served = covered(geometry.demand_xy, geometry.site_xy, geometry.site_radius)
    residual = np.flatnonzero(~served & (weight > 0))
    cand_xy = _candidate_xy(geometry, candidates)
    cand_radius = np.array([c.radius_m for c in candidates], dtype=np.float64)
    point_idx, cand_idx = reach(geometry.demand_xy[residual], cand_xy, cand_radius)
    cover = _cover(point_idx, cand_idx, weight[residual])

    greedy = _greedy(cover, k)
    greedy_value = _value(cover, greedy)
    chosen = greedy
    status: SolveStatus = "greedy"
    optimal_value: float | None = None
    bound: float | None = None
    if method == "optimal":
        solved: _Solved | None
        if cover.columns <= k:  # every useful column fits: nothing to choose
            solved = _Solved(list(range(cover.columns)), "optimal", None)
        else:
            solved = _milp(cover, k, time_limit_s)
        if solved is not None:
            status = solved.status
            milp_value = _value(cover, solved.columns)
            if milp_value >= greedy_value * (1 - _SAME):
                chosen = solved.columns
                optimal_value = milp_value
            else:  # time ran out before HiGHS matched greedy (or found anything)
                optimal_value = greedy_value
            best = max(milp_value, greedy_value)
            if solved.bound is None:
                bound = optimal_value
            else:
                bound = max(min(solved.bound, _trivial_bound(cover, k)), best)

    picks = _ordered(cover, chosen)
    alone = cover.alone()
    picked = [int(cover.candidate[c]) for c, _ in picks]
    districts = _district_of(geometry, cand_xy[picked]) if picked else []
    sites = tuple(
        Suggested(
            candidate=candidates[i].id,
            name=candidates[i].name,
            lat=candidates[i].lat,
            lon=candidates[i].lon,
            radius_m=candidates[i].radius_m,
            district=district,
            added_demand=gain,
            alone_demand=float(alone[c]),
        )
        for i, (c, gain), district in zip(picked, picks, districts, strict=True)
    )
    added = float(sum(gain for _, gain in picks))
    total = float(weight.sum())
    before = float(weight[served].sum())
    gap: float | None = None
    if optimal_value is not None:
        shortfall = optimal_value - greedy_value
        gap = max(0.0, 100.0 * shortfall / optimal_value) if optimal_value > 0 else 0.0
    return Suggestions(
        method=method,
        status=status,
        k=k,
        sites=sites,
        added_demand=added,
        demand_total=total,
        covered_before_pct=_pct(before, total),
        covered_after_pct=_pct(before + added, total),
        candidates=len(candidates),
        candidate_source=source,
        optimal_demand=optimal_value,
        greedy_demand=greedy_value,
        gap_pct=gap,
        bound=bound,
        solve_s=time.perf_counter() - started,
    )
