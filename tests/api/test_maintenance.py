"""The maintenance routes on the fixture city (tests.api.city): create, read, list with
filters, change, end (delete or cut short), the rules as 422s naming the field, the 409s,
the audit rows, who may do what, each partner's view, and the sites' ``maintenance``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.deps import get_now
from tests.api.city import NOW

ClientAs = Callable[[str], TestClient]
HOUR = 3600.0
BASE = "/api/v1/maintenance"


@pytest.fixture
def clock(client: TestClient, now: float) -> Iterator[list[float]]:
    """The app's clock, at the fixture's now; set ``clock[0]`` to move it."""
    current = [now]
    client.app.dependency_overrides[get_now] = lambda: current[0]  # type: ignore[attr-defined]
    yield current
    client.app.dependency_overrides.pop(get_now, None)  # type: ignore[attr-defined]


def window(
    kind: str = "site", scope: str = "s-park", start: float = 0.0, end: float = HOUR, **more: Any
) -> dict[str, Any]:
    """A window body, times relative to the fixture's now (tests.api.city.NOW)."""
    return {
        "scope_kind": kind,
        "scope_id": scope,
        "starts_at": NOW + start,
        "ends_at": NOW + end,
        "reason": more.pop("reason", "replacing the switch"),
        **more,
    }


