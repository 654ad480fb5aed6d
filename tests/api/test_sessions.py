"""``/api/v1/sessions`` and ``/api/v1/sessions/summary``: hotspot sessions and their
aggregates, by role and partner, over the fixture city's stored sessions
(tests/fixtures/sessions.py: p-bank 4 sessions, p-telco 1, the city's own 1)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.deps import get_now
from tests.fixtures.sessions import CITY_SESSIONS, GIB, fake_hash

SESSIONS = "/api/v1/sessions"
SUMMARY = "/api/v1/sessions/summary"
JANUARY = "2025-12-31T17:00:00Z"  # 2026-01-01 00:00 in Jakarta, the city's time zone
ROLES = ("admin", "engineer", "planner", "partner", "partner-telco")


@pytest.fixture
def clock(client: TestClient, now: float) -> Iterator[None]:
    """The app's clock at the fixture's now (07:00 on January 1st in Jakarta)."""
    client.app.dependency_overrides[get_now] = lambda: now  # type: ignore[attr-defined]
    yield
    client.app.dependency_overrides.pop(get_now, None)  # type: ignore[attr-defined]


def listed(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get(SESSIONS, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def nas_ids(body: dict[str, Any], now: float) -> list[str]:
    """The fixture's Acct-Session-Id of each row, found by AP and start (the API does not
    show the NAS's id)."""
    by_start = {(r.ap, now - r.started): r.nas_id for r in CITY_SESSIONS}
    return [
        by_start[(row["ap"], datetime.fromisoformat(row["started_at"]).timestamp())]
        for row in body["data"]
    ]


def test_admin_lists_every_session_newest_first(client: TestClient, now: float) -> None:
    body = listed(client)
    assert body["count"] == len(CITY_SESSIONS) == len(body["data"])
    assert nas_ids(body, now) == ["80000005", "80000004", "80000003", "80000002", "80000001"]
    big = body["data"][3]
    assert big == {
        "id": big["id"],
        "ap": "ap-01",
        "site": "s-park",
        "partner": "p-bank",
        "state": "closed",
        "started_at": "2025-12-31T22:00:00Z",
        "updated_at": "2025-12-31T23:00:00Z",
        "stopped_at": "2025-12-31T23:00:00Z",
        "duration_s": 3600.0,
        "bytes_up": 5 * GIB,  # above 4 GiB: the gigawords are in
        "bytes_down": GIB,
        "terminate_cause": "User-Request",
        "user_hash": fake_hash("citizen-1"),
        "station_hash": fake_hash("phone-a"),
    }
    latest = body["data"][0]
    assert (latest["state"], latest["stopped_at"], latest["user_hash"]) == ("open", None, None)


@pytest.mark.parametrize(
    ("user", "hashes"),
    [("admin", True), ("engineer", True), ("planner", False), ("partner", False)],
)
def test_hashes_only_for_admin_and_engineer(
    client_as: Callable[[str], TestClient], user: str, hashes: bool
) -> None:
    rows = listed(client_as(user))["data"]
    assert rows
    shown = [row["station_hash"] is not None for row in rows]
    assert shown == [hashes] * len(rows)
    if not hashes:
        assert all(row["user_hash"] is None for row in rows)
        text = client_as(user).get(SESSIONS).text
        assert fake_hash("phone-a") not in text and fake_hash("citizen-1") not in text


@pytest.mark.parametrize("user", ROLES)
def test_every_role_may_read(client_as: Callable[[str], TestClient], user: str) -> None:
    assert client_as(user).get(SESSIONS).status_code == 200
    assert client_as(user).get(SUMMARY).status_code == 200


def test_without_credentials_401(anon_client: TestClient) -> None:
    for path in (SESSIONS, SUMMARY):
        response = anon_client.get(path)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_partner_sees_its_own_sessions_only(client_as: Callable[[str], TestClient]) -> None:
    bank = client_as("partner")
    body = listed(bank)
    assert body["count"] == 3
    assert {row["partner"] for row in body["data"]} == {"p-bank"}
    assert {row["ap"] for row in body["data"]} == {"ap-01", "ap-02"}
    telco = listed(client_as("partner-telco"))
    assert [row["ap"] for row in telco["data"]] == ["ap-03"]
    # Naming another partner's ids narrows to nothing, exactly like ids that do not exist.
    for params in ({"partner": "p-telco"}, {"ap": "ap-03"}, {"site": "s-market"},
                   {"site": "s-school"}, {"ap": "ap-nowhere"}):  # fmt: skip
        assert listed(bank, **params) == {"data": [], "count": 0}, params


def test_filters(client: TestClient, now: float) -> None:
    assert nas_ids(listed(client, ap="ap-01"), now) == ["80000002", "80000001"]
    assert nas_ids(listed(client, site="s-school"), now) == ["80000004"]
    assert nas_ids(listed(client, partner="p-telco"), now) == ["80000003"]
    assert nas_ids(listed(client, state="open"), now) == ["80000005"]
    assert nas_ids(listed(client, state="lost"), now) == ["80000003"]
    assert listed(client, state="closed")["count"] == 3


