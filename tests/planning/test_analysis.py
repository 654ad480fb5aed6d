"""Coverage figures against cases with a closed-form answer (the issue's acceptance)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest

from core.errors import PlanningError
from planning.analysis import coverage_report, report
from planning.geometry import city_geometry
from planning.inputs import DistrictShape

if TYPE_CHECKING:  # the `city` fixture's type (tests/planning/conftest.py)
    from tests.planning.conftest import MetricCity

R = 100.0
L = 1000.0


def test_one_site_in_the_middle_of_a_square_covers_pi_r2_over_l2(city: MetricCity) -> None:
    inputs = city.inputs([city.square("d1", L)], [city.site("s1", 0, 0, R)])

    row = coverage_report(inputs).districts[0]

    expected = 100 * math.pi * R**2 / L**2
    assert row.area_m2 == pytest.approx(L**2, rel=1e-6)
    assert row.designed_pct == pytest.approx(expected, rel=0.01)
    assert row.live_pct == pytest.approx(expected, rel=0.01)
    assert row.designed_m2 == pytest.approx(math.pi * R**2, rel=0.01)
    assert (row.sites, row.sites_live) == (1, 1)


def test_two_overlapping_sites_count_their_overlap_once(city: MetricCity) -> None:
    d = 120.0
    inputs = city.inputs(
        [city.square("d1", L)], [city.site("a", -d / 2, 0, R), city.site("b", d / 2, 0, R)]
    )

    row = coverage_report(inputs).districts[0]

    assert row.designed_m2 == pytest.approx(2 * math.pi * R**2 - city.lens_area(R, R, d), rel=0.005)
    assert row.sites == 2


def test_a_site_on_a_boundary_counts_in_both_districts_by_area(city: MetricCity) -> None:
    west = city.rect("west", -L, -L / 2, 0, L / 2)
    east = city.rect("east", 0, -L / 2, L, L / 2)
    inputs = city.inputs([west, east], [city.site("s1", 0, 0, R, district="west")])

    result = coverage_report(inputs)

    half = math.pi * R**2 / 2
    for row in result.districts:
        assert row.designed_m2 == pytest.approx(half, rel=0.01)
        assert row.sites == 1
    assert result.city.designed_m2 == pytest.approx(2 * half, rel=0.01)
    assert result.city.area_m2 == pytest.approx(2 * L**2, rel=1e-6)


def test_an_off_centre_straddling_site_splits_by_the_segment_areas(city: MetricCity) -> None:
    offset = 40.0  # centre 40 m inside the west district
    west = city.rect("west", -L, -L / 2, 0, L / 2)
    east = city.rect("east", 0, -L / 2, L, L / 2)
    inputs = city.inputs([west, east], [city.site("s1", -offset, 0, R)])

    by_id = {row.district: row for row in coverage_report(inputs).districts}

    segment = R**2 * math.acos(offset / R) - offset * math.sqrt(R**2 - offset**2)
    assert by_id["east"].designed_m2 == pytest.approx(segment, rel=0.01)
    assert by_id["west"].designed_m2 == pytest.approx(math.pi * R**2 - segment, rel=0.01)


def test_a_district_with_no_site_is_zero_not_none(city: MetricCity) -> None:
    covered_one = city.rect("a", -L, -L / 2, 0, L / 2)
    empty = city.rect("b", 0, -L / 2, L, L / 2)
    inputs = city.inputs(
        [covered_one, empty],
        [city.site("s1", -L / 2, 0, R)],
        [city.spot("p1", L / 2, 0, 5.0)],
    )

    row = {row.district: row for row in coverage_report(inputs).districts}["b"]

    assert (row.designed_pct, row.live_pct, row.designed_m2) == (0.0, 0.0, 0.0)
    assert (row.demand_pct, row.live_demand_pct, row.demand) == (0.0, 0.0, 5.0)
    assert (row.sites, row.sites_live) == (0, 0)


def test_a_district_without_boundary_has_no_area_figures(city: MetricCity) -> None:
    bare = DistrictShape(id="bare", name="Bare", boundary_geojson=None)
    inputs = city.inputs(
        [bare],
        [city.site("s1", 0, 0, R, district="bare")],
        [city.spot("p1", 10, 0, 2.0, district="bare"), city.spot("p2", 500, 0, 2.0)],
    )

    result = coverage_report(inputs)
    row = result.districts[0]

    assert (row.area_m2, row.designed_m2, row.live_m2) == (None, None, None)
    assert (row.designed_pct, row.live_pct) == (None, None)
    assert row.demand == 2.0 and row.demand_pct == 100.0
    assert row.sites == 1  # placed by the inventory's district
    assert result.city.area_m2 is None and result.city.designed_pct is None
    assert result.city.demand == 4.0 and result.city.demand_pct == 50.0


def test_a_district_without_demand_points_has_no_demand_share(city: MetricCity) -> None:
    inputs = city.inputs([city.square("d1", L)], [city.site("s1", 0, 0, R)])

    row = coverage_report(inputs).districts[0]

    assert row.demand == 0.0
    assert (row.demand_pct, row.live_demand_pct) == (None, None)


def test_demand_is_counted_by_exact_distance(city: MetricCity) -> None:
    inputs = city.inputs(
        [city.square("d1", L)],
        [city.site("s1", 0, 0, R)],
        [
            city.spot("in", R - 1, 0, 3.0),
            city.spot("in-diag", (R - 1) / math.sqrt(2), (R - 1) / math.sqrt(2), 1.0),
            city.spot("out", R + 1, 0, 4.0),
            city.spot("out-diag", (R + 1) / math.sqrt(2), -(R + 1) / math.sqrt(2), 2.0),
        ],
    )

    row = coverage_report(inputs).districts[0]

    assert (row.demand, row.demand_designed, row.demand_live) == (10.0, 4.0, 4.0)
    assert row.demand_pct == pytest.approx(40.0)


def test_live_figures_leave_out_sites_with_no_ap_up(city: MetricCity) -> None:
    inputs = city.inputs(
        [city.square("d1", L)],
        [city.site("up", -200, 0, R), city.site("down", 200, 0, R, live=False)],
        [city.spot("p-up", -200, 0, 1.0), city.spot("p-down", 200, 0, 3.0)],
    )

    row = coverage_report(inputs).districts[0]

    assert row.designed_m2 == pytest.approx(2 * math.pi * R**2, rel=0.01)
    assert row.live_m2 == pytest.approx(math.pi * R**2, rel=0.01)
    assert row.designed_pct is not None
    assert row.live_pct == pytest.approx(row.designed_pct / 2, rel=1e-6)
    assert (row.demand_designed, row.demand_live) == (4.0, 1.0)
    assert (row.demand_pct, row.live_demand_pct) == (100.0, 25.0)
    assert (row.sites, row.sites_live) == (2, 1)


def test_a_down_site_overlapped_by_a_live_one_loses_only_its_own_part(
    city: MetricCity,
) -> None:
    d = 100.0
    inputs = city.inputs(
        [city.square("d1", L)],
        [city.site("up", 0, 0, R), city.site("down", d, 0, R, live=False)],
    )

    row = coverage_report(inputs).districts[0]

    assert row.live_m2 == pytest.approx(math.pi * R**2, rel=0.01)
    assert row.designed_m2 == pytest.approx(2 * math.pi * R**2 - city.lens_area(R, R, d), rel=0.01)


def test_demand_finds_its_district_by_boundary_and_city_counts_all(city: MetricCity) -> None:
    west = city.rect("west", -L, -L / 2, 0, L / 2)
    east = city.rect("east", 0, -L / 2, L, L / 2)
    inputs = city.inputs(
        [east, west],  # given out of order: the report sorts by id
        [city.site("s1", -L / 2, 0, R)],
        [
            city.spot("w", -L / 2, 0, 2.0),  # in west by its boundary
            city.spot("e", L / 2, 0, 3.0, district="east"),
            city.spot("nowhere", 5 * L, 0, 7.0),  # outside every district
        ],
    )

    result = coverage_report(inputs)

    assert [row.district for row in result.districts] == ["east", "west"]
    by_id = {row.district: row for row in result.districts}
    assert (by_id["west"].demand, by_id["west"].demand_pct) == (2.0, 100.0)
    assert (by_id["east"].demand, by_id["east"].demand_pct) == (3.0, 0.0)
    assert result.city.district is None
    assert result.city.demand == 12.0
    assert result.city.demand_designed == 2.0
    assert result.city.sites == 1
    assert result.epsg == city.epsg


def test_nothing_at_all_reports_nothing(city: MetricCity) -> None:
    result = coverage_report(city.inputs())

    assert result.districts == ()
    assert result.city.area_m2 is None and result.city.demand_pct is None
    assert (result.city.demand, result.city.sites) == (0.0, 0)


def test_a_given_geometry_is_used_as_is(city: MetricCity) -> None:
    inputs = city.inputs([city.square("d1", L)], [city.site("s1", 0, 0, R, live=False)])
    geometry = city_geometry(inputs)

    assert coverage_report(inputs, geometry) == coverage_report(inputs)
    with pytest.raises(PlanningError):
        report(geometry, geometry.site_radius[:0] > 0)  # a live mask for no sites
