from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


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
