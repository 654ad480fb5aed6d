"""Users and tokens over the API: admins only, tokens shown once, every change audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.city import USERS


def audit_rows(client: TestClient, **filters: str) -> list[dict[str, Any]]:
    r = client.get("/api/v1/audit", params=filters)
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()["data"]
    return rows


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_list_users(client: TestClient) -> None:
    r = client.get("/api/v1/users")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == len(USERS)
    assert [u["name"] for u in body["data"]] == sorted(USERS)
    admin = body["data"][0]
    assert admin == {
        "name": "admin",
        "role": "admin",
        "partner": None,
        "disabled": False,
        "has_password": True,
        "created_at": "2026-01-01T00:00:00Z",
    }
    page = client.get("/api/v1/users", params={"partner": "p-bank", "limit": 1}).json()
    assert page == {"data": [page["data"][0]], "count": 1}
    assert page["data"][0]["name"] == "partner"


@pytest.mark.parametrize("name", ["engineer", "planner", "partner", "partner-telco"])
def test_only_admins_manage_users(client_as: Callable[[str], TestClient], name: str) -> None:
    c = client_as(name)
    for method, url in (
        ("GET", "/api/v1/users"),
        ("POST", "/api/v1/users"),
        ("GET", "/api/v1/users/admin"),
        ("POST", "/api/v1/users/admin/disable"),
        ("GET", "/api/v1/users/admin/tokens"),
        ("POST", "/api/v1/users/admin/tokens"),
        ("DELETE", "/api/v1/users/admin/tokens/1"),
    ):
        r = c.request(method, url, json={"name": "x", "role": "admin"})
        assert r.status_code == 403, (method, url)


def test_create_user_shows_its_token_once(client: TestClient, anon_client: TestClient) -> None:
    r = client.post(
        "/api/v1/users",
        json={"name": "noc.bot", "role": "engineer", "token_label": "grafana"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    token = body["token"]
    assert token.startswith("cw_")
    assert body["user"]["name"] == "noc.bot"
    assert body["user"]["has_password"] is False
    assert body["token_info"]["label"] == "grafana"
    assert body["token_info"]["expires_at"] is None
    me = anon_client.get("/api/v1/auth/me", headers=bearer(token)).json()
    assert (me["name"], me["role"]) == ("noc.bot", "engineer")
    listed = client.get("/api/v1/users/noc.bot/tokens")
    assert listed.json()["count"] == 1
    assert token not in listed.text
    assert token not in client.get("/api/v1/audit").text
    created = audit_rows(client, action="user_created")
    assert [(a["actor"], a["target"], a["address"]) for a in created] == [
        ("admin", "noc.bot", "testclient")
    ]
    assert created[0]["detail"] == "role engineer"
    (issued,) = audit_rows(client, action="token_created")
    assert (issued["target"], issued["detail"]) == (
        "noc.bot",
        f"token {body['token_info']['id']}",
    )


def test_a_user_created_with_a_password_can_log_in(
    client: TestClient, anon_client: TestClient
) -> None:
    password = "a-long-enough-passphrase"
    r = client.post(
        "/api/v1/users",
        json={"name": "acme", "role": "partner", "partner": "p-telco", "password": password},
    )
    assert r.status_code == 201
    assert password not in r.text
    assert r.json()["user"]["partner"] == "p-telco"
    login = anon_client.post("/api/v1/auth/login", json={"name": "acme", "password": password})
    assert login.status_code == 200
    assert login.json()["user"]["partner_name"] == "Telco Ltd"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "role": "partner"}, "partner"),
        ({"name": "x", "role": "partner", "partner": "p-nowhere"}, "partner"),
        ({"name": "x", "role": "engineer", "partner": "p-bank"}, "partner"),
        ({"name": "Bad Name", "role": "engineer"}, "name"),
        ({"name": "x" * 65, "role": "engineer"}, "name"),
        ({"name": "x", "role": "root"}, "role"),
        ({"name": "x", "role": "engineer", "password": "short-S3C"}, "password"),
        ({"name": "x", "role": "engineer", "expires_days": 0}, "expires_days"),
    ],
    ids=[
        "partner-without-partner",
        "unknown-partner",
        "engineer-with-partner",
        "bad-name",
        "long-name",
        "unknown-role",
        "short-password",
        "zero-days",
    ],
)
def test_bad_new_users_are_422(client: TestClient, body: dict[str, Any], field: str) -> None:
    r = client.post("/api/v1/users", json=body)
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["detail"]] == [["body", field]]
    assert "S3C" not in r.text
    assert client.get("/api/v1/users").json()["count"] == len(USERS)


def test_unknown_partner_says_so(client: TestClient) -> None:
    r = client.post("/api/v1/users", json={"name": "x", "role": "partner", "partner": "p-no"})
    assert r.json()["message"].startswith("body.partner: no partner 'p-no' in the inventory")


def test_a_taken_name_is_409(client: TestClient) -> None:
    r = client.post("/api/v1/users", json={"name": "planner", "role": "engineer"})
    assert r.status_code == 409
    assert r.json()["message"] == "a user named 'planner' exists"


def test_unknown_user_is_404(client: TestClient) -> None:
    for method, url in (
        ("GET", "/api/v1/users/nobody"),
        ("POST", "/api/v1/users/nobody/disable"),
        ("POST", "/api/v1/users/nobody/enable"),
        ("GET", "/api/v1/users/nobody/tokens"),
        ("POST", "/api/v1/users/nobody/tokens"),
        ("DELETE", "/api/v1/users/nobody/tokens/1"),
    ):
        r = client.request(method, url, json={})
        assert r.status_code == 404, (method, url)
        assert r.json()["message"] == "no user named 'nobody'"


def test_disable_and_enable(
    client: TestClient, anon_client: TestClient, tokens: dict[str, str], passwords: dict[str, str]
) -> None:
    planner = bearer(tokens["planner"])
    anon_client.post(
        "/api/v1/auth/login", json={"name": "planner", "password": passwords["planner"]}
    )
    assert anon_client.get("/api/v1/auth/me").status_code == 200  # a web session
    r = client.post("/api/v1/users/planner/disable")
    assert r.status_code == 200
    assert r.json()["disabled"] is True
    assert anon_client.get("/api/v1/auth/me", headers=planner).status_code == 401
    assert anon_client.get("/api/v1/auth/me").status_code == 401  # the session ended too
    assert client.post("/api/v1/users/planner/tokens", json={}).status_code == 409
    r = client.post("/api/v1/users/planner/enable")
    assert r.json()["disabled"] is False
    assert anon_client.get("/api/v1/auth/me", headers=planner).status_code == 200
    changes = [(a["action"], a["target"]) for a in audit_rows(client, actor="admin")]
    assert changes == [("user_enabled", "planner"), ("user_disabled", "planner")]


def test_an_admin_cannot_disable_themself(client: TestClient) -> None:
    r = client.post("/api/v1/users/admin/disable")
    assert r.status_code == 409
    assert r.json()["message"] == "you cannot disable your own account; another admin must do it"
    assert client.get("/api/v1/auth/me").status_code == 200
    assert audit_rows(client, action="user_disabled") == []


def test_tokens_issue_list_revoke(client: TestClient, anon_client: TestClient) -> None:
    r = client.post("/api/v1/users/engineer/tokens", json={"label": "laptop", "expires_days": 30})
    assert r.status_code == 201
    made = r.json()
    assert made["user"] == "engineer"
    assert made["label"] == "laptop"
    lifetime = datetime.fromisoformat(made["expires_at"]) - datetime.fromisoformat(
        made["created_at"]
    )
    assert lifetime == timedelta(days=30)
    token = made["token"]
    assert anon_client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
    listed = client.get("/api/v1/users/engineer/tokens").json()
    assert listed["count"] == 2  # the fixture's and this one
    assert "token" not in listed["data"][1]
    assert listed["data"][1]["id"] == made["id"]
    assert listed["data"][1]["last_used_at"] is not None
    r = client.delete(f"/api/v1/users/engineer/tokens/{made['id']}")
    assert r.status_code == 204
    assert anon_client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    revoked = client.get("/api/v1/users/engineer/tokens").json()["data"][1]
    assert revoked["revoked_at"] is not None
    rows = [(a["action"], a["target"], a["detail"]) for a in audit_rows(client, actor="admin")]
    assert rows == [
        ("token_revoked", "engineer", f"token {made['id']}"),
        ("token_created", "engineer", f"token {made['id']}"),
    ]


def test_revoking_another_users_token_is_404(
    client: TestClient, anon_client: TestClient, tokens: dict[str, str]
) -> None:
    planner_token = client.get("/api/v1/users/planner/tokens").json()["data"][0]["id"]
    r = client.delete(f"/api/v1/users/engineer/tokens/{planner_token}")
    assert r.status_code == 404
    assert r.json()["message"] == f"user 'engineer' has no token with id {planner_token}"
    assert client.delete("/api/v1/users/engineer/tokens/99999").status_code == 404
    assert client.delete("/api/v1/users/engineer/tokens/0").status_code == 422
    assert client.delete(f"/api/v1/users/engineer/tokens/{2**40}").status_code == 422
    planner = bearer(tokens["planner"])
    assert anon_client.get("/api/v1/auth/me", headers=planner).status_code == 200
    assert audit_rows(client, action="token_revoked") == []


@pytest.mark.parametrize(
    ("path", "allow"),
    [("/api/v1/users", "GET, POST"), ("/api/v1/users/admin/tokens", "GET, POST")],
)
def test_405_lists_every_method_of_the_path(client: TestClient, path: str, allow: str) -> None:
    """Two routes share each of these paths; the answer names the methods of both."""
    r = client.request("PUT", path)
    assert r.status_code == 405
    assert r.headers["Allow"] == allow
