"""What-if: sites removed, added or failing, against coverage now."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest

from core.errors import PlanningError
from planning.analysis import coverage_report
from planning.inputs import DistrictShape
from planning.results import NewSite
from planning.whatif import what_if

if TYPE_CHECKING:  # the `city` fixture's type (tests/planning/conftest.py)
    from tests.planning.conftest import MetricCity

R = 100.0
L = 1000.0


def _two_districts(city: MetricCity) -> tuple[DistrictShape, DistrictShape]:
    return (city.rect("west", -L, -L / 2, 0, L / 2), city.rect("east", 0, -L / 2, L, L / 2))


def test_asking_nothing_changes_nothing(city: MetricCity) -> None:
    inputs = city.inputs(
        _two_districts(city),
        [city.site("a", -500, 0, R), city.site("b", 500, 0, R, live=False)],
        [city.spot("p", -500, 0, 3.0), city.spot("q", 500, 0, 4.0)],
    )

    result = what_if(inputs)
    now = coverage_report(inputs)

    assert (result.demand_lost, result.demand_gained, result.lost_points) == (0.0, 0.0, 0)
    assert result.lost == {"type": "FeatureCollection", "features": []}
    assert result.city.live_pct_before == result.city.live_pct_after == now.city.live_pct
    for change, row in zip(result.districts, now.districts, strict=True):
        assert change.district == row.district
        assert change.designed_pct_before == change.designed_pct_after == row.designed_pct
        assert change.live_demand_pct_after == row.live_demand_pct


def test_failing_sites_lose_live_service_but_keep_the_design(city: MetricCity) -> None:
    inputs = city.inputs(
        _two_districts(city),
        [city.site("a", -500, 0, R), city.site("b", 500, 0, R), city.site("c", 560, 0, R)],
        [
            city.spot("only-a", -500, 0, 3.0),
            city.spot("only-b", 420, 0, 4.0),
            city.spot("b-and-c", 530, 0, 9.0),  # c still serves it
            city.spot("only-a-2", -450, 0, 5.0),
        ],
    )

    result = what_if(inputs, fail=["a", "b"])

    assert (result.failed, result.removed, result.added) == (("a", "b"), (), ())
    assert (result.demand_lost, result.demand_gained, result.lost_points) == (12.0, 0.0, 3)
    west, east = sorted(result.districts, key=lambda c: c.district or "", reverse=True)
    assert (west.district, west.demand_lost) == ("west", 8.0)
    assert (east.district, east.demand_lost) == ("east", 4.0)
    assert west.designed_pct_after == west.designed_pct_before
    assert west.live_pct_after == 0.0 and west.live_demand_pct_after == 0.0
    assert east.live_demand_pct_after == pytest.approx(100 * 9 / 13)
    features = result.lost["features"]
    assert [f["properties"]["id"] for f in features] == ["only-a-2", "only-b", "only-a"]
    assert [f["properties"]["weight"] for f in features] == [5.0, 4.0, 3.0]
    assert features[0]["geometry"]["type"] == "Point"
    assert features[0]["properties"]["district"] == "west"
    lon, lat = features[0]["geometry"]["coordinates"]
    assert (lat, lon) == (inputs.demand[3].lat, inputs.demand[3].lon)


def test_max_points_trims_the_features_not_the_count(city: MetricCity) -> None:
    inputs = city.inputs(
        [city.square("d1", L)],
        [city.site("a", 0, 0, R)],
        [city.spot(f"p{i}", i * 10.0, 0, float(i + 1)) for i in range(5)],
    )

    result = what_if(inputs, fail=["a"], max_points=2)

    assert result.lost_points == 5
    assert [f["id"] for f in result.lost["features"]] == ["p4", "p3"]
    assert what_if(inputs, fail=["a"], max_points=0).lost["features"] == []


def test_removing_a_site_takes_its_designed_coverage_too(city: MetricCity) -> None:
    inputs = city.inputs(
        [city.square("d1", L)],
        [city.site("a", -200, 0, R), city.site("b", 200, 0, R)],
        [city.spot("pa", -200, 0, 1.0), city.spot("pb", 200, 0, 1.0)],
    )

    change = what_if(inputs, remove=["b"]).city

    assert change.designed_pct_before == pytest.approx(200 * math.pi * R**2 / L**2, rel=0.01)
    assert change.designed_pct_after == pytest.approx(100 * math.pi * R**2 / L**2, rel=0.01)
    assert (change.demand_pct_before, change.demand_pct_after) == (100.0, 50.0)
    assert change.demand_lost == 1.0


def test_an_added_site_serves_live_and_gains_demand(city: MetricCity) -> None:
    inputs = city.inputs(
        [city.square("d1", L)],
        [city.site("a", -200, 0, R)],
        [city.spot("pa", -200, 0, 1.0), city.spot("new", 300, 0, 6.0)],
    )
    lon, lat = city.lonlat(300, 0)

    result = what_if(inputs, add=[NewSite(id="n1", lat=lat, lon=lon, radius_m=50.0)])

    assert result.added == (NewSite(id="n1", lat=lat, lon=lon, radius_m=50.0),)
    assert (result.demand_gained, result.demand_lost) == (6.0, 0.0)
    change = result.districts[0]
    assert change.live_demand_pct_after == 100.0
    assert change.live_pct_after == pytest.approx(100 * math.pi * (R**2 + 50.0**2) / L**2, rel=0.01)


def test_a_failed_site_that_is_also_removed_or_already_down(city: MetricCity) -> None:
    inputs = city.inputs(
        [city.square("d1", L)],
        [city.site("a", 0, 0, R, live=False), city.site("b", 300, 0, R)],
        [city.spot("pa", 0, 0, 1.0), city.spot("pb", 300, 0, 2.0)],
    )

    already_down = what_if(inputs, fail=["a", "a"])
    both = what_if(inputs, remove=["b"], fail=["b"])

    assert already_down.failed == ("a",) and already_down.demand_lost == 0.0
    assert both.demand_lost == 2.0 and both.city.designed_pct_after is not None


def test_unknown_or_clashing_sites_are_refused_by_name(city: MetricCity) -> None:
    inputs = city.inputs([city.square("d1", L)], [city.site("a", 0, 0, R)])
    lon, lat = city.lonlat(0, 0)

    with pytest.raises(PlanningError, match="ghost"):
        what_if(inputs, remove=["ghost"])
    with pytest.raises(PlanningError, match=r"fail: unknown site\(s\): x, y"):
        what_if(inputs, fail=["y", "a", "x"])
    with pytest.raises(PlanningError, match="already used: a"):
        what_if(inputs, add=[NewSite(id="a", lat=lat, lon=lon, radius_m=10)])
    with pytest.raises(PlanningError, match="already used: n"):
        what_if(inputs, add=[NewSite("n", lat, lon, 10), NewSite("n", lat, lon, 10)])
    with pytest.raises(PlanningError, match="radius"):
        what_if(inputs, add=[NewSite("n", lat, lon, 0)])
    with pytest.raises(PlanningError, match="position"):
        what_if(inputs, add=[NewSite("n", 95.0, lon, 10)])
    with pytest.raises(PlanningError):
        what_if(inputs, max_points=-1)
