"""The incident routes on the fixture city's incidents (tests.api.city.seed_incidents):
lists and filters, one incident, acknowledge / resolve / notes with their conflicts and
audit rows, per-AP and per-site history, and each partner's share of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.deps import get_now
from tests.api.city import AREA_EXPLANATION

# The seeded incidents by id (see seed_incidents).
BANK_AP, TELCO_AP, AREA, SCHOOL, MERGED, OLD = 1, 2, 3, 4, 5, 6


@pytest.fixture
def clock(client: TestClient, now: float) -> Iterator[float]:
    """The app's clock fixed 60 s after the fixture's now."""
    client.app.dependency_overrides[get_now] = lambda: now + 60  # type: ignore[attr-defined]
    yield now + 60
    client.app.dependency_overrides.pop(get_now, None)  # type: ignore[attr-defined]


def ok(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def ids(body: dict[str, Any]) -> list[int]:
    assert body["count"] == len(body["data"])
    return [incident["id"] for incident in body["data"]]


def test_list_newest_first_with_counts(client: TestClient) -> None:
    body = ok(client, "/api/v1/incidents")
    assert ids(body) == [SCHOOL, MERGED, AREA, TELCO_AP, BANK_AP, OLD]
    area = body["data"][2]
    assert area["class"] == "area_outage" and area["scope_kind"] == "district"
    assert (area["scope_id"], area["district"], area["state"]) == ("d-north", "d-north", "open")
    assert (area["ap_count"], area["site_count"]) == (2, 2)
    assert area["responsible"] == "utility"
    assert area["explanation"] == AREA_EXPLANATION
    assert area["opened_at"] == "2025-12-31T23:53:20Z"
    old = body["data"][-1]
    assert (old["state"], old["verdict"], old["reopened"]) == ("resolved", None, 1)
    assert (old["resolved_by"], old["acknowledged_by"]) == ("engineer", None)
    merged = body["data"][1]
    assert (merged["state"], merged["merged_into"], merged["resolved_by"]) == (
        "resolved",
        AREA,
        None,
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"state": "open"}, [SCHOOL, AREA, TELCO_AP, BANK_AP]),
        ({"state": "resolved"}, [MERGED, OLD]),
        ({"class": "ap_down"}, [MERGED, TELCO_AP, BANK_AP]),
        ({"class": "site_down", "state": "resolved"}, [OLD]),
        ({"district": "d-south"}, [SCHOOL]),
        ({"district": "d-nowhere"}, []),
        # Still active, or resolved at or after: OLD was resolved 6800 s before now.
        ({"since": "2025-12-31T23:00:00Z"}, [SCHOOL, MERGED, AREA, TELCO_AP, BANK_AP]),
        ({"since": 0}, [SCHOOL, MERGED, AREA, TELCO_AP, BANK_AP, OLD]),
        ({"since": "1900-01-01T00:00:00Z"}, [SCHOOL, MERGED, AREA, TELCO_AP, BANK_AP, OLD]),
        ({"limit": 2, "offset": 1}, [MERGED, AREA]),
    ],
)
def test_list_filters(client: TestClient, params: dict[str, Any], expected: list[int]) -> None:
    body = client.get("/api/v1/incidents", params=params).json()
    assert [i["id"] for i in body["data"]] == expected
    if "limit" not in params:
        assert body["count"] == len(expected)


@pytest.mark.parametrize(
    "params", [{"state": "closed"}, {"class": "meteor"}, {"since": "soon"}, {"limit": 0}]
)
def test_bad_filters_are_422(client: TestClient, params: dict[str, Any]) -> None:
    assert client.get("/api/v1/incidents", params=params).status_code == 422


def test_one_incident_with_members_and_timeline(client: TestClient) -> None:
    body = ok(client, f"/api/v1/incidents/{AREA}")
    assert body["aps"] == [
        {"ap_id": "ap-01", "site_id": "s-park"},
        {"ap_id": "ap-03", "site_id": "s-market"},
    ]
    assert [(e["kind"], e["detail"]) for e in body["timeline"]] == [
        ("opened", AREA_EXPLANATION),
        ("evidence", "ap-01 (Bank of Example) down at -400 s, ap-03 (Telco Ltd) at -380 s"),
        ("ap_joined", "ap-01"),
        ("ap_joined", "ap-03"),
        ("merged_from", str(MERGED)),
    ]
    assert all(e["actor"] is None for e in body["timeline"])  # the engine's doing
    assert client.get("/api/v1/incidents/999").status_code == 404
    assert client.get("/api/v1/incidents/0").status_code == 422


def test_acknowledge_resolve_and_notes(client: TestClient, clock: float) -> None:
    acked = client.post(f"/api/v1/incidents/{AREA}/ack", json={"note": "crew sent"})
    assert acked.status_code == 200, acked.text
    body = acked.json()
    assert (body["state"], body["acknowledged_by"]) == ("acknowledged", "admin")
    assert body["acknowledged_at"] == "2026-01-01T00:01:00Z"
    assert body["timeline"][-1] == {
        "id": body["timeline"][-1]["id"],
        "at": "2026-01-01T00:01:00Z",
        "kind": "acknowledged",
        "actor": "admin",
        "detail": "crew sent",
    }
    again = client.post(f"/api/v1/incidents/{AREA}/ack")
    assert again.status_code == 409
    assert again.json()["message"] == f"incident {AREA} is already acknowledged by admin"

    resolved = client.post(f"/api/v1/incidents/{AREA}/resolve", json={"note": "power back"})
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["state"], resolved.json()["resolved_by"]) == ("resolved", "admin")
    for action in ("ack", "resolve"):
        late = client.post(f"/api/v1/incidents/{AREA}/{action}", json={})
        assert late.status_code == 409, late.text
        assert "is resolved" in late.json()["message"]

    nul = client.post(f"/api/v1/incidents/{AREA}/notes", json={"note": "a\x00b"})
    assert nul.status_code == 422, nul.text  # PostgreSQL cannot store a NUL: refused first
    assert nul.json()["detail"][0]["loc"] == ["body", "note"]
    noted = client.post(f"/api/v1/incidents/{AREA}/notes", json={"note": "post-mortem Friday"})
    assert noted.status_code == 200
    assert noted.json()["timeline"][-1]["kind"] == "note"
    assert client.post(f"/api/v1/incidents/{AREA}/notes", json={"note": ""}).status_code == 422
    assert client.post(f"/api/v1/incidents/{AREA}/notes", json={}).status_code == 422
    assert client.post("/api/v1/incidents/999/ack").status_code == 404

    audit = ok(client, "/api/v1/audit", limit=10)["data"]
    assert [(e["action"], e["actor"], e["target"], e["detail"]) for e in audit[:3]] == [
        ("incident_note", "admin", f"incident {AREA}", "post-mortem Friday"),
        ("incident_resolved", "admin", f"incident {AREA}", "power back"),
        ("incident_acknowledged", "admin", f"incident {AREA}", "crew sent"),
    ]
    assert len(audit) == 3  # the refused actions left no row


def test_a_refused_action_changes_nothing(client: TestClient, clock: float) -> None:
    before = ok(client, f"/api/v1/incidents/{OLD}")
    assert client.post(f"/api/v1/incidents/{OLD}/ack", json={"note": "x"}).status_code == 409
    assert ok(client, f"/api/v1/incidents/{OLD}") == before


def test_partners_and_planners_cannot_act(client_as: Callable[[str], TestClient]) -> None:
    for name in ("partner", "planner"):
        response = client_as(name).post(f"/api/v1/incidents/{BANK_AP}/ack")
        assert response.status_code == 403
    assert client_as("engineer").post(f"/api/v1/incidents/{BANK_AP}/ack").status_code == 200


def test_history_of_an_ap_and_a_site(client: TestClient) -> None:
    assert ids(ok(client, "/api/v1/aps/ap-01/incidents")) == [AREA, OLD]
    assert ids(ok(client, "/api/v1/aps/ap-03/incidents")) == [MERGED, AREA]
    assert ids(ok(client, "/api/v1/aps/ap-05/incidents")) == []
    assert ids(ok(client, "/api/v1/sites/s-market/incidents")) == [MERGED, AREA, TELCO_AP]
    page = ok(client, "/api/v1/sites/s-park/incidents", limit=1)
    assert page["count"] == 3 and [i["id"] for i in page["data"]] == [AREA]
    assert client.get("/api/v1/aps/ap-99/incidents").status_code == 404
    assert client.get("/api/v1/sites/s-nowhere/incidents").status_code == 404


# --- a partner's share ------------------------------------------------------------------


def test_each_partner_lists_only_incidents_with_its_aps(
    client_as: Callable[[str], TestClient],
) -> None:
    assert ids(ok(client_as("partner"), "/api/v1/incidents")) == [AREA, BANK_AP, OLD]
    assert ids(ok(client_as("partner-telco"), "/api/v1/incidents")) == [MERGED, AREA, TELCO_AP]
    for name, other in (("partner", TELCO_AP), ("partner-telco", OLD)):
        for incident in (other, SCHOOL):
            missing = client_as(name).get(f"/api/v1/incidents/{incident}")
            assert missing.status_code == 404
            assert missing.json()["message"] == f"no incident with id {incident}"


def test_a_partner_sees_its_share_of_a_shared_incident(
    client_as: Callable[[str], TestClient],
) -> None:
    bank = client_as("partner").get(f"/api/v1/incidents/{AREA}")
    assert bank.status_code == 200
    body = bank.json()
    assert body["aps"] == [{"ap_id": "ap-01", "site_id": "s-park"}]
    assert (body["ap_count"], body["site_count"]) == (1, 1)
    assert body["explanation"] == (
        "Area outage (likely power): 1 of your APs at 1 of your sites (s-park)."
    )
    assert [(e["kind"], e["detail"]) for e in body["timeline"]] == [
        ("opened", None),
        ("evidence", None),
        ("ap_joined", "ap-01"),
        ("merged_from", None),
    ]
    for foreign in ("ap-03", "s-market", "Central Market", "p-telco", "Telco", "2 sites"):
        assert foreign not in bank.text, foreign
    old = client_as("partner").get(f"/api/v1/incidents/{OLD}").text
    assert "s-market" not in old and "Telco" not in old  # a staff note naming them is hidden


def test_a_partners_history_routes_are_scoped(client_as: Callable[[str], TestClient]) -> None:
    telco = client_as("partner-telco")
    assert ids(ok(telco, "/api/v1/aps/ap-03/incidents")) == [MERGED, AREA]
    assert ids(ok(telco, "/api/v1/sites/s-market/incidents")) == [MERGED, AREA, TELCO_AP]
    assert telco.get("/api/v1/aps/ap-01/incidents").status_code == 404
    assert telco.get("/api/v1/sites/s-park/incidents").status_code == 404
    area = ok(telco, "/api/v1/aps/ap-03/incidents")["data"][1]
    assert (area["ap_count"], area["site_count"]) == (1, 1)
