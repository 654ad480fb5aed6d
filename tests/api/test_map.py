"""The map API: sites as GeoJSON with their live state, districts with boundaries and
counts, the map's configuration, and the CSP that lets configured tiles load.

The fixture city (tests.api.city): s-park (p-bank; ap-01, ap-02 up) is up, s-market
(p-telco; ap-03 down, ap-06 up) degraded, s-school (the city's; ap-04 never judged, ap-05
disabled) unknown, s-planned (p-bank; no AP) unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from api.app import create_app
from api.deps import get_now
from api.headers import CSP, csp_for, tile_origin
from api.routes.map import site_state
from core.incidents import IncidentScope
from core.settings import Settings
from inventory import maintenance
from inventory.db import transaction
from inventory.models import ApStatus, District
from tests.api.city import NOW, SITE_POSITIONS
from tests.fixtures.coverage_city import NORTH, SOUTH

MAP = "/api/v1/map"
ClientAs = Callable[[str], TestClient]
CALLERS = ("admin", "engineer", "planner", "partner", "partner-telco")
STATE_COUNTS = ("up", "down", "unknown")


@pytest.fixture
def engine(client: TestClient) -> Engine:
    found: Engine = client.app.state.engine  # type: ignore[attr-defined]
    return found


@pytest.fixture
def at_now(client: TestClient) -> Iterator[None]:
    """The app's clock at the fixture's now (maintenance windows are judged by it)."""
    client.app.dependency_overrides[get_now] = lambda: NOW  # type: ignore[attr-defined]
    yield
    client.app.dependency_overrides.pop(get_now, None)  # type: ignore[attr-defined]


def sites(client: TestClient, **query: str) -> dict[str, Any]:
    response = client.get(f"{MAP}/sites", params=query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def by_id(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["id"]: f["properties"] for f in body["features"]}


@pytest.mark.parametrize(
    ("up", "down", "unknown", "state"),
    [
        (2, 0, 0, "up"),
        (0, 2, 0, "down"),
        (1, 1, 0, "degraded"),
        (1, 0, 1, "degraded"),
        (0, 0, 0, "unknown"),
        (0, 0, 2, "unknown"),
        (0, 1, 1, "down"),  # nothing there known to serve
    ],
)
def test_the_state_of_a_site(up: int, down: int, unknown: int, state: str) -> None:
    assert site_state(up, down, unknown) == state


@pytest.mark.parametrize("path", ["sites", "districts", "config"])
def test_every_role_may_read_the_map_and_nobody_else(
    client_as: ClientAs, anon_client: TestClient, path: str
) -> None:
    for caller in CALLERS:
        assert client_as(caller).get(f"{MAP}/{path}").status_code == 200, caller
    assert anon_client.get(f"{MAP}/{path}").status_code == 401


def test_sites_are_geojson_points_with_names_and_states(client: TestClient) -> None:
    body = sites(client)
    assert body["type"] == "FeatureCollection"
    assert body["count"] == len(body["features"]) == 4
    for feature in body["features"]:
        lat, lon = SITE_POSITIONS[feature["id"]]
        assert feature["type"] == "Feature"
        assert feature["geometry"] == {"type": "Point", "coordinates": [lon, lat]}
        assert feature["properties"]["id"] == feature["id"]
    found = by_id(body)
    assert {k: v["state"] for k, v in found.items()} == {
        "s-market": "degraded",
        "s-park": "up",
        "s-planned": "unknown",
        "s-school": "unknown",
    }
    assert found["s-market"] == {
        "id": "s-market", "name": "Central Market", "kind": "market", "status": "active",
        "district": "d-north", "district_name": "North", "partner": "p-telco",
        "partner_name": "Telco Ltd", "state": "degraded", "in_maintenance": False,
        "aps_total": 2, "aps_up": 1, "aps_down": 1, "aps_unknown": 0,
        "clients": 0.0,  # ap-06 is up and serves nobody; ap-03 is down: not counted
        "open_incidents": 2,  # ap_down ap-06, and the area outage ap-03 was merged into
    }  # fmt: skip
    assert found["s-park"]["clients"] == 12 + 3  # ap-01's latest and ap-02's
    assert found["s-park"]["open_incidents"] == 2  # ap_down ap-02, area outage (ap-01)
    assert found["s-school"]["aps_total"] == 1  # ap-05 is disabled: not on the map
    assert found["s-school"]["open_incidents"] == 1
    assert found["s-planned"]["aps_total"] == 0 and found["s-planned"]["clients"] is None
    assert body["summary"] == {
        "up": 1, "degraded": 1, "down": 0, "unknown": 2, "maintenance": 0, "total": 4,
    }  # fmt: skip


def test_a_site_with_every_ap_down_is_down(client: TestClient, engine: Engine) -> None:
    with transaction(engine) as session:
        session.execute(update(ApStatus).where(ApStatus.ap_id == "ap-06").values(state="down"))
    market = by_id(sites(client))["s-market"]
    assert (market["state"], market["aps_down"], market["clients"]) == ("down", 2, None)


@pytest.mark.parametrize("caller", CALLERS)
def test_the_counts_equal_those_of_status(client_as: ClientAs, caller: str) -> None:
    """Summed over the sites, the APs by state are /status's summary, for every caller and
    under each filter: one rule for an AP's state, one scope."""
    me = client_as(caller)
    for query in ({}, {"district": "d-north"}, {"district": "d-south"}, {"partner": "p-bank"}):
        status = me.get("/api/v1/status", params=query).json()["summary"]
        features = sites(me, **query)["features"]
        for state in STATE_COUNTS:
            total = sum(f["properties"][f"aps_{state}"] for f in features)
            assert total == status[state], (caller, query, state)
        assert sum(f["properties"]["aps_total"] for f in features) == status["total"]


