"""The coverage routes over HTTP: who may call which, what a partner's figures hold, and
the figures themselves on the fixture city with its sites spread apart
(:mod:`tests.fixtures.coverage_city`: s-park live in North, s-school designed but not live
in North, s-market live in South, each 60 m)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from inventory.candidates import replace_candidates
from inventory.db import transaction
from inventory.models import ApStatus
from inventory.schemas import CandidateIn
from tests.fixtures.coverage_city import DEMAND, RADIUS_M, spread_sites

COVERAGE = "/api/v1/coverage"
DISC_M2 = math.pi * RADIUS_M**2

# (method, path, body): every coverage operation with a request that succeeds.
OPERATIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", COVERAGE, None),
    ("GET", f"{COVERAGE}/gaps", None),
    ("GET", f"{COVERAGE}/suggestions?k=2", None),
    ("POST", f"{COVERAGE}/what-if", {"fail": ["s-park"]}),
]
STAFF = ("admin", "engineer", "planner")
PARTNERS = ("partner", "partner-telco")


@pytest.fixture
def engine(client: TestClient) -> Engine:
    found: Engine = client.app.state.engine  # type: ignore[attr-defined]
    return found


@pytest.fixture
def spread(engine: Engine) -> None:
    spread_sites(engine)


def rows_by_district(body: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    return {row["district"]: row for row in [*body["data"], body["city"]]}


def call(client: TestClient, method: str, path: str, body: dict[str, Any] | None) -> Any:
    return client.request(method, path, json=body)


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_who_may_call_what(
    client_as: Callable[[str], TestClient],
    anon_client: TestClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    """Staff 200; a partner 200 on the coverage table only (its own sites' figures) and
    403 on what reveals the city's layout; nobody signed in 401."""
    for user in STAFF:
        response = call(client_as(user), method, path, body)
        assert response.status_code == 200, (user, response.text)
    for user in PARTNERS:
        response = call(client_as(user), method, path, body)
        assert response.status_code == (200 if path == COVERAGE else 403), (user, response.text)
    assert call(anon_client, method, path, body).status_code == 401


def test_coverage_per_district(client: TestClient, spread: None) -> None:
    body = client.get(COVERAGE).json()
    assert body["scope"] == "city"
    assert body["count"] == 2
    assert [row["district"] for row in body["data"]] == ["d-north", "d-south"]
    rows = rows_by_district(body)
    north, south, city = rows["d-north"], rows["d-south"], rows[None]
    # Two discs apart in North (s-school not live), one in South.
    assert north["designed_km2"] * 1e6 == pytest.approx(2 * DISC_M2, rel=0.01)
    assert north["live_km2"] * 1e6 == pytest.approx(DISC_M2, rel=0.01)
    assert north["designed_pct"] == pytest.approx(
        100 * 2 * DISC_M2 / (north["area_km2"] * 1e6), rel=0.01
    )
    assert north["live_pct"] == pytest.approx(north["designed_pct"] / 2, rel=0.01)
    assert (north["sites"], north["sites_live"]) == (2, 1)
    assert (north["demand"], north["demand_designed"], north["demand_live"]) == (150, 150, 100)
    assert north["demand_pct"] == 100
    assert north["live_demand_pct"] == pytest.approx(100 * 100 / 150, abs=0.001)
    assert (south["sites"], south["sites_live"]) == (1, 1)
    assert (south["demand"], south["demand_designed"], south["demand_live"]) == (100, 80, 80)
    assert south["demand_pct"] == south["live_demand_pct"] == 80
    assert city["name"] and city["demand"] == sum(d[2] for d in DEMAND.values())
    assert city["area_km2"] == pytest.approx(north["area_km2"] + south["area_km2"], rel=1e-6)
    assert city["designed_km2"] * 1e6 == pytest.approx(3 * DISC_M2, rel=0.01)
    assert body["epsg"] == 32643  # UTM 43 N: Bengaluru
    assert body["live_as_of"] is None  # the fixture's statuses record no poll time


def test_one_district_and_an_unknown_one(client: TestClient, spread: None) -> None:
    body = client.get(COVERAGE, params={"district": "d-south"}).json()
    assert [row["district"] for row in body["data"]] == ["d-south"] and body["count"] == 1
    assert body["city"]["district"] is None
    missing = client.get(COVERAGE, params={"district": "zz-nowhere"})
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no district with id 'zz-nowhere'"


@pytest.mark.parametrize(
    ("user", "own", "foreign"),
    [("partner", "s-park", ("s-market", "s-school")), ("partner-telco", "s-market", ("s-park",))],
)
def test_a_partner_sees_what_its_own_sites_cover(
    client_as: Callable[[str], TestClient],
    spread: None,
    user: str,
    own: str,
    foreign: tuple[str, ...],
) -> None:
    """p-bank's s-park covers one disc of North; p-telco's s-market one of South. Nothing
    of another's site shows: not its area, its demand, its count, nor its id."""
    response = client_as(user).get(COVERAGE)
    body = response.json()
    assert body["scope"] == "partner"
    rows = rows_by_district(body)
    covered, empty = ("d-north", "d-south") if own == "s-park" else ("d-south", "d-north")
    assert rows[covered]["designed_km2"] * 1e6 == pytest.approx(DISC_M2, rel=0.01)
    assert (rows[covered]["sites"], rows[covered]["sites_live"]) == (1, 1)
    assert rows[covered]["demand_designed"] == (100 if own == "s-park" else 80)
    assert rows[empty]["designed_pct"] == rows[empty]["demand_designed"] == 0
    assert rows[empty]["sites"] == 0
    assert rows[None]["designed_km2"] * 1e6 == pytest.approx(DISC_M2, rel=0.01)
    assert rows[None]["sites"] == 1
    # Districts and demand are public facts; the demand totals are the city's.
    assert rows[None]["demand"] == 250
    for site in foreign:
        assert site not in response.text


def test_live_coverage_follows_the_aps(client: TestClient, engine: Engine, spread: None) -> None:
    """s-park's APs go down: North's live coverage drops to nothing, and its disc becomes
    a fault gap naming it. Back up: restored. (The cache keys on the live state.)"""
    before = rows_by_district(client.get(COVERAGE).json())["d-north"]

    def park_aps(state: str) -> None:
        with transaction(engine) as session:
            session.execute(
                update(ApStatus).where(ApStatus.ap_id.in_(["ap-01", "ap-02"])).values(state=state)
            )

    park_aps("down")
    down = rows_by_district(client.get(COVERAGE).json())["d-north"]
    assert down["live_pct"] == 0 and down["demand_live"] == 0
    assert down["designed_pct"] == before["designed_pct"]
    faults = client.get(f"{COVERAGE}/gaps", params={"kind": "fault"}).json()
    named = {site for feature in faults["features"] for site in feature["properties"]["sites"]}
    assert named == {"s-park", "s-school"}
    assert faults["fault_area_m2"] == pytest.approx(2 * DISC_M2, rel=0.01)
    park_aps("up")
    assert rows_by_district(client.get(COVERAGE).json())["d-north"] == before


def test_gaps_are_geojson(client: TestClient, spread: None) -> None:
    response = client.get(f"{COVERAGE}/gaps")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert body["count"] == len(body["features"]) > 1
    ranks = [f["properties"]["rank"] for f in body["features"]]
    assert ranks == list(range(1, len(ranks) + 1))
    demand = [f["properties"]["demand"] for f in body["features"]]
    assert demand == sorted(demand, reverse=True)
    faults = [f for f in body["features"] if f["properties"]["kind"] == "fault"]
    assert len(faults) == 1
    assert faults[0]["properties"]["sites"] == ["s-school"]
    assert faults[0]["properties"]["demand"] == 50  # dp-n2, designed but not served now
    assert faults[0]["properties"]["area_m2"] == pytest.approx(DISC_M2, rel=0.01)
    assert faults[0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert body["fault_area_m2"] == pytest.approx(DISC_M2, rel=0.01)
    assert body["design_demand"] == 20  # dp-s2: no site reaches it

    design = client.get(f"{COVERAGE}/gaps", params={"kind": "design", "limit": 1}).json()
    assert design["count"] == 1
    assert design["features"][0]["properties"]["kind"] == "design"
    assert design["features"][0]["properties"]["demand"] == 20
    south = client.get(f"{COVERAGE}/gaps", params={"district": "d-south"}).json()
    assert {f["properties"]["district"] for f in south["features"]} == {"d-south"}
    assert client.get(f"{COVERAGE}/gaps", params={"district": "zz"}).status_code == 404


def test_the_schema_declares_geojson(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    content = spec["paths"][f"{COVERAGE}/gaps"]["get"]["responses"]["200"]["content"]
    assert list(content) == ["application/geo+json"]


def test_suggestions(client: TestClient, spread: None) -> None:
    """On the grid (no candidates imported): the two places that add the most, which is
    every unserved person the grid can reach."""
    body = client.get(f"{COVERAGE}/suggestions", params={"k": 2}).json()
    assert body["method"] == "optimal" and body["status"] == "optimal"
    assert body["k"] == 2 and len(body["sites"]) <= 2
    assert body["candidate_source"] == "grid" and body["candidates"] > 2
    assert sum(s["added_demand"] for s in body["sites"]) == pytest.approx(body["added_demand"])
    assert body["greedy_demand"] <= body["optimal_demand"]
    assert body["demand_total"] == 250
    assert body["covered_before_pct"] == pytest.approx(100 * 230 / 250)
    greedy = client.get(f"{COVERAGE}/suggestions", params={"k": 2, "method": "greedy"}).json()
    assert greedy["method"] == "greedy" and greedy["optimal_demand"] is None


def test_suggestions_among_the_imported_candidates(
    client: TestClient, engine: Engine, spread: None
) -> None:
    """Two candidates: one on the unserved dp-s2, one where nobody is. k=1 picks the first;
    k=3 is more than there are: 422 naming k."""
    lat, lon, weight, _district = DEMAND["dp-s2"]
    with transaction(engine) as session:
        replace_candidates(
            session,
            [
                CandidateIn(id="c-on", name="On dp-s2", lat=lat, lon=lon, coverage_radius_m=50),
                CandidateIn(id="c-off", name="Nobody", lat=lat + 0.003, lon=lon),
            ],
        )
    body = client.get(f"{COVERAGE}/suggestions", params={"k": 1}).json()
    assert body["candidate_source"] == "inventory" and body["candidates"] == 2
    assert [s["candidate"] for s in body["sites"]] == ["c-on"]
    assert body["added_demand"] == weight
    assert body["covered_after_pct"] == 100
    refused = client.get(f"{COVERAGE}/suggestions", params={"k": 3})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["query", "k"]
    assert "\n" not in refused.json()["message"]


def test_suggestions_time_limit_is_bounded(client: TestClient) -> None:
    assert client.get(f"{COVERAGE}/suggestions", params={"time_limit_s": 0.5}).status_code == 200
    for bad in ({"time_limit_s": 0}, {"time_limit_s": 3601}, {"k": 0}, {"k": 101}):
        assert client.get(f"{COVERAGE}/suggestions", params=bad).status_code == 422, bad


def test_what_if(client: TestClient, spread: None) -> None:
    """s-park fails: North loses dp-n1 (100 people). A new site on dp-s2 gains 20."""
    body = client.post(f"{COVERAGE}/what-if", json={"fail": ["s-park"]}).json()
    assert body["failed"] == ["s-park"] and body["removed"] == [] and body["added"] == []
    assert body["demand_lost"] == 100 and body["demand_gained"] == 0
    assert body["lost_points"] == 1
    assert [f["properties"]["id"] for f in body["lost"]["features"]] == ["dp-n1"]
    north = {c["district"]: c for c in body["districts"]}["d-north"]
    assert north["live_pct_after"] == 0 and north["demand_lost"] == 100
    assert north["designed_pct_after"] == north["designed_pct_before"]

    lat, lon, weight, _district = DEMAND["dp-s2"]
    added = client.post(
        f"{COVERAGE}/what-if", json={"add": [{"lat": lat, "lon": lon, "radius_m": 30}]}
    ).json()
    assert added["added"] == [{"id": "new-1", "lat": lat, "lon": lon, "radius_m": 30}]
    assert added["demand_gained"] == weight and added["demand_lost"] == 0

    removed = client.post(f"{COVERAGE}/what-if", json={"remove": ["s-market"]}).json()
    south = {c["district"]: c for c in removed["districts"]}["d-south"]
    assert south["designed_pct_after"] == 0 and south["demand_lost"] == 80


@pytest.mark.parametrize(
    ("body", "loc", "named"),
    [
        ({"fail": ["zz-nowhere"]}, ["body", "fail"], "zz-nowhere"),
        # planned: not built, covers nothing
        ({"remove": ["s-planned"]}, ["body", "remove"], "s-planned"),
        ({"add": [{"id": "s-park", "lat": 0, "lon": 0, "radius_m": 9}]}, ["body", "add"], "s-park"),
    ],
)
def test_what_if_names_an_unknown_site(
    client: TestClient, body: dict[str, Any], loc: list[str], named: str
) -> None:
    """An unknown (or, for a new site, an existing) id: 422 naming it, on one line."""
    response = client.post(f"{COVERAGE}/what-if", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc
    assert named in response.json()["message"]
    assert "\n" not in response.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"fail": ["s-park"], "extra": 1},  # strict: no unknown members
        {"fail": ["s"] * 1001},
        {"add": [{"lat": 0, "lon": 0, "radius_m": 10}] * 101},
        {"add": [{"lat": 91, "lon": 0, "radius_m": 10}]},
        {"add": [{"lat": 0, "lon": 0, "radius_m": 0}]},
        {"add": [{"lat": 0, "lon": 0, "radius_m": 5001}]},
        {"add": [{"id": "a", "lat": 0, "lon": 0, "radius_m": 9}] * 2},  # ids must differ
        {"fail": [""]},
    ],
)
def test_what_if_bodies_are_bounded(client: TestClient, body: dict[str, Any]) -> None:
    assert client.post(f"{COVERAGE}/what-if", json=body).status_code == 422