def test_a_window_selects_the_sessions_overlapping_it(client: TestClient, now: float) -> None:
    # [now-4500, now-3500): the lost one (now-5000 .. now-4000) and the one that ran
    # now-7200 .. now-3600; not the one that began at now-3000, nor December's.
    body = listed(client, start=now - 4500, end=now - 3500)
    assert sorted(nas_ids(body, now)) == ["80000002", "80000003"]
    # An open session lasts until now: any window from its start on overlaps it.
    assert "80000005" in nas_ids(listed(client, start=now - 30), now)
    # ISO 8601 works as well as epoch seconds.
    assert nas_ids(listed(client, end="2025-12-25T00:00:00Z"), now) == ["80000001"]


def test_paging(client: TestClient, now: float) -> None:
    first = listed(client, limit=2)
    second = listed(client, limit=2, offset=2)
    assert first["count"] == second["count"] == 5
    assert nas_ids(first, now) + nas_ids(second, now) == [
        "80000005", "80000004", "80000003", "80000002"
    ]  # fmt: skip


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2026-01-01T00:00:00Z", "end": "2025-12-01T00:00:00Z"},
        {"state": "gone"},
        {"ap": "x" * 65},
        {"limit": 0},
        {"start": "yesterday"},
    ],
)
def test_bad_parameters_are_422(client: TestClient, params: dict[str, Any]) -> None:
    response = client.get(SESSIONS, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["message"]


# --- summary -------------------------------------------------------------------------


def summary(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get(SUMMARY, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["count"] == len(body["data"])
    return body


def test_summary_by_site_over_the_city_month(client: TestClient, clock: None) -> None:
    """By default the city's month so far (Jakarta): January's four sessions, not
    December's."""
    body = summary(client, by="site")
    assert (body["by"], body["start"], body["end"]) == ("site", JANUARY, "2026-01-01T00:00:00Z")
    assert body["data"] == [
        {"group": "s-market", "sessions": 1, "users": 1, "devices": 1,
         "duration_total_s": 1000.0, "duration_median_s": 1000.0,
         "bytes_up": 5_000, "bytes_down": 6_000},
        # The open session counts in time so far, not in the median (it has not ended);
        # users: citizen-1 by name, and phone-b, which sent none.
        {"group": "s-park", "sessions": 2, "users": 2, "devices": 2,
         "duration_total_s": 4140.0, "duration_median_s": 3600.0,
         "bytes_up": 5 * GIB + 1_000, "bytes_down": GIB + 2_000},
        {"group": "s-school", "sessions": 1, "users": 1, "devices": 1,
         "duration_total_s": 1800.0, "duration_median_s": 1800.0,
         "bytes_up": 10_000, "bytes_down": 20_000},
    ]  # fmt: skip


def test_summary_of_the_city(client: TestClient, clock: None) -> None:
    (city,) = summary(client)["data"]
    # citizen-1 logged in at ap-01 and ap-04: one user; three devices.
    assert city == {
        "group": "city", "sessions": 4, "users": 3, "devices": 3,
        "duration_total_s": 6940.0, "duration_median_s": 1800.0,
        "bytes_up": 5 * GIB + 16_000, "bytes_down": GIB + 28_000,
    }  # fmt: skip


def test_summary_default_start_is_the_city_month_that_end_closes(client: TestClient) -> None:
    # An end at midnight in Jakarta closes the month before: December, with its one session.
    body = summary(client, end=JANUARY)
    assert (body["start"], body["end"]) == ("2025-11-30T17:00:00Z", JANUARY)
    assert [(row["group"], row["sessions"]) for row in body["data"]] == [("city", 1)]
    # The last second the API takes is already in year 10000 in Jakarta: no error.
    last = summary(client, end="9999-12-31T23:59:59Z")
    assert (last["start"], last["data"]) == ("9999-11-30T17:00:00Z", [])


def test_summary_by_partner_puts_the_city_own_last(client: TestClient, now: float) -> None:
    body = summary(client, by="partner", start=JANUARY, end=now + 1)
    assert [(row["group"], row["sessions"]) for row in body["data"]] == [
        ("p-bank", 2), ("p-telco", 1), (None, 1)
    ]  # fmt: skip


def test_summary_over_two_months_adds_the_monthly_counts(client: TestClient, now: float) -> None:
    body = summary(client, by="ap", ap="ap-01", start=now - 11 * 86_400, end=now)
    (ap,) = body["data"]
    assert (ap["group"], ap["sessions"], ap["users"], ap["devices"]) == ("ap-01", 2, 2, 2)


def test_summary_of_a_partner_is_its_own(
    client_as: Callable[[str], TestClient], client: TestClient, clock: None
) -> None:
    bank = client_as("partner")
    assert [row["group"] for row in summary(bank, by="site")["data"]] == ["s-park"]
    assert [row["group"] for row in summary(bank, by="partner")["data"]] == ["p-bank"]
    (own,) = summary(bank)["data"]
    assert own == summary(client, partner="p-bank")["data"][0]
    assert own["sessions"] == 2
    for params in ({"partner": "p-telco"}, {"site": "s-market"}, {"ap": "ap-04"}):
        assert all(row["sessions"] == 0 for row in summary(bank, **params)["data"]), params


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "end"),
        ({"start": "2024-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "start"),
        ({"by": "district"}, "by"),
    ],
)
def test_summary_bad_parameters_are_422(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    response = client.get(SUMMARY, params=params)
    assert response.status_code == 422, response.text
    assert [error["loc"] for error in response.json()["detail"]] == [["query", field]]
