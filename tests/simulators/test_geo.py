"""The generated city's geography: a tiling of ~210 km², deterministic, importable."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory import import_file
from inventory.db import open_inventory
from inventory.models import DemandPoint, District
from inventory.secretbox import SecretBox
from simulators import geo
from simulators.city import build_city
from simulators.run import write_inventory


def shoelace_km2(cell: list[tuple[float, float]]) -> float:
    return 0.5 * abs(
        sum(cell[i][0] * cell[i - 1][1] - cell[i - 1][0] * cell[i][1] for i in range(len(cell)))
    )


def test_districts_tile_about_210_km2() -> None:
    city = build_city(600, seed=3)
    cells = geo.district_cells(city)
    assert len(cells) == 12
    assert sum(shoelace_km2(c) for c in cells.values()) == pytest.approx(210, abs=2)
    # every demand point falls in exactly one district: no gaps, no overlaps
    for point in geo.demand_points(city):
        p = geo._to_km(geo.DEFAULT_CENTER, point["lat"], point["lon"])
        inside = [d for d, cell in cells.items() if geo._inside(p, cell)]
        assert len(inside) <= 1
        assert point["district"] in cells


def test_same_seed_same_geography() -> None:
    a, b = build_city(300, seed=9), build_city(300, seed=9)
    assert geo.districts_geojson(a) == geo.districts_geojson(b)
    assert geo.demand_points(a) == geo.demand_points(b)
    assert geo.demand_points(a) != geo.demand_points(build_city(300, seed=10))


def test_population_is_plausible_for_a_mid_size_city() -> None:
    points = geo.demand_points(build_city(2000, seed=1))
    people = sum(p["weight"] for p in points)
    assert 500 < len([p for p in points if p["id"].startswith("g")]) < 1500  # the grid
    assert 1e6 < people < 5e6
    assert all(p["weight"] > 0 for p in points)


def test_inventory_districts_and_demand_import_cleanly(
    tmp_path: Path, secret_box: SecretBox, database_url: str
) -> None:
    city = build_city(120, seed=5)
    write_inventory(city, tmp_path / "city.yaml")
    geo.write_districts(city, tmp_path / "districts.geojson")
    geo.write_demand(city, tmp_path / "demand.csv")
    engine = open_inventory(database_url, create=True)
    import_file(engine, tmp_path / "city.yaml", secret_box)
    report = import_file(engine, tmp_path / "districts.geojson", secret_box)
    assert report.counts["districts"]["updated"] == len(city.districts)
    demand = import_file(engine, tmp_path / "demand.csv", secret_box)
    assert demand.counts["demand"]["created"] == len(geo.demand_points(city))
    # re-importing the YAML (which has no boundaries) keeps the boundaries
    again = import_file(engine, tmp_path / "city.yaml", secret_box)
    assert again.counts["districts"]["unchanged"] == len(city.districts)
    with Session(engine) as session:
        boundaries = session.scalars(select(District.boundary_geojson)).all()
        assert all(b and json.loads(b)["type"] == "Polygon" for b in boundaries)
        assert session.scalar(select(func.count()).select_from(DemandPoint)) > 100
    doc = yaml.safe_load((tmp_path / "city.yaml").read_text())
    assert {d["id"] for d in doc["districts"]} == {d.id for d in city.districts}
    engine.dispose()


def test_people_gather_around_the_busy_sites() -> None:
    """Crowd points lie within CROWD_REACH_KM of a busy site, a few per site, and some of
    them within a hotspot's own reach: "people served" is not 0 % by construction."""
    city = build_city(300, seed=4)
    busy = [
        geo._to_km(geo.DEFAULT_CENTER, s.lat, s.lon) for s in city.sites if s.kind in geo.SITE_DRAW
    ]
    crowd = [p for p in geo.demand_points(city) if p["id"].startswith("c")]
    assert 0 < len(crowd) <= geo.CROWD_POINTS * len(busy)
    nearest = [
        min(math.dist(geo._to_km(geo.DEFAULT_CENTER, p["lat"], p["lon"]), b) for b in busy)
        for p in crowd
    ]
    assert max(nearest) <= geo.CROWD_REACH_KM + 1e-6
    assert sum(d <= 0.06 for d in nearest) > 0  # inside the smallest hotspot disc
