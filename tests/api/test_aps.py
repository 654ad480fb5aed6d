from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


def ids(body: dict[str, list[dict[str, object]]]) -> list[object]:
    return [row["id"] for row in body["data"]]


def test_list_aps_envelope_and_public_shape(client: TestClient) -> None:
    body = client.get("/api/v1/aps").json()
    assert body["count"] == 6
    assert ids(body) == ["ap-01", "ap-02", "ap-03", "ap-04", "ap-05", "ap-06"]
    assert body["data"][0] == {
        "id": "ap-01",
        "site": "s-park",
        "name": "s-park ap-01",
        "host": "127.1.0.1",
        "snmp_port": 161,
        "ssh_port": 22,
        "profile": "auto",
        "enabled": True,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("district=d-north", ["ap-01", "ap-02", "ap-03", "ap-06"]),
        ("partner=p-telco", ["ap-03", "ap-06"]),
        ("site=s-school", ["ap-04", "ap-05"]),
        ("enabled=false", ["ap-05"]),
        ("enabled=true&district=d-south", ["ap-04"]),
        ("site=s-planned", []),
        ("district=atlantis", []),
    ],
)
def test_ap_filters(client: TestClient, query: str, expected: list[str]) -> None:
    body = client.get(f"/api/v1/aps?{query}").json()
    assert ids(body) == expected
    assert body["count"] == len(expected)


def test_ap_pagination(client: TestClient) -> None:
    body = client.get("/api/v1/aps?district=d-north&limit=3&offset=2").json()
    assert ids(body) == ["ap-03", "ap-06"]
    assert body["count"] == 4


def test_get_ap_and_404(client: TestClient) -> None:
    assert client.get("/api/v1/aps/ap-05").json()["enabled"] is False
    r = client.get("/api/v1/aps/ap-99")
    assert r.status_code == 404
    assert r.json()["message"] == "no access point with id 'ap-99'"


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("/api/v1/aps?limit=0", "query.limit: Input should be greater than or equal to 1 (got 0)"),
        ("/api/v1/aps?limit=5001", "query.limit: Input should be less than or equal to 5000"),
        ("/api/v1/sites?limit=9000", "(got 9000)"),
        ("/api/v1/status?limit=abc", "query.limit: "),
        ("/api/v1/aps?offset=-1", "query.offset: Input should be greater than or equal to 0"),
        ("/api/v1/aps?enabled=maybe", "query.enabled: "),
    ],
)
def test_pagination_422_has_plain_message_and_detail(
    client: TestClient, url: str, fragment: str
) -> None:
    r = client.get(url)
    assert r.status_code == 422
    body = r.json()
    assert fragment in body["message"]
    assert isinstance(body["detail"], list)
    assert body["detail"][0]["loc"][0] == "query"


def test_limit_5000_is_allowed(client: TestClient) -> None:
    assert client.get("/api/v1/aps?limit=5000").status_code == 200