@pytest.mark.parametrize(
    ("caller", "own"),
    [("partner", {"s-park", "s-planned"}), ("partner-telco", {"s-market"})],
)
def test_a_partner_sees_only_its_sites(
    client: TestClient, client_as: ClientAs, caller: str, own: set[str]
) -> None:
    me = client_as(caller)
    body = sites(me)
    assert set(by_id(body)) == own
    assert body["count"] == body["summary"]["total"] == len(own)
    others = set(by_id(sites(client))) - own
    names = {p["name"] for s, p in by_id(sites(client)).items() if s in others}
    response = me.get(f"{MAP}/sites")
    for foreign in others | names:
        assert foreign not in response.text
    other_partner = "p-telco" if caller == "partner" else "p-bank"
    assert sites(me, partner=other_partner)["count"] == 0


def test_filters(client: TestClient) -> None:
    assert set(by_id(sites(client, district="d-south"))) == {"s-planned", "s-school"}
    assert set(by_id(sites(client, partner="p-bank"))) == {"s-park", "s-planned"}
    degraded = sites(client, state="degraded")
    assert set(by_id(degraded)) == {"s-market"}
    assert degraded["summary"] == {
        "up": 0, "degraded": 1, "down": 0, "unknown": 0, "maintenance": 0, "total": 1,
    }  # fmt: skip
    refused = client.get(f"{MAP}/sites", params={"state": "sideways"})
    assert refused.status_code == 422 and "state" in refused.json()["message"]


def test_sites_in_maintenance(client: TestClient, engine: Engine, at_now: None) -> None:
    """A running window on the district marks both its sites (and is counted apart); one
    that has not started marks none. The state is still given."""
    with transaction(engine) as session:
        for starts in (-60.0, 3600.0):
            maintenance.create(
                session, scope_kind=IncidentScope.DISTRICT, scope_id="d-south",
                starts_at=NOW + starts, ends_at=NOW + 7200, reason="new fibre",
                actor="admin", now=NOW - 120,
            )  # fmt: skip
    body = sites(client)
    assert {s for s, p in by_id(body).items() if p["in_maintenance"]} == {"s-planned", "s-school"}
    assert by_id(body)["s-school"]["state"] == "unknown"
    assert body["summary"]["maintenance"] == 2 and body["summary"]["total"] == 4


def test_districts_carry_boundaries_and_counts(client: TestClient) -> None:
    body = client.get(f"{MAP}/districts").json()
    assert body["type"] == "FeatureCollection" and body["count"] == 2
    found = {f["id"]: f for f in body["features"]}
    north, south = found["d-north"], found["d-south"]
    assert north["geometry"]["type"] == "Polygon"
    west, south_edge, east, north_edge = NORTH
    assert north["geometry"]["coordinates"][0][0] == [west, south_edge]
    assert north["geometry"]["coordinates"][0][2] == [east, north_edge]
    assert north["properties"] == {
        "id": "d-north", "name": "North", "sites": 2, "sites_down": 0, "sites_degraded": 1,
    }  # fmt: skip
    assert south["properties"] == {
        "id": "d-south", "name": "South", "sites": 2, "sites_down": 0, "sites_degraded": 0,
    }  # fmt: skip


