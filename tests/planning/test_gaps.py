"""Gaps: fault gaps naming their down sites, design gaps cut into cells, ranked."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import shapely
from shapely.geometry.base import BaseGeometry

from core.errors import PlanningError
from planning.analysis import coverage_report
from planning.gaps import DEGREE_DECIMALS, find_gaps
from planning.geometry import city_geometry, project
from planning.inputs import DistrictShape

if TYPE_CHECKING:  # the `city` fixture's type (tests/planning/conftest.py)
    from tests.planning.conftest import MetricCity

R = 100.0
L = 2000.0


def _metres(city: MetricCity, geometry: dict[str, Any]) -> BaseGeometry:
    """A gap's GeoJSON geometry back in the city's metres, from its centre."""
    shape = project(city.projector, shapely.geometry.shape(geometry))
    return shapely.transform(shape, lambda xy: xy - [city.x0, city.y0])


def test_one_site_down_gives_one_fault_gap_with_its_unshared_area(city: MetricCity) -> None:
    d = 120.0
    inputs = city.inputs(
        [city.square("d1", L)],
        [city.site("up", 0, 0, R), city.site("down", d, 0, R, live=False)],
        [
            city.spot("shared", d / 2, 0, 5.0),  # both reach it: still served
            city.spot("lost", d + R / 2, 0, 7.0),  # only the down site reaches it
            city.spot("never", 800, 800, 11.0),  # a design gap's, not a fault's
        ],
    )

    gaps = find_gaps(inputs, kind="fault")

    assert len(gaps.gaps) == 1
    gap = gaps.gaps[0]
    assert (gap.kind, gap.district, gap.sites, gap.rank) == ("fault", "d1", ("down",), 1)
    assert gap.area_m2 == pytest.approx(math.pi * R**2 - city.lens_area(R, R, d), rel=0.01)
    assert (gap.demand, gap.demand_points) == (7.0, 1)
    assert gaps.fault_area_m2 == gap.area_m2 and gaps.fault_demand == 7.0
    assert (gaps.design_area_m2, gaps.design_demand) == (0.0, 0.0)  # not asked for
    assert gap.geometry["type"] == "Polygon"
    assert _metres(city, gap.geometry).centroid.x > d  # east of the live site: its part


def test_no_site_down_means_no_fault_gap(city: MetricCity) -> None:
    inputs = city.inputs([city.square("d1", L)], [city.site("s1", 0, 0, R)])

    gaps = find_gaps(inputs, kind="fault")

    assert gaps.gaps == () and gaps.fault_area_m2 == 0.0


def test_a_fault_gap_across_a_boundary_is_one_gap_per_district(city: MetricCity) -> None:
    west = city.rect("west", -L, -L / 2, 0, L / 2)
    east = city.rect("east", 0, -L / 2, L, L / 2)
    inputs = city.inputs([west, east], [city.site("down", 0, 0, R, live=False)])

    gaps = find_gaps(inputs, kind="fault")

    assert sorted(g.district or "" for g in gaps.gaps) == ["east", "west"]
    for gap in gaps.gaps:
        assert gap.sites == ("down",)
        assert gap.area_m2 == pytest.approx(math.pi * R**2 / 2, rel=0.01)


def test_separate_faults_are_separate_gaps_naming_their_own_sites(city: MetricCity) -> None:
    inputs = city.inputs(
        [city.square("d1", L)],
        [
            city.site("a", -500, 0, R, live=False),
            city.site("b", 500, 0, R, live=False),
            city.site("c", 560, 0, R, live=False),  # overlaps b: one gap, two sites
        ],
        [city.spot("pa", -500, 0, 1.0), city.spot("pb", 530, 0, 9.0)],
    )

    gaps = find_gaps(inputs, kind="fault").gaps

    assert [(g.rank, g.sites, g.demand) for g in gaps] == [(1, ("b", "c"), 9.0), (2, ("a",), 1.0)]


def test_design_gaps_and_covered_area_make_up_the_district(city: MetricCity) -> None:
    inputs = city.inputs(
        [city.square("d1", L), city.rect("d2", L / 2, -L / 2, L / 2 + 700, 300)],
        [
            city.site("s1", 0, 0, R),
            city.site("s2", 300, 300, 150.0),
            city.site("s3", 980, 0, R),  # straddles the boundary with d2
            city.site("s4", -300, 100, R, live=False),  # down, but designed coverage
        ],
    )

    gaps = find_gaps(inputs, kind="design")
    result = coverage_report(inputs)

    for row in result.districts:
        in_gaps = sum(g.area_m2 for g in gaps.gaps if g.district == row.district)
        assert row.designed_m2 is not None and row.area_m2 is not None
        assert in_gaps + row.designed_m2 == pytest.approx(row.area_m2, rel=0.001)
    assert result.city.area_m2 is not None and result.city.designed_m2 is not None
    uncovered = result.city.area_m2 - result.city.designed_m2
    assert gaps.design_area_m2 == pytest.approx(uncovered, rel=0.001)
    assert all(g.kind == "design" and g.sites == () for g in gaps.gaps)


def test_gaps_add_up_on_a_random_city(city: MetricCity) -> None:
    rng = np.random.default_rng(7)
    districts = [
        city.rect(f"d{i}", -3000 + 2000 * i, -1000, -1000 + 2000 * i, 1000) for i in range(3)
    ]
    xy = rng.uniform(-3200, 3200, (300, 2))
    sites = [
        city.site(
            f"s{i}", x, y / 3, float(rng.choice([40, 80, 150])), live=bool(rng.random() > 0.2)
        )
        for i, (x, y) in enumerate(xy)
    ]
    spots = [
        city.spot(f"p{i}", x, y / 3, 1.0)
        for i, (x, y) in enumerate(rng.uniform(-3000, 3000, (2000, 2)))
    ]
    inputs = city.inputs(districts, sites, spots, gap_cell_m=700.0)

    gaps = find_gaps(inputs)
    city_row = coverage_report(inputs).city

    assert city_row.area_m2 is not None and city_row.designed_m2 is not None
    assert city_row.live_m2 is not None
    assert gaps.design_area_m2 == pytest.approx(city_row.area_m2 - city_row.designed_m2, rel=0.001)
    assert gaps.fault_area_m2 == pytest.approx(city_row.designed_m2 - city_row.live_m2, rel=0.001)
    assert gaps.design_demand == city_row.demand - city_row.demand_designed
    assert gaps.fault_demand == pytest.approx(
        city_row.demand_designed - city_row.demand_live, abs=2.0
    )  # a point between a disc's 128-gon and its circle is lost but in no gap polygon
    down = {s.id for s in sites if not s.live}
    assert all(g.sites and set(g.sites) <= down for g in gaps.gaps if g.kind == "fault")


def test_design_gaps_are_cut_along_one_grid_of_cells(city: MetricCity) -> None:
    cell = 500.0
    inputs = city.inputs([city.square("d1", L)], gap_cell_m=cell)
    geometry = city_geometry(inputs)

    gaps = find_gaps(inputs, geometry, kind="design").gaps

    # a 2 km square not aligned with the grid: 5 x 5 cells, each clipped to the square
    assert len(gaps) == 25
    for gap in gaps:
        shape = project(geometry.projector, shapely.geometry.shape(gap.geometry))
        minx, miny, maxx, maxy = shape.bounds
        slack = 0.05  # metres: the degrees are rounded to about 1 cm
        assert math.floor((minx + slack) / cell) == math.floor((maxx - slack) / cell)
        assert math.floor((miny + slack) / cell) == math.floor((maxy - slack) / cell)
    assert sum(g.area_m2 for g in gaps) == pytest.approx(L**2, rel=1e-6)


def test_design_gaps_rank_by_unserved_demand_then_area(city: MetricCity) -> None:
    cell = 1000.0
    inputs = city.inputs(
        [city.rect("d1", 0, 0, 2 * cell, cell)],
        [city.site("s1", 100, 100, R)],
        [
            city.spot("served", 100, 100, 50.0),  # covered: no gap's demand
            city.spot("few", 1500, 500, 2.0),
            city.spot("many", 400, 700, 6.0),
            city.spot("many-too", 450, 650, 1.0),
        ],
        gap_cell_m=cell,
    )

    gaps = find_gaps(inputs, kind="design")

    assert [g.rank for g in gaps.gaps] == list(range(1, len(gaps.gaps) + 1))
    keys = [(-g.demand, -g.area_m2) for g in gaps.gaps]
    assert keys == sorted(keys)
    assert gaps.gaps[0].demand == 7.0 and gaps.gaps[0].demand_points == 2
    assert gaps.design_demand == 9.0
    assert all(g.demand == 0.0 for g in gaps.gaps if g.demand_points == 0)


def test_both_kinds_rank_together_and_the_limit_keeps_the_totals(city: MetricCity) -> None:
    inputs = city.inputs(
        [city.square("d1", L)],
        [city.site("down", 0, 0, R, live=False)],
        [city.spot("lost", 0, 0, 100.0), city.spot("far", 900, 900, 1.0)],
        gap_cell_m=500.0,
    )

    every = find_gaps(inputs)
    top = find_gaps(inputs, limit=2)

    assert every.gaps[0].kind == "fault" and every.gaps[0].demand == 100.0
    assert every.gaps[1].kind == "design" and every.gaps[1].demand == 1.0
    assert [g.rank for g in top.gaps] == [1, 2]
    assert top.gaps == every.gaps[:2]
    assert (top.fault_area_m2, top.design_area_m2) == (every.fault_area_m2, every.design_area_m2)
    assert (top.fault_demand, top.design_demand) == (100.0, 1.0)
    assert find_gaps(inputs, limit=0).gaps == ()


def test_a_district_filter_keeps_its_gaps_only(city: MetricCity) -> None:
    west = city.rect("west", -L, -L / 2, 0, L / 2)
    east = city.rect("east", 0, -L / 2, L, L / 2)
    inputs = city.inputs([west, east], [city.site("down", 0, 0, R, live=False)])

    gaps = find_gaps(inputs, district="east")

    assert gaps.gaps and {g.district for g in gaps.gaps} == {"east"}
    assert gaps.design_area_m2 + gaps.fault_area_m2 == pytest.approx(L**2, rel=1e-6)
    with pytest.raises(PlanningError, match="nowhere"):
        find_gaps(inputs, district="nowhere")
    with pytest.raises(PlanningError):
        find_gaps(inputs, limit=-1)


def test_gaps_are_geojson_in_degrees_rounded(city: MetricCity) -> None:
    inputs = city.inputs(
        [city.square("d1", L)], [city.site("down", 0, 0, R, live=False)], gap_cell_m=500.0
    )

    collection = find_gaps(inputs).geojson()

    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert len(features) == len(find_gaps(inputs).gaps)
    for feature in features:
        assert feature["type"] == "Feature"
        assert set(feature["properties"]) == {
            "rank",
            "kind",
            "district",
            "area_m2",
            "demand",
            "demand_points",
            "sites",
        }
        lon, lat = feature["geometry"]["coordinates"][0][0]
        assert 106.9 < lon < 107.1 and -6.3 < lat < -6.2
        assert round(lon, DEGREE_DECIMALS) == lon
    fault = next(f for f in features if f["properties"]["kind"] == "fault")
    drawn = _metres(city, fault["geometry"])
    assert drawn.area == pytest.approx(math.pi * R**2, rel=0.01)
    assert drawn.centroid.distance(shapely.Point(0, 0)) < 1.0


def test_districts_without_boundary_have_no_gaps(city: MetricCity) -> None:
    inputs = city.inputs(
        [DistrictShape(id="bare", name="Bare", boundary_geojson=None)],
        [city.site("down", 0, 0, R, live=False)],
    )

    gaps = find_gaps(inputs)

    assert gaps.gaps == () and (gaps.fault_area_m2, gaps.design_area_m2) == (0.0, 0.0)
