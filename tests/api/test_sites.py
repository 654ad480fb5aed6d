from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

ClientAs = Callable[[str], TestClient]


def ids(body: dict[str, list[dict[str, object]]]) -> list[object]:
    return [row["id"] for row in body["data"]]


def test_list_sites_envelope_and_public_shape(client: TestClient) -> None:
    r = client.get("/api/v1/sites")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 4
    assert ids(body) == ["s-market", "s-park", "s-planned", "s-school"]
    assert body["data"][1] == {
        "id": "s-park",
        "name": "Riverside Park",
        "lat": 12.97,
        "lon": 77.59,
        "district": "d-north",
        "partner": "p-bank",
        "kind": "park",
        "coverage_radius_m": 60.0,
        "status": "active",
        "uplink": None,
        "maintenance": [],  # running windows: see tests/api/test_maintenance.py
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("district=d-south", ["s-planned", "s-school"]),
        ("partner=p-bank", ["s-park", "s-planned"]),
        ("status=planned", ["s-planned"]),
        ("kind=market", ["s-market"]),
        ("district=d-north&partner=p-bank", ["s-park"]),
        ("district=nowhere", []),
        ("partner=nobody", []),
    ],
)
def test_site_filters(client: TestClient, query: str, expected: list[str]) -> None:
    body = client.get(f"/api/v1/sites?{query}").json()
    assert ids(body) == expected
    assert body["count"] == len(expected)


def test_count_is_total_not_page_size(client: TestClient) -> None:
    body = client.get("/api/v1/sites?limit=2&offset=1").json()
    assert ids(body) == ["s-park", "s-planned"]
    assert body["count"] == 4
    past_end = client.get("/api/v1/sites?limit=2&offset=10").json()
    assert past_end == {"data": [], "count": 4}


def test_site_filter_by_invalid_status_is_422(client: TestClient) -> None:
    r = client.get("/api/v1/sites?status=burning")
    assert r.status_code == 422
    assert r.json()["message"].startswith("query.status: ")


def test_get_site(client: TestClient) -> None:
    assert client.get("/api/v1/sites/s-school").json()["partner"] is None


def test_missing_site_is_404_with_message(client: TestClient) -> None:
    r = client.get("/api/v1/sites/nope")
    assert r.status_code == 404
    assert r.json()["message"] == "no site with id 'nope'"


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("partner", ["s-park", "s-planned"]),
        ("partner-telco", ["s-market"]),
        ("planner", ["s-market", "s-park", "s-planned", "s-school"]),
        ("engineer", ["s-market", "s-park", "s-planned", "s-school"]),
    ],
)
def test_each_user_lists_the_sites_of_its_scope(
    client_as: ClientAs, user: str, expected: list[str]
) -> None:
    body = client_as(user).get("/api/v1/sites").json()
    assert ids(body) == expected
    assert body["count"] == len(expected)


@pytest.mark.parametrize(
    "query", ["partner=p-telco", "partner=p-telco&district=d-north", "kind=market", "kind=school"]
)
def test_a_partners_filters_only_narrow_its_scope(client_as: ClientAs, query: str) -> None:
    """Asking for another partner's (or the city's own) sites is an empty answer, no error."""
    assert client_as("partner").get(f"/api/v1/sites?{query}").json() == {"data": [], "count": 0}


def test_a_partners_own_filter_and_paging_work(client_as: ClientAs) -> None:
    body = client_as("partner").get("/api/v1/sites?partner=p-bank&limit=1&offset=1").json()
    assert body == {"data": [body["data"][0]], "count": 2}
    assert body["data"][0]["id"] == "s-planned"


@pytest.mark.parametrize("site", ["s-market", "s-school"])
def test_a_site_outside_the_scope_is_404_like_an_unknown_one(
    client_as: ClientAs, site: str
) -> None:
    """Another partner's site, and the city's own site, answer as if they did not exist."""
    partner = client_as("partner")
    outside, unknown = partner.get(f"/api/v1/sites/{site}"), partner.get("/api/v1/sites/nope")
    assert (outside.status_code, unknown.status_code) == (404, 404)
    assert outside.json()["message"] == f"no site with id {site!r}"
    assert unknown.json()["message"] == "no site with id 'nope'"
    assert partner.get("/api/v1/sites/s-park").json()["partner"] == "p-bank"


def test_sites_need_credentials(anon_client: TestClient) -> None:
    for url in ("/api/v1/sites", "/api/v1/sites/s-park", "/api/v1/sites/nope"):
        r = anon_client.get(url)
        assert r.status_code == 401, url
        assert r.headers["www-authenticate"] == "Bearer"


def test_ids_longer_than_any_stored_are_422(client: TestClient) -> None:
    long_id = "s" * 65
    assert client.get(f"/api/v1/sites/{long_id}").status_code == 422
    r = client.get(f"/api/v1/sites?district={long_id}")
    assert r.status_code == 422
    assert r.json()["message"].startswith("query.district: String should have at most 64")
    assert client.get(f"/api/v1/sites/{'s' * 64}").status_code == 404