@pytest.mark.parametrize("caller", CALLERS)
def test_district_counts_are_the_callers_sites(client_as: ClientAs, caller: str) -> None:
    """Every caller sees every district (names, boundaries); its counts are those of the
    sites /map/sites gives it, district by district."""
    me = client_as(caller)
    districts = me.get(f"{MAP}/districts").json()["features"]
    assert {d["id"] for d in districts} == {"d-north", "d-south"}
    assert all(d["geometry"] is not None for d in districts)
    for district in districts:
        features = sites(me, district=district["id"])["features"]
        states = [f["properties"]["state"] for f in features]
        assert district["properties"]["sites"] == len(features), caller
        assert district["properties"]["sites_down"] == states.count("down")
        assert district["properties"]["sites_degraded"] == states.count("degraded")


def test_the_partners_district_counts(client_as: ClientAs) -> None:
    found = {
        d["id"]: d["properties"]
        for d in client_as("partner-telco").get(f"{MAP}/districts").json()["features"]
    }
    assert (found["d-north"]["sites"], found["d-north"]["sites_degraded"]) == (1, 1)
    assert found["d-south"]["sites"] == 0


def test_the_config(client: TestClient) -> None:
    body = client.get(f"{MAP}/config").json()
    west, _, east, north = NORTH
    assert body == {
        "city_name": "Bekasi",
        "tile_url": None,
        "tile_attribution": "",
        "sla_target_pct": 95.0,
        "bbox": [pytest.approx(west), pytest.approx(SOUTH[1]), pytest.approx(east), north],
    }


def test_missing_or_broken_boundaries(client: TestClient, engine: Engine) -> None:
    """A district without a boundary, or with one that is not a polygon, comes with a null
    geometry (the map still lists it); with none left, the area is that of the sites."""
    with transaction(engine) as session:
        session.execute(update(District).where(District.id == "d-north").values(
            boundary_geojson=None))  # fmt: skip
        session.execute(update(District).where(District.id == "d-south").values(
            boundary_geojson='{"type": "Point", "coordinates": [1, 2]}'))  # fmt: skip
    body = client.get(f"{MAP}/districts").json()
    assert [f["geometry"] for f in body["features"]] == [None, None]
    lats = [lat for lat, _ in SITE_POSITIONS.values()]
    lons = [lon for _, lon in SITE_POSITIONS.values()]
    bbox = client.get(f"{MAP}/config").json()["bbox"]
    assert bbox == pytest.approx([min(lons), min(lats), max(lons), max(lats)])


# --- the tiles' origin in the content security policy ---------------------------------


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        (None, None),
        ("", None),
        ("https://tiles.example/{z}/{x}/{y}.png", "https://tiles.example"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:8080"),
        ("ftp://tiles.example/{z}/{x}/{y}.png", None),
        ("https://tiles.example; script-src *;/{z}.png", None),
        ("https://tiles.{s}.example/{z}.png", None),  # a template mid-host: no safe source
        ("https://user@tiles.example/{z}.png", None),
        ("tiles/{z}/{x}/{y}.png", None),
    ],
)
def test_the_tile_origin(url: str | None, origin: str | None) -> None:
    assert tile_origin(url) == origin


def test_without_tiles_the_policy_is_the_usual_one() -> None:
    assert csp_for(None) == CSP


def test_configured_tiles_are_allowed_as_images_only(
    settings: Settings, tokens: dict[str, str]
) -> None:
    url = "https://{s}.tile.example.org/{z}/{x}/{y}.png"
    tiled = settings.model_copy(update={"map_tile_url": url, "map_tile_attribution": "© them"})
    headers = {"Authorization": f"Bearer {tokens['planner']}"}
    with TestClient(create_app(tiled), headers=headers) as client:
        config = client.get(f"{MAP}/config").json()
        assert (config["tile_url"], config["tile_attribution"]) == (url, "© them")
        for path in ("/", f"{MAP}/config", "/nowhere"):
            policy = client.get(path).headers["Content-Security-Policy"]
            directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
            assert directives["img-src"] == ["'self'", "data:", "https://*.tile.example.org"]
            assert policy.count("tile.example.org") == 1, policy  # no script, style, connect
