"""Site suggestions: the MILP is exact (brute force agrees), greedy never beats it, a
time-limited solve says so, and only demand no active site covers counts."""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

import numpy as np
import pytest
import shapely

from core.errors import PlanningError
from planning.geometry import city_geometry
from planning.inputs import Candidate, CoverageInputs
from planning.suggestions import grid_candidates, suggest

if TYPE_CHECKING:  # the `city` fixture's type (tests/planning/conftest.py)
    from tests.planning.conftest import MetricCity


def _random_city(
    city: MetricCity, seed: int, *, candidates: int, points: int, side: float, radius: float
) -> tuple[CoverageInputs, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A square district with 3 sites, weighted demand and candidates at random metres;
    also returns the metre positions, so a test can count coverage on its own."""
    rng = np.random.default_rng(seed)
    half = side / 2
    site_xy = rng.uniform(-half, half, (3, 2))
    demand_xy = rng.uniform(-half, half, (points, 2))
    weight = rng.integers(1, 50, points).astype(float)
    cand_xy = rng.uniform(-half, half, (candidates, 2))
    cand_r = rng.uniform(0.5 * radius, radius, candidates)
    inputs = city.inputs(
        [city.square("d1", side)],
        [city.site(f"s{i}", x, y, radius) for i, (x, y) in enumerate(site_xy.tolist())],
        [
            city.spot(f"p{i}", x, y, w)
            for i, ((x, y), w) in enumerate(zip(demand_xy.tolist(), weight.tolist(), strict=True))
        ],
        [
            city.candidate(f"c{i:02d}", x, y, r)
            for i, ((x, y), r) in enumerate(zip(cand_xy.tolist(), cand_r.tolist(), strict=True))
        ],
    )
    served = (np.linalg.norm(demand_xy[:, None, :] - site_xy[None, :, :], axis=2) <= radius).any(
        axis=1
    )
    reaches = np.linalg.norm(demand_xy[:, None, :] - cand_xy[None, :, :], axis=2) <= cand_r
    return inputs, weight, served, reaches, cand_xy


@pytest.mark.parametrize("seed", range(5))
def test_milp_equals_brute_force_and_greedy_never_beats_it(city: MetricCity, seed: int) -> None:
    inputs, weight, served, reaches, _ = _random_city(
        city, seed, candidates=12, points=120, side=2000.0, radius=350.0
    )
    residual = weight * ~served
    for k in range(1, 5):
        brute = max(
            float(residual[reaches[:, list(subset)].any(axis=1)].sum())
            for subset in itertools.combinations(range(12), k)
        )
        optimal = suggest(inputs, k=k)
        greedy = suggest(inputs, k=k, method="greedy")
        assert optimal.status == "optimal"
        assert optimal.optimal_demand == pytest.approx(brute)
        assert optimal.added_demand == pytest.approx(brute)
        assert optimal.bound == pytest.approx(brute)
        assert sum(s.added_demand for s in optimal.sites) == pytest.approx(brute)
        assert greedy.greedy_demand <= brute + 1e-9
        assert optimal.greedy_demand == pytest.approx(greedy.greedy_demand)
        assert greedy.added_demand == pytest.approx(greedy.greedy_demand)
        assert greedy.status == "greedy" and greedy.optimal_demand is None
        assert greedy.gap_pct is None and greedy.bound is None
        assert optimal.gap_pct == pytest.approx(100 * (brute - greedy.greedy_demand) / brute)


def _trap(city: MetricCity) -> CoverageInputs:
    """Greedy's classic trap: the middle place covers the most alone (11) but the two
    outer ones together cover more (20); greedy takes the middle and one outer (16)."""
    spots = [(-300, 5.0), (-120, 5.0), (0, 1.0), (120, 5.0), (300, 5.0)]
    return city.inputs(
        [city.square("d1", 1000.0)],
        [],
        [city.spot(f"p{i}", x, 0.0, w) for i, (x, w) in enumerate(spots)],
        [
            city.candidate("left", -210.0, 0.0, 100.0),
            city.candidate("middle", 0.0, 0.0, 130.0),
            city.candidate("right", 210.0, 0.0, 100.0),
        ],
    )


def test_greedy_falls_into_the_overlap_trap_and_the_gap_says_by_how_much(
    city: MetricCity,
) -> None:
    result = suggest(_trap(city), k=2)
    assert result.status == "optimal"
    assert [s.candidate for s in result.sites] == ["left", "right"]
    assert result.optimal_demand == pytest.approx(20.0)
    assert result.greedy_demand == pytest.approx(16.0)
    assert result.gap_pct == pytest.approx(20.0)
    greedy = suggest(_trap(city), k=2, method="greedy")
    assert [s.candidate for s in greedy.sites] == ["middle", "left"]
    assert [s.added_demand for s in greedy.sites] == pytest.approx([11.0, 5.0])
    assert [s.alone_demand for s in greedy.sites] == pytest.approx([11.0, 10.0])


def test_sites_are_listed_largest_marginal_first_and_sum_to_the_total(city: MetricCity) -> None:
    inputs, *_ = _random_city(city, 7, candidates=40, points=300, side=3000.0, radius=400.0)
    result = suggest(inputs, k=6)
    gains = [s.added_demand for s in result.sites]
    assert gains == sorted(gains, reverse=True)
    assert sum(gains) == pytest.approx(result.added_demand)
    assert all(s.alone_demand >= s.added_demand - 1e-9 for s in result.sites)
    assert all(s.district == "d1" for s in result.sites)
    assert result.candidates == 40 and result.candidate_source == "file"
    assert result.covered_before_pct is not None and result.covered_after_pct is not None
    assert result.covered_after_pct == pytest.approx(
        result.covered_before_pct + 100 * result.added_demand / result.demand_total
    )


def test_a_time_limited_solve_says_so_and_still_gives_k_sites(city: MetricCity) -> None:
    inputs, *_ = _random_city(city, 3, candidates=300, points=1500, side=4000.0, radius=500.0)
    result = suggest(inputs, k=8, time_limit_s=1e-6)
    assert result.status == "time_limit"
    assert len(result.sites) == 8
    assert result.optimal_demand is not None and result.bound is not None
    assert result.optimal_demand >= result.greedy_demand
    assert result.bound >= result.optimal_demand
    assert result.added_demand == pytest.approx(result.optimal_demand)
    assert result.gap_pct is not None and result.gap_pct >= 0.0
    assert math.isfinite(result.bound)


def test_only_demand_no_active_site_covers_counts(city: MetricCity) -> None:
    inputs = city.inputs(
        [city.square("d1", 2000.0)],
        [city.site("s1", 0.0, 0.0, 100.0, live=False)],  # down, but designed: still covers
        [city.spot("covered", 50.0, 0.0, 1000.0), city.spot("open", 150.0, 0.0, 3.0)],
        [
            city.candidate("over-the-site", 0.0, 0.0, 100.0),
            city.candidate("both", 100.0, 0.0, 60.0),
        ],
    )
    result = suggest(inputs, k=2)
    assert [s.candidate for s in result.sites] == ["both"]  # the other adds nothing
    assert result.added_demand == pytest.approx(3.0)
    assert result.sites[0].alone_demand == pytest.approx(3.0)
    assert result.demand_total == pytest.approx(1003.0)
    assert result.covered_before_pct == pytest.approx(100 * 1000 / 1003)
    assert result.covered_after_pct == pytest.approx(100.0)


def test_nothing_left_to_cover_suggests_nothing(city: MetricCity) -> None:
    inputs = city.inputs(
        [city.square("d1", 1000.0)],
        [city.site("s1", 0.0, 0.0, 200.0)],
        [city.spot("p", 10.0, 0.0, 5.0)],
        [city.candidate("c", 10.0, 0.0, 50.0)],
    )
    result = suggest(inputs, k=1)
    assert result.sites == () and result.added_demand == 0.0
    assert result.status == "optimal" and result.gap_pct == 0.0


def test_places_covering_the_same_demand_count_once_and_the_first_is_named(
    city: MetricCity,
) -> None:
    inputs = city.inputs(
        [city.square("d1", 1000.0)],
        [],
        [city.spot("p", 0.0, 0.0, 5.0), city.spot("q", 300.0, 0.0, 2.0)],
        [
            city.candidate("a", 0.0, 0.0, 50.0),
            city.candidate("a-twin", 1.0, 0.0, 50.0),
            city.candidate("b", 300.0, 0.0, 50.0),
        ],
    )
    for method in ("optimal", "greedy"):
        result = suggest(inputs, k=3, method=method)
        assert [s.candidate for s in result.sites] == ["a", "b"]
        assert result.added_demand == pytest.approx(7.0)


def test_bad_k_and_nowhere_to_build_are_planning_errors(city: MetricCity) -> None:
    inputs = _trap(city)
    for k in (0, -1, 4):
        with pytest.raises(PlanningError):
            suggest(inputs, k=k)
    with pytest.raises(PlanningError, match="time limit"):
        suggest(inputs, k=1, time_limit_s=0.0)
    with pytest.raises(PlanningError, match="no candidate"):
        suggest(city.inputs(), k=1)


def test_grid_candidates_lie_inside_the_districts_at_the_spacing(city: MetricCity) -> None:
    spacing = 100.0
    inputs = city.inputs(
        [city.rect("a", -500.0, -500.0, 0.0, 500.0), city.rect("b", 0.0, -200.0, 400.0, 100.0)],
        grid_spacing_m=spacing,
        grid_radius_m=45.0,
    )
    geometry = city_geometry(inputs)
    grid = grid_candidates(inputs, geometry)
    x, y = geometry.projector.forward([c.lon for c in grid], [c.lat for c in grid])
    assert geometry.city_shape is not None
    assert shapely.intersects_xy(geometry.city_shape, x, y).all()
    assert np.allclose(np.round(x / spacing) * spacing, x, atol=1e-3)
    assert np.allclose(np.round(y / spacing) * spacing, y, atol=1e-3)
    # Every multiple of the spacing inside the shape is there: count them independently.
    minx, miny, maxx, maxy = geometry.city_shape.bounds
    expected = {
        (i, j)
        for i in range(math.ceil(minx / spacing), math.floor(maxx / spacing) + 1)
        for j in range(math.ceil(miny / spacing), math.floor(maxy / spacing) + 1)
        if geometry.city_shape.intersects(shapely.Point(i * spacing, j * spacing))
    }
    assert {(round(a / spacing), round(b / spacing)) for a, b in zip(x, y, strict=True)} == expected
    assert len(expected) == pytest.approx(1000 * 500 / spacing**2 + 400 * 300 / spacing**2, rel=0.3)
    assert len({c.id for c in grid}) == len(grid)
    assert all(c.radius_m == 45.0 and c.id.startswith("grid-") for c in grid)


def test_grid_ids_are_stable_when_the_city_changes(city: MetricCity) -> None:
    small = city.inputs([city.square("d1", 600.0)], grid_spacing_m=150.0)
    large = city.inputs([city.square("d1", 1200.0)], grid_spacing_m=150.0)
    in_small = {c.id: (c.lon, c.lat) for c in grid_candidates(small, city_geometry(small))}
    in_large = {c.id: (c.lon, c.lat) for c in grid_candidates(large, city_geometry(large))}
    assert in_small and set(in_small) < set(in_large)
    assert all(in_large[i] == pytest.approx(pos) for i, pos in in_small.items())


def test_without_boundaries_the_grid_spans_the_demand(city: MetricCity) -> None:
    spots = [city.spot("p", -430.0, 120.0), city.spot("q", 380.0, -260.0)]
    inputs = city.inputs([], [], spots, grid_spacing_m=200.0)
    geometry = city_geometry(inputs)
    grid = grid_candidates(inputs, geometry)
    x, y = geometry.projector.forward([c.lon for c in grid], [c.lat for c in grid])
    grid_xy = np.column_stack([x, y])
    for point in geometry.demand_xy:
        assert np.linalg.norm(grid_xy - point, axis=1).min() <= 200.0 * math.sqrt(2) / 2 + 1e-6
    result = suggest(inputs, k=1)
    assert result.candidate_source == "grid" and result.candidates == len(grid)


def test_the_grid_is_used_when_no_candidates_are_given(city: MetricCity) -> None:
    inputs = city.inputs(
        [city.square("d1", 1000.0)],
        [],
        [city.spot("p", 100.0, 100.0, 4.0)],
        grid_spacing_m=100.0,
        grid_radius_m=75.0,  # > half the diagonal of a 100 m cell: some place reaches p
    )
    result = suggest(inputs, k=1)
    assert result.candidate_source == "grid"
    assert result.added_demand == pytest.approx(4.0)
    (site,) = result.sites
    assert site.candidate.startswith("grid-") and site.radius_m == 75.0
    assert city.xy(site.lon, site.lat) == pytest.approx((100.0, 100.0), abs=75.0)


def test_given_candidates_keep_their_radius_and_names(city: MetricCity) -> None:
    lon, lat = city.lonlat(0.0, 0.0)
    inputs = city.inputs(
        [city.square("d1", 1000.0)],
        [],
        [city.spot("p", 70.0, 0.0, 2.0)],
        [Candidate(id="school-7", name="SDN 7", lat=lat, lon=lon, radius_m=80.0)],
        candidate_source="inventory",
    )
    (site,) = suggest(inputs, k=1).sites
    assert (site.candidate, site.name, site.radius_m) == ("school-7", "SDN 7", 80.0)
    assert (site.lat, site.lon, site.district) == (lat, lon, "d1")
    assert suggest(inputs, k=1).candidate_source == "inventory"
