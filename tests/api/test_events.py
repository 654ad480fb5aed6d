"""GET /api/v1/aps/{id}/events: an AP's state changes, newest first."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from core.states import ApState, PollCause, Transition
from inventory.db import open_inventory, transaction
from inventory.queries import record_transitions

UP, DOWN, UNKNOWN = ApState.UP, ApState.DOWN, ApState.UNKNOWN


@pytest.fixture
def events(settings: Settings, now: float) -> list[Transition]:
    """ap-03's history (oldest first): up, down on a timeout, up, down refused; and one
    event of ap-01, which must not show in ap-03's list."""
    history = [
        Transition("ap-03", UNKNOWN, UP, now - 4000, PollCause.ANSWERED),
        Transition("ap-03", UP, DOWN, now - 3000, PollCause.TIMEOUT, "no answer in 2 s"),
        Transition("ap-03", DOWN, UP, now - 2000, PollCause.ANSWERED),
        Transition("ap-03", UP, DOWN, now - 900, PollCause.REFUSED, "ICMP port unreachable"),
        Transition("ap-01", UNKNOWN, UP, now - 7200, PollCause.ANSWERED),
    ]
    engine = open_inventory(settings.db_url, create=False)
    with transaction(engine) as session:
        record_transitions(session, history)
    engine.dispose()
    return history


def test_events_newest_first_with_count(
    client: TestClient, events: list[Transition], now: float
) -> None:
    r = client.get("/api/v1/aps/ap-03/events")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 4
    assert [(e["from_state"], e["to_state"], e["cause"]) for e in body["data"]] == [
        ("up", "down", "refused"),
        ("down", "up", "answered"),
        ("up", "down", "timeout"),
        ("unknown", "up", "answered"),
    ]
    newest = body["data"][0]
    assert set(newest) == {"id", "ap_id", "at", "from_state", "to_state", "cause", "detail"}
    assert (newest["ap_id"], newest["at"], newest["detail"]) == (
        "ap-03",
        "2025-12-31T23:45:00Z",
        "ICMP port unreachable",
    )
    assert body["data"][1]["detail"] is None


def test_events_pagination(client: TestClient, events: list[Transition]) -> None:
    body = client.get("/api/v1/aps/ap-03/events?limit=2&offset=1").json()
    assert body["count"] == 4  # all of them, not the page
    assert [e["cause"] for e in body["data"]] == ["answered", "timeout"]
    assert client.get("/api/v1/aps/ap-03/events?limit=0").status_code == 422


def test_events_time_window(client: TestClient, events: list[Transition], now: float) -> None:
    # start inclusive, end exclusive; ISO 8601 or epoch seconds, as for series.
    body = client.get(
        "/api/v1/aps/ap-03/events",
        params={"start": "2025-12-31T23:10:00Z", "end": now - 900},
    ).json()
    assert body["count"] == 2
    assert [e["at"] for e in body["data"]] == ["2025-12-31T23:26:40Z", "2025-12-31T23:10:00Z"]
    since = client.get("/api/v1/aps/ap-03/events", params={"start": now - 900}).json()
    assert [e["cause"] for e in since["data"]] == ["refused"]


def test_events_bad_window_is_422(client: TestClient, now: float) -> None:
    r = client.get("/api/v1/aps/ap-03/events", params={"start": now, "end": now - 60})
    assert r.status_code == 422
    assert "must be after start" in r.json()["message"]
    bad = client.get("/api/v1/aps/ap-03/events?start=yesterday")
    assert bad.status_code == 422
    assert "not a time: 'yesterday'" in bad.json()["message"]


def test_events_of_an_ap_without_any(client: TestClient, events: list[Transition]) -> None:
    assert client.get("/api/v1/aps/ap-04/events").json() == {"data": [], "count": 0}


def test_events_unknown_ap_is_404(client: TestClient) -> None:
    r = client.get("/api/v1/aps/ap-99/events")
    assert r.status_code == 404
    assert r.json()["message"] == "no access point with id 'ap-99'"


def test_events_are_scoped(
    client_as: Callable[[str], TestClient], events: list[Transition]
) -> None:
    """ap-03 is p-telco's: its events for p-telco, a 404 for p-bank (as for no such AP)."""
    telco = client_as("partner-telco").get("/api/v1/aps/ap-03/events").json()
    assert telco["count"] == 4
    r = client_as("partner").get("/api/v1/aps/ap-03/events")
    assert (r.status_code, r.json()["message"]) == (404, "no access point with id 'ap-03'")
    assert client_as("partner").get("/api/v1/aps/ap-01/events").json()["count"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": 1e18}, "start"),
        ({"end": -5}, "end"),
        ({"start": "x" * 65}, "start"),
        ({"start": "inf"}, "start"),
    ],
)
def test_events_times_out_of_range_are_422(
    client: TestClient, params: dict[str, str | float], field: str
) -> None:
    r = client.get("/api/v1/aps/ap-03/events", params=params)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", field]
