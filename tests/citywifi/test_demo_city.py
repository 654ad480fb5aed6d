"""What a newcomer sees after ``citywifi demo``: the simulated city imported as the demo
imports it (inventory, district boundaries, demand), served by the real app, read as each
printed demo account. The demo's processes themselves run in tests/integration.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape

from api.app import create_app
from citywifi.demo import browse_url, import_city
from citywifi.demo_users import DemoUser, create_demo_users
from core.access import Role
from core.settings import Settings
from inventory.db import open_inventory
from inventory.secretbox import load_box
from simulators import geo
from simulators.city import build_city
from simulators.run import write_inventory
from tests.fixtures.database import DatabasePool

APS = 60


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory, database_pool: DatabasePool | None
) -> Iterator[tuple[Settings, list[DemoUser]]]:
    """The files the simulator writes for the demo, imported by the demo's own step, and
    the demo's users (under PostgreSQL in a database of the module's own)."""
    data_dir = tmp_path_factory.mktemp("demo")
    city = build_city(APS, seed=7)
    write_inventory(city, data_dir / "city.yaml")
    geo.write_districts(city, data_dir / "districts.geojson")
    geo.write_demand(city, data_dir / "demand.csv")
    settings = Settings(data_dir=data_dir)
    if database_pool is not None:
        url = database_pool.dedicated("demo_city")
        settings = settings.model_copy(update={"database_url": url})
    engine = open_inventory(settings.db_url, create=True)
    try:
        summaries = import_city(engine, data_dir, load_box(settings))
        assert len(summaries) == 3
        users = create_demo_users(engine, now=1_767_225_600.0)
    finally:
        engine.dispose()
    yield settings, users


@pytest.fixture(scope="module")
def clients(demo: tuple[Settings, list[DemoUser]]) -> Iterator[dict[Role, TestClient]]:
    settings, users = demo
    with TestClient(create_app(settings)) as first:
        made = {
            u.role: TestClient(first.app, headers={"Authorization": f"Bearer {u.token}"})
            for u in users
        }
        yield made
        for client in made.values():
            client.close()


def test_the_map_has_districts_with_their_sites_inside(clients: dict[Role, TestClient]) -> None:
    engineer = clients[Role.ENGINEER]
    districts = engineer.get("/api/v1/map/districts").json()["features"]
    assert districts and all(d["geometry"] is not None for d in districts)
    shapes = {d["id"]: shape(d["geometry"]) for d in districts}
    sites = engineer.get("/api/v1/map/sites").json()
    assert sites["count"] > 0
    for feature in sites["features"]:
        district = feature["properties"]["district"]
        assert shapes[district].covers(Point(feature["geometry"]["coordinates"])), feature["id"]
    assert sum(d["properties"]["sites"] for d in districts) == sites["count"]
    west, south, east, north = engineer.get("/api/v1/map/config").json()["bbox"]
    assert west < east and south < north


def test_the_coverage_view_has_demand(clients: dict[Role, TestClient]) -> None:
    planner = clients[Role.PLANNER]
    response = planner.get("/api/v1/coverage")
    assert response.status_code == 200, response.text
    rows = response.json()["data"]
    assert rows and all(row["demand"] > 0 for row in rows), rows
    city = response.json()["city"]
    assert city["demand_designed"] > 0, city  # the crowds at the busy sites are served


def test_the_partner_account_sees_only_its_sites(
    demo: tuple[Settings, list[DemoUser]], clients: dict[Role, TestClient]
) -> None:
    partner = next(u for u in demo[1] if u.role is Role.PARTNER)
    own = clients[Role.PARTNER].get("/api/v1/map/sites").json()["features"]
    everyone = clients[Role.ADMIN].get("/api/v1/map/sites").json()["features"]
    assert own and len(own) < len(everyone)
    assert {f["properties"]["partner"] for f in own} == {partner.partner_id}
    assert {f["id"] for f in own} == {
        f["id"] for f in everyone if f["properties"]["partner"] == partner.partner_id
    }


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8080/"),
        ("0.0.0.0", "http://127.0.0.1:8080/"),
        ("::", "http://127.0.0.1:8080/"),
        ("::1", "http://[::1]:8080/"),
        ("wifi.example", "http://wifi.example:8080/"),
    ],
)
def test_the_printed_url_opens_in_a_browser(host: str, url: str) -> None:
    assert browse_url(host, 8080) == url
