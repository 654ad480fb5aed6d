from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

ClientAs = Callable[[str], TestClient]


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


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("partner", ["ap-01", "ap-02"]),
        ("partner-telco", ["ap-03", "ap-06"]),
        ("engineer", ["ap-01", "ap-02", "ap-03", "ap-04", "ap-05", "ap-06"]),
    ],
)
def test_each_user_lists_the_aps_of_its_scope(
    client_as: ClientAs, user: str, expected: list[str]
) -> None:
    body = client_as(user).get("/api/v1/aps").json()
    assert ids(body) == expected
    assert body["count"] == len(expected)


@pytest.mark.parametrize(
    "query",
    ["partner=p-telco", "site=s-market", "site=s-school", "district=d-south", "enabled=false"],
)
def test_a_partners_filters_only_narrow_its_scope(client_as: ClientAs, query: str) -> None:
    """Others' partner, site or district ids give an empty answer with count 0, no error."""
    assert client_as("partner").get(f"/api/v1/aps?{query}").json() == {"data": [], "count": 0}


@pytest.mark.parametrize("ap", ["ap-03", "ap-04", "ap-05"])
def test_an_ap_outside_the_scope_is_404_like_an_unknown_one(client_as: ClientAs, ap: str) -> None:
    """Another partner's AP (ap-03) and the city's own (ap-04, ap-05): as if absent."""
    partner = client_as("partner")
    for url in (f"/api/v1/aps/{ap}", f"/api/v1/aps/{ap}/series?metric=clients",
                f"/api/v1/aps/{ap}/events"):  # fmt: skip
        r = partner.get(url)
        assert r.status_code == 404, url
        assert r.json() == {
            "detail": f"no access point with id {ap!r}",
            "message": f"no access point with id {ap!r}",
        }
    assert partner.get("/api/v1/aps/ap-02").json()["site"] == "s-park"


def test_a_planner_may_not_read_the_ap_inventory(client_as: ClientAs) -> None:
    planner = client_as("planner")
    for url in ("/api/v1/aps", "/api/v1/aps/ap-01", "/api/v1/aps/ap-99"):
        r = planner.get(url)
        assert r.status_code == 403, url
        assert r.json()["message"] == "role planner may not inventory:read"
    # An AP's history is status, which a planner may read.
    assert planner.get("/api/v1/aps/ap-01/series?metric=clients").status_code == 200
    assert planner.get("/api/v1/aps/ap-01/events").status_code == 200


def test_aps_need_credentials(anon_client: TestClient) -> None:
    for url in ("/api/v1/aps", "/api/v1/aps/ap-01", "/api/v1/aps/ap-01/events"):
        assert anon_client.get(url).status_code == 401, url
    wrong = {"Authorization": "Bearer cw_not-a-token"}
    assert anon_client.get("/api/v1/aps", headers=wrong).status_code == 401


@pytest.mark.parametrize("query", ["district", "partner", "site"])
def test_id_filters_longer_than_any_id_are_422(client: TestClient, query: str) -> None:
    r = client.get(f"/api/v1/aps?{query}={'x' * 65}")
    assert r.status_code == 422
    assert r.json()["message"].startswith(f"query.{query}: String should have at most 64")
    assert client.get(f"/api/v1/aps/{'a' * 65}").status_code == 422
