from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from timeseries import MetricStore

ClientAs = Callable[[str], TestClient]


def by_id(body: dict[str, list[dict[str, object]]]) -> dict[object, dict[str, object]]:
    return {row["ap_id"]: row for row in body["data"]}


def test_status_rows_one_per_enabled_ap(client: TestClient) -> None:
    body = client.get("/api/v1/status").json()
    assert [r["ap_id"] for r in body["data"]] == ["ap-01", "ap-02", "ap-03", "ap-04", "ap-06"]
    assert body["count"] == 5
    assert body["summary"] == {"up": 3, "down": 1, "unknown": 1, "total": 5}


def test_status_row_fields(client: TestClient) -> None:
    rows = by_id(client.get("/api/v1/status").json())
    assert rows["ap-01"] == {
        "ap_id": "ap-01",
        "name": "s-park ap-01",
        "site_id": "s-park",
        "site_name": "Riverside Park",
        "district": "d-north",
        "district_name": "North",
        "partner": "p-bank",
        "partner_name": "Bank of Example",
        "state": "up",
        "since": "2025-12-31T22:00:00Z",
        "last_seen": "2025-12-31T23:59:48Z",
        "clients": 12.0,  # the newest sample wins
        "uptime_s": 7188.0,
        "rx_bps": 2.5e6,
        "tx_bps": 1.25e6,
        "last_sample_at": "2025-12-31T23:59:48Z",
        "availability": 0.995,
        "degraded": False,
        "last_error": None,
    }
    # Only some metrics reported: the others are null, never a made-up zero.
    assert rows["ap-02"]["clients"] == 3.0
    assert rows["ap-02"]["rx_bps"] is None
    assert rows["ap-02"]["availability"] is None  # never counted: unknown, not 0 %
    # Zero is a value, not a gap.
    assert rows["ap-06"]["clients"] == 0.0


def test_down_ap_shows_no_live_figures_only_when_it_last_reported(client: TestClient) -> None:
    """ap-03 reported 7 clients 905 s ago, then went down: those are not current."""
    row = by_id(client.get("/api/v1/status").json())["ap-03"]
    assert row["state"] == "down"
    assert (row["clients"], row["uptime_s"], row["rx_bps"], row["tx_bps"]) == (None,) * 4
    assert row["last_sample_at"] == "2025-12-31T23:44:55Z"


def test_names_of_district_and_partner_are_joined(client: TestClient) -> None:
    rows = by_id(client.get("/api/v1/status").json())
    assert (rows["ap-03"]["district_name"], rows["ap-03"]["partner_name"]) == (
        "North",
        "Telco Ltd",
    )
    school = rows["ap-04"]  # a site with no partner
    assert (school["district_name"], school["partner"], school["partner_name"]) == (
        "South",
        None,
        None,
    )


def test_ap_without_status_row_is_unknown(client: TestClient) -> None:
    row = by_id(client.get("/api/v1/status").json())["ap-04"]
    assert row["state"] == "unknown"
    assert row["since"] is None
    assert row["last_seen"] is None
    assert row["clients"] is None
    assert row["partner"] is None


def test_summary_counts_whole_filtered_set_not_page(client: TestClient) -> None:
    body = client.get("/api/v1/status?limit=2&offset=1").json()
    assert [r["ap_id"] for r in body["data"]] == ["ap-02", "ap-03"]
    assert body["count"] == 5
    assert body["summary"] == {"up": 3, "down": 1, "unknown": 1, "total": 5}


@pytest.mark.parametrize(
    ("query", "expected", "summary"),
    [
        ("district=d-north", ["ap-01", "ap-02", "ap-03", "ap-06"], (3, 1, 0)),
        ("partner=p-telco", ["ap-03", "ap-06"], (1, 1, 0)),
        ("site=s-school", ["ap-04"], (0, 0, 1)),
        ("state=up", ["ap-01", "ap-02", "ap-06"], (3, 0, 0)),
        ("state=unknown", ["ap-04"], (0, 0, 1)),
        ("state=down&district=d-south", [], (0, 0, 0)),
        ("site=nowhere", [], (0, 0, 0)),
    ],
)
def test_status_filters(
    client: TestClient, query: str, expected: list[str], summary: tuple[int, int, int]
) -> None:
    body = client.get(f"/api/v1/status?{query}").json()
    assert [r["ap_id"] for r in body["data"]] == expected
    assert body["count"] == len(expected)
    up, down, unknown = summary
    assert body["summary"] == {"up": up, "down": down, "unknown": unknown, "total": len(expected)}


def test_status_invalid_state_is_422(client: TestClient) -> None:
    r = client.get("/api/v1/status?state=sideways")
    assert r.status_code == 422
    assert "query.state:" in r.json()["message"]


def test_status_store_down_is_503_with_message(client: TestClient, store: MetricStore) -> None:
    store.close()
    r = client.get("/api/v1/status")
    assert r.status_code == 503
    assert "metric store unavailable" in r.json()["message"]


@pytest.mark.parametrize(
    ("user", "query", "expected", "summary"),
    [
        ("partner", "", ["ap-01", "ap-02"], (2, 0, 0)),
        ("partner-telco", "", ["ap-03", "ap-06"], (1, 1, 0)),
        ("partner", "state=down", [], (0, 0, 0)),
        ("partner", "district=d-north&limit=1", ["ap-01"], (2, 0, 0)),
        ("partner", "partner=p-telco", [], (0, 0, 0)),
        ("partner", "site=s-market", [], (0, 0, 0)),
        ("partner", "district=d-south", [], (0, 0, 0)),  # only the city's own s-school
        ("planner", "", ["ap-01", "ap-02", "ap-03", "ap-04", "ap-06"], (3, 1, 1)),
    ],
)
def test_rows_and_counts_are_those_of_the_scope(
    client_as: ClientAs,
    user: str,
    query: str,
    expected: list[str],
    summary: tuple[int, int, int],
) -> None:
    """A partner's summary counts its own APs only: others' counts are never derivable."""
    body = client_as(user).get(f"/api/v1/status?{query}").json()
    assert [r["ap_id"] for r in body["data"]] == expected
    up, down, unknown = summary
    assert body["summary"] == {"up": up, "down": down, "unknown": unknown, "total": sum(summary)}
    assert body["count"] == sum(summary)


@pytest.mark.parametrize(
    ("user", "own", "others"),
    [
        ("partner", ("p-bank", "Bank of Example"), ("p-telco", "Telco Ltd", "s-market")),
        ("partner-telco", ("p-telco", "Telco Ltd"), ("p-bank", "Bank of Example", "s-park")),
    ],
)
def test_a_partner_never_sees_another_partners_names_or_ids(
    client_as: ClientAs, user: str, own: tuple[str, str], others: tuple[str, ...]
) -> None:
    caller = client_as(user)
    texts = [
        caller.get(url).text
        for url in ("/api/v1/status", "/api/v1/status?limit=5000", "/api/v1/sites", "/api/v1/aps")
    ]
    for text in texts:
        for other in (*others, "s-school", "Hill School"):
            assert other not in text
    rows = by_id(caller.get("/api/v1/status").json())
    assert {(r["partner"], r["partner_name"]) for r in rows.values()} == {own}


def test_status_needs_credentials(anon_client: TestClient) -> None:
    r = anon_client.get("/api/v1/status")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
