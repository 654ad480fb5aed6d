"""GET /api/v1/audit: admins read who did what, when and from where, newest first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient


def _login(c: TestClient, name: str, password: str) -> int:
    r = c.post("/api/v1/auth/login", json={"name": name, "password": password})
    return r.status_code


@pytest.fixture
def logged(anon_client: TestClient, passwords: dict[str, str]) -> None:
    """Three logins: planner ok, engineer wrong, engineer ok."""
    assert _login(anon_client, "planner", passwords["planner"]) == 200
    assert _login(anon_client, "engineer", "wrong-password") == 401
    assert _login(anon_client, "engineer", passwords["engineer"]) == 200


def test_entries_newest_first(client: TestClient, logged: None) -> None:
    r = client.get("/api/v1/audit")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 3
    assert [(e["action"], e["actor"]) for e in body["data"]] == [
        ("login", "engineer"),
        ("login_failed", "engineer"),
        ("login", "planner"),
    ]
    first = body["data"][-1]
    assert set(first) == {"id", "at", "actor", "action", "target", "address", "detail"}
    assert first["address"] == "testclient"
    assert first["at"].endswith("Z")


def test_filters_and_pages(client: TestClient, logged: None) -> None:
    def get(**params: Any) -> dict[str, Any]:
        r = client.get("/api/v1/audit", params=params)
        assert r.status_code == 200, r.text
        found: dict[str, Any] = r.json()
        return found

    assert get(action="login")["count"] == 2
    assert get(actor="engineer")["count"] == 2
    assert get(action="login", actor="engineer")["count"] == 1
    page = get(limit=1, offset=1)
    assert page["count"] == 3
    assert [e["action"] for e in page["data"]] == ["login_failed"]
    newest = get(limit=1)["data"][0]["at"]
    assert get(start=newest)["count"] >= 1
    assert get(end="1970-01-02T00:00:00Z")["count"] == 0
    assert get(start="2999-01-01T00:00:00Z")["count"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"action": "nothing"},
        {"actor": "a" * 65},
        {"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
        {"start": "yesterday"},
        {"limit": 0},
        {"offset": -1},
        {"offset": 2**63},
    ],
    ids=["action", "actor", "window", "start", "limit", "offset", "huge-offset"],
)
def test_bad_queries_are_422(client: TestClient, params: dict[str, Any]) -> None:
    assert client.get("/api/v1/audit", params=params).status_code == 422


@pytest.mark.parametrize("name", ["engineer", "planner", "partner"])
def test_only_admins_read_it(client_as: Callable[[str], TestClient], name: str) -> None:
    r = client_as(name).get("/api/v1/audit")
    assert r.status_code == 403
    assert r.json()["message"] == f"role {name} may not audit:read"


def test_anonymous_is_401(anon_client: TestClient) -> None:
    assert anon_client.get("/api/v1/audit").status_code == 401