def created(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(BASE, json=body)
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


def listed(client: TestClient, **params: Any) -> list[int]:
    response = client.get(BASE, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["data"])
    return [w["id"] for w in body["data"]]


def test_create_then_read(client: TestClient, clock: list[float]) -> None:
    body = created(client, window(start=-60, end=HOUR))
    assert body == {
        "id": body["id"],
        "scope_kind": "site",
        "scope_id": "s-park",
        "state": "active",
        "starts_at": "2025-12-31T23:59:00Z",
        "ends_at": "2026-01-01T01:00:00Z",
        "reason": "replacing the switch",
        "created_by": "admin",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    assert client.get(f"{BASE}/{body['id']}").json() == body
    # ISO 8601 without an offset is UTC; epoch seconds work too.
    iso = created(client, {**window(), "starts_at": "2026-01-01T02:00:00", "ends_at": 1767236400})
    assert (iso["state"], iso["starts_at"], iso["ends_at"]) == (
        "scheduled", "2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (window(end=0), "ends_at"),
        (window(start=-2 * HOUR, end=-HOUR), "ends_at"),
        (window(end=32 * 24 * HOUR), "ends_at"),
        (window(scope="s-nowhere"), "scope_id"),
        (window(kind="district", scope="s-park"), "scope_id"),
        (window(reason=" "), "reason"),
        (window(reason="x" * 501), "reason"),
        (window(reason="fuse\x00box"), "reason"),  # PostgreSQL could not store it
        (window(kind="ap", scope="ap-01"), "scope_kind"),
        ({**window(), "starts_at": "soon"}, "starts_at"),
        ({**window(), "extra": 1}, "extra"),
    ],
)
def test_create_refuses_with_a_422_naming_the_field(
    client: TestClient, clock: list[float], body: dict[str, Any], field: str
) -> None:
    response = client.post(BASE, json=body)
    assert response.status_code == 422, response.text
    assert [error["loc"][:2] for error in response.json()["detail"]] == [["body", field]]
    assert listed(client) == []


def test_states_and_filters(client: TestClient, clock: list[float]) -> None:
    park = created(client, window(start=-60, end=HOUR))["id"]
    north = created(client, window("district", "d-north", start=HOUR, end=2 * HOUR))["id"]
    school = created(client, window(scope="s-school", start=-60, end=60))["id"]
    clock[0] += 120  # school's has ended
    assert listed(client) == [north, school, park]  # latest start first, then newest
    assert listed(client, state="active") == [park]
    assert listed(client, state="scheduled") == [north]
    assert listed(client, state="ended") == [school]
    assert listed(client, site="s-market") == [north]  # covered through its district
    assert listed(client, site="s-park") == [north, park]
    assert listed(client, district="d-north") == [north, park]
    assert listed(client, district="d-south") == [school]
    assert listed(client, site="s-nowhere") == []
    paged = client.get(BASE, params={"limit": 1, "offset": 1}).json()
    assert ([w["id"] for w in paged["data"]], paged["count"]) == ([school], 3)
    assert client.get(BASE, params={"state": "soon"}).status_code == 422


def test_change(client: TestClient, clock: list[float]) -> None:
    later = created(client, window(start=HOUR, end=2 * HOUR))["id"]
    moved = client.patch(
        f"{BASE}/{later}", json={"starts_at": "2026-01-01T03:00:00Z", "ends_at": 1767236400 + 3600}
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["starts_at"], moved.json()["ends_at"]) == (
        "2026-01-01T03:00:00Z", "2026-01-01T04:00:00Z",
    )  # fmt: skip
    bad = client.patch(f"{BASE}/{later}", json={"ends_at": "2026-01-01T02:00:00Z"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "ends_at"]
    running = created(client, window(start=-60, end=HOUR))["id"]
    assert client.patch(f"{BASE}/{running}", json={"starts_at": 0}).status_code == 409
    longer = client.patch(f"{BASE}/{running}", json={"ends_at": 1767225600 + 2 * HOUR})
    assert longer.status_code == 200 and longer.json()["ends_at"] == "2026-01-01T02:00:00Z"
    reason = client.patch(f"{BASE}/{running}", json={"reason": "and the antenna"})
    assert reason.json()["reason"] == "and the antenna"
    clock[0] += 3 * HOUR
    assert client.patch(f"{BASE}/{running}", json={"reason": "late"}).status_code == 409
    assert client.patch(f"{BASE}/999", json={"reason": "x"}).status_code == 404


def test_delete_ends_now(client: TestClient, clock: list[float]) -> None:
    later = created(client, window(start=HOUR, end=2 * HOUR))["id"]
    running = created(client, window(start=-60, end=HOUR))["id"]
    clock[0] += 30
    assert client.delete(f"{BASE}/{later}").status_code == 204
    assert client.get(f"{BASE}/{later}").status_code == 404  # never started: gone
    assert client.delete(f"{BASE}/{running}").status_code == 204
    cut = client.get(f"{BASE}/{running}").json()
    assert (cut["state"], cut["ends_at"]) == ("ended", "2026-01-01T00:00:30Z")
    assert client.delete(f"{BASE}/{running}").status_code == 409
    assert client.delete(f"{BASE}/999").status_code == 404


def test_every_change_is_audited(client: TestClient, clock: list[float]) -> None:
    made = created(client, window(start=-60, end=HOUR))["id"]
    client.patch(f"{BASE}/{made}", json={"reason": "new switch"})
    client.delete(f"{BASE}/{made}")
    client.patch(f"{BASE}/{made}", json={"reason": "refused"})  # 409: no row
    client.post(BASE, json=window(scope="s-nowhere"))  # 422: no row
    entries = client.get("/api/v1/audit", params={"limit": 10}).json()["data"]
    assert [(e["action"], e["actor"], e["target"], e["detail"]) for e in entries] == [
        (
            "maintenance_ended", "admin", f"maintenance {made}",
            "cut_short: site s-park 2025-12-31T23:59:00+00:00 .. 2026-01-01T00:00:00+00:00: "
            "new switch",
        ),
        (
            "maintenance_changed", "admin", f"maintenance {made}",
            "site s-park 2025-12-31T23:59:00+00:00 .. 2026-01-01T01:00:00+00:00: new switch",
        ),
        (
            "maintenance_created", "admin", f"maintenance {made}",
            "site s-park 2025-12-31T23:59:00+00:00 .. 2026-01-01T01:00:00+00:00: "
            "replacing the switch",
        ),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("user", "reads", "writes"),
    [
        ("engineer", 200, True),
        ("planner", 200, False),
        ("partner", 200, False),
        ("partner-telco", 200, False),
    ],
)
def test_roles(
    client: TestClient, client_as: ClientAs, clock: list[float], user: str, reads: int,
    writes: bool,
) -> None:  # fmt: skip
    me = client_as(user)
    made = created(client, window(scope="s-market" if user == "partner-telco" else "s-park"))
    assert me.get(BASE).status_code == reads
    assert me.get(f"{BASE}/{made['id']}").status_code == reads
    post = me.post(BASE, json=window(start=HOUR, end=2 * HOUR))
    patch = me.patch(f"{BASE}/{made['id']}", json={"reason": "by " + user})
    delete = me.delete(f"{BASE}/{made['id']}")
    if writes:
        assert (post.status_code, patch.status_code, delete.status_code) == (201, 200, 204)
        assert post.json()["created_by"] == user
    else:
        assert (post.status_code, patch.status_code, delete.status_code) == (403, 403, 403)


def test_anonymous_is_401(anon_client: TestClient) -> None:
    assert anon_client.get(BASE).status_code == 401
    assert anon_client.post(BASE, json=window()).status_code == 401


def test_a_partner_sees_only_windows_covering_its_sites_and_no_reason(
    client: TestClient, client_as: ClientAs, clock: list[float]
) -> None:
    park = created(client, window(scope="s-park"))["id"]  # p-bank
    market = created(client, window(scope="s-market"))["id"]  # p-telco
    north = created(client, window("district", "d-north"))["id"]  # both have a site there
    south = created(client, window("district", "d-south", reason="s-school roof"))["id"]
    school = created(client, window(scope="s-school"))["id"]  # the city's own
    bank, telco = client_as("partner"), client_as("partner-telco")
    assert listed(client) == [school, south, north, market, park]
    assert listed(bank) == [south, north, park]  # p-bank has s-planned in d-south
    assert listed(telco) == [north, market]
    assert all(w["reason"] is None for w in bank.get(BASE).json()["data"])
    # Another partner's window answers exactly like one that does not exist.
    other = bank.get(f"{BASE}/{market}")
    missing = bank.get(f"{BASE}/999999")
    assert other.status_code == missing.status_code == 404
    assert other.text.replace(str(market), "999999") == missing.text
    # Filters only narrow: naming the telco's site shows the bank nothing, not even d-north.
    assert listed(bank, site="s-market") == []
    assert listed(bank, site="s-park") == [north, park]
    assert listed(bank, district="d-north") == [north, park]


def test_sites_show_their_running_windows(
    client: TestClient, client_as: ClientAs, clock: list[float]
) -> None:
    own = created(client, window(scope="s-park", end=2 * HOUR))["id"]
    north = created(client, window("district", "d-north", end=HOUR))["id"]
    created(client, window(scope="s-school", start=HOUR, end=2 * HOUR))  # not running yet
    sites = {s["id"]: s["maintenance"] for s in client.get("/api/v1/sites").json()["data"]}
    why = "replacing the switch"
    assert sites == {
        "s-market": [{"id": north, "ends_at": "2026-01-01T01:00:00Z", "reason": why}],
        "s-park": [
            {"id": north, "ends_at": "2026-01-01T01:00:00Z", "reason": why},
            {"id": own, "ends_at": "2026-01-01T02:00:00Z", "reason": why},
        ],
        "s-planned": [],
        "s-school": [],
    }  # fmt: skip
    partner = client_as("partner").get("/api/v1/sites/s-park").json()["maintenance"]
    assert partner == [
        {"id": north, "ends_at": "2026-01-01T01:00:00Z", "reason": None},
        {"id": own, "ends_at": "2026-01-01T02:00:00Z", "reason": None},
    ]
    clock[0] += 3 * HOUR
    assert client.get("/api/v1/sites/s-park").json()["maintenance"] == []
