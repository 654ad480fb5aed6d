"""Authentication: bearer tokens, the web login with its cookies and CSRF token, logout,
the login rate limit, and that every API route sits behind the one principal dependency."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import CSRF_COOKIE, CSRF_HEADER, NOT_AUTHENTICATED, SESSION_COOKIE
from api.deps import get_now
from core.settings import Settings

PUBLIC = {
    "/healthz", "/api/v1/auth/login", "/", "/docs", "/redoc", "/openapi.json", "/public/hotspots",
    "/public/report-challenge", "/public/reports",
}  # fmt: skip


class Clock:
    """The app's clock (``api.deps.get_now``), moved by the test instead of sleeping."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(client: TestClient, now: float) -> Iterator[Clock]:
    found = Clock(now)
    client.app.dependency_overrides[get_now] = found  # type: ignore[attr-defined]
    yield found
    client.app.dependency_overrides.pop(get_now, None)  # type: ignore[attr-defined]


def login(c: TestClient, name: str, password: str) -> Any:
    return c.post("/api/v1/auth/login", json={"name": name, "password": password})


def audit_rows(client: TestClient, **filters: str) -> list[dict[str, Any]]:
    r = client.get("/api/v1/audit", params=filters)
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()["data"]
    return rows


def with_cookie(c: TestClient, cookie: str) -> TestClient:
    """Another browser of the same app holding only this session cookie."""
    return TestClient(c.app, cookies={SESSION_COOKIE: cookie})


def _assert_401(r: Any) -> None:
    assert r.status_code == 401, r.text
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert r.json() == {"detail": NOT_AUTHENTICATED, "message": NOT_AUTHENTICATED}


# --- bearer tokens ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer cw_not-a-real-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic YWRtaW46eA=="},
        {"Authorization": "Bearer " + "x" * 5000},
    ],
    ids=["none", "unknown", "empty", "basic", "huge"],
)
def test_no_valid_token_is_401_with_one_message(
    anon_client: TestClient, headers: dict[str, str]
) -> None:
    _assert_401(anon_client.get("/api/v1/status", headers=headers))


def test_token_is_never_read_from_the_url(anon_client: TestClient, tokens: dict[str, str]) -> None:
    for key in ("token", "access_token", "api_key"):
        _assert_401(anon_client.get("/api/v1/status", params={key: tokens["admin"]}))


def test_a_bearer_token_works(client_as: Callable[[str], TestClient]) -> None:
    r = client_as("engineer").get("/api/v1/auth/me")
    assert r.status_code == 200
    assert r.json() == {
        "name": "engineer",
        "role": "engineer",
        "partner": None,
        "partner_name": None,
        "permissions": [
            "citizen-reports:file",
            "citizen-reports:read",
            "coverage:plan",
            "coverage:read",
            "incidents:act",
            "incidents:read",
            "inventory:read",
            "maintenance:manage",
            "notifications:read",
            "reports:read",
            "sessions:identify",
            "sessions:read",
            "status:read",
            "work-orders:manage",
        ],
    }


def test_me_of_a_partner_names_its_partner(client_as: Callable[[str], TestClient]) -> None:
    body = client_as("partner").get("/api/v1/auth/me").json()
    assert (body["role"], body["partner"], body["partner_name"]) == (
        "partner",
        "p-bank",
        "Bank of Example",
    )


def test_a_role_without_the_permission_is_403(client_as: Callable[[str], TestClient]) -> None:
    r = client_as("planner").get("/api/v1/users")
    assert r.status_code == 403
    assert r.json()["message"] == "role planner may not users:manage"


def test_expired_token_is_401(client: TestClient, anon_client: TestClient, clock: Clock) -> None:
    made = client.post("/api/v1/users/engineer/tokens", json={"expires_days": 1})
    assert made.status_code == 201
    bearer = {"Authorization": f"Bearer {made.json()['token']}"}
    assert anon_client.get("/api/v1/auth/me", headers=bearer).status_code == 200
    clock.t += 86_400
    _assert_401(anon_client.get("/api/v1/auth/me", headers=bearer))


def test_a_bad_token_is_refused_even_with_a_good_cookie(
    anon_client: TestClient, passwords: dict[str, str]
) -> None:
    assert login(anon_client, "engineer", passwords["engineer"]).status_code == 200
    assert anon_client.get("/api/v1/auth/me").status_code == 200
    _assert_401(anon_client.get("/api/v1/auth/me", headers={"Authorization": "Bearer cw_nope"}))


# --- one choke point -------------------------------------------------------------------


def test_every_operation_but_the_public_ones_needs_credentials(
    anon_client: TestClient,
) -> None:
    """Judged by behaviour, not by FastAPI's internals: every operation the schema lists
    answers 401 to a caller without credentials, before reading its inputs."""
    schema = anon_client.get("/openapi.json").json()
    checked = 0
    for path, operations in schema["paths"].items():
        if path in PUBLIC:
            continue
        for method in operations:
            url = re.sub(r"\{[^}]+\}", "1", path)
            _assert_401(anon_client.request(method, url, json={}))
            checked += 1
    assert checked >= 15
    for public in ("/healthz", "/", "/docs", "/redoc", "/openapi.json", "/static/app.js"):
        assert anon_client.get(public).status_code == 200, public


def test_openapi_declares_both_schemes_and_the_errors(anon_client: TestClient) -> None:
    schema = anon_client.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearer"]["description"],
    }
    assert (schemes["session"]["in"], schemes["session"]["name"]) == ("cookie", SESSION_COOKIE)
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            codes = set(op["responses"])
            if path in PUBLIC:
                assert "security" not in op, path
                continue
            assert op["security"] == [{"bearer": []}, {"session": []}], (method, path)
            assert {"401", "403"} <= codes, (method, path)
            assert op["responses"]["401"]["headers"]["WWW-Authenticate"]
            if "{" in path:
                assert "404" in codes, (method, path)
            if op.get("parameters") or op.get("requestBody"):
                assert "422" in codes, (method, path)
    login_op = schema["paths"]["/api/v1/auth/login"]["post"]
    assert {"200", "401", "422", "429"} <= set(login_op["responses"])
    assert login_op["responses"]["429"]["headers"]["Retry-After"]


# --- the web login -----------------------------------------------------------------------


def test_login_sets_both_cookies_and_answers_the_user(
    anon_client: TestClient, passwords: dict[str, str]
) -> None:
    r = login(anon_client, "partner", passwords["partner"])
    assert r.status_code == 200
    body = r.json()
    assert body["user"]["name"] == "partner"
    assert body["user"]["partner_name"] == "Bank of Example"
    assert body["csrf_token"] == anon_client.cookies[CSRF_COOKIE]
    cookies = {c.split("=", 1)[0]: c.lower() for c in r.headers.get_list("set-cookie")}
    session, csrf = cookies[SESSION_COOKIE], cookies[CSRF_COOKIE]
    for cookie in (session, csrf):
        assert "samesite=strict" in cookie and "path=/" in cookie
        assert "max-age=43200" in cookie  # settings.session_ttl_s
        assert "secure" not in cookie  # cookie_secure is off by default
    assert "httponly" in session
    assert "httponly" not in csrf  # the page's script reads it
    assert passwords["partner"] not in r.text
    assert anon_client.get("/api/v1/auth/me").json()["name"] == "partner"


def test_cookies_are_secure_when_configured(settings: Settings, passwords: dict[str, str]) -> None:
    secure = settings.model_copy(update={"cookie_secure": True})
    with TestClient(create_app(secure)) as c:
        r = login(c, "admin", passwords["admin"])
    assert r.status_code == 200
    cookies = r.headers.get_list("set-cookie")
    assert len(cookies) == 2
    assert all("secure" in c.lower() for c in cookies)


def test_login_is_audited_with_the_client_address(
    client: TestClient, anon_client: TestClient, passwords: dict[str, str]
) -> None:
    assert login(anon_client, "planner", passwords["planner"]).status_code == 200
    (row,) = audit_rows(client, action="login")
    assert (row["actor"], row["address"]) == ("planner", "testclient")


def test_wrong_password_and_unknown_name_look_the_same(
    client: TestClient, anon_client: TestClient
) -> None:
    wrong = login(anon_client, "admin", "not-the-password")
    unknown = login(anon_client, "nobody", "not-the-password")
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert r.json() == {"detail": "wrong name or password", "message": "wrong name or password"}
        assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
        assert "not-the-password" not in r.text
    failed = audit_rows(client, action="login_failed")
    assert [(row["actor"], row["address"]) for row in failed] == [
        ("nobody", "testclient"),
        ("admin", "testclient"),
    ]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_login_takes_json_only(
    anon_client: TestClient, passwords: dict[str, str], content_type: str | None
) -> None:
    """A cross-site form can send text/plain or a form but not JSON: refusing them means
    no other site can log a visitor in (as anyone) behind their back."""
    body = json.dumps({"name": "admin", "password": passwords["admin"]})
    headers = {"Content-Type": content_type} if content_type else {}
    r = anon_client.post("/api/v1/auth/login", content=body, headers=headers)
    assert r.status_code == 422
    assert passwords["admin"] not in r.text
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a" * 65, "password": "x"},
        {"name": "admin", "password": "S3CRET-pw" + "x" * 1100},
        {"password": "S3CRET-pw"},
        {"name": "admin", "password": "S3CRET-pw", "extra": 1},
        {"name": "", "password": "S3CRET-pw"},
    ],
    ids=["long-name", "long-password", "no-name", "extra-field", "empty-name"],
)
def test_bad_login_bodies_are_422_without_the_password(
    anon_client: TestClient, body: dict[str, Any]
) -> None:
    r = anon_client.post("/api/v1/auth/login", json=body)
    assert r.status_code == 422
    assert "S3CRET-pw" not in r.text


def test_logins_are_limited_per_name(
    client: TestClient,
    anon_client: TestClient,
    passwords: dict[str, str],
    settings: Settings,
    clock: Clock,
) -> None:
    start = clock.t
    for _ in range(settings.login_max_failures_per_user):
        assert login(anon_client, "engineer", "wrong-password").status_code == 401
        clock.t += 1
    limited = login(anon_client, "engineer", passwords["engineer"])  # right, but refused
    assert limited.status_code == 429
    # The oldest failure leaves the window at start + window; one more try is allowed then.
    retry = start + settings.login_window_s - clock.t
    assert limited.headers["Retry-After"] == str(int(retry))
    assert limited.json()["message"] == f"too many failed logins: try again in {retry:.0f} s"
    assert SESSION_COOKIE not in limited.headers.get("set-cookie", "")
    # Other names from the same address are not limited by this one.
    assert login(anon_client, "planner", passwords["planner"]).status_code == 200
    assert [r["actor"] for r in audit_rows(client, action="login_limited")] == ["engineer"]
    clock.t = start + settings.login_window_s + 0.5
    assert login(anon_client, "engineer", passwords["engineer"]).status_code == 200


def test_logins_are_limited_per_address(
    settings: Settings, passwords: dict[str, str], now: float
) -> None:
    strict = settings.model_copy(update={"login_max_failures_per_address": 3})
    app = create_app(strict)
    app.dependency_overrides[get_now] = Clock(now)
    with TestClient(app) as c:
        for name in ("guess1", "guess2", "admin"):
            assert login(c, name, "wrong-password").status_code == 401
        r = login(c, "planner", passwords["planner"])  # another name, the same address
    assert r.status_code == 429
    assert r.headers["Retry-After"] == str(int(strict.login_window_s))


# --- the session cookie: CSRF, expiry, logout ----------------------------------------------


def test_unsafe_cookie_requests_need_the_csrf_token(
    anon_client: TestClient, passwords: dict[str, str]
) -> None:
    csrf = login(anon_client, "admin", passwords["admin"]).json()["csrf_token"]
    assert anon_client.get("/api/v1/users").status_code == 200  # safe: no token needed
    for headers in ({}, {CSRF_HEADER: "wrong"}, {CSRF_HEADER: ""}):
        r = anon_client.post("/api/v1/users/engineer/tokens", json={}, headers=headers)
        assert r.status_code == 403
        assert CSRF_HEADER in r.json()["message"]
    r = anon_client.post("/api/v1/users/engineer/tokens", json={}, headers={CSRF_HEADER: csrf})
    assert r.status_code == 201


def test_bearer_requests_need_no_csrf_token(client: TestClient) -> None:
    assert client.post("/api/v1/users/engineer/tokens", json={}).status_code == 201


def test_a_session_ends_after_its_ttl(
    anon_client: TestClient, passwords: dict[str, str], settings: Settings, clock: Clock
) -> None:
    assert login(anon_client, "planner", passwords["planner"]).status_code == 200
    clock.t += settings.session_ttl_s - 1
    assert anon_client.get("/api/v1/auth/me").status_code == 200
    clock.t += 1
    _assert_401(anon_client.get("/api/v1/auth/me"))


def test_logout_ends_the_session_and_clears_both_cookies(
    client: TestClient, anon_client: TestClient, passwords: dict[str, str]
) -> None:
    csrf = login(anon_client, "engineer", passwords["engineer"]).json()["csrf_token"]
    cookie = anon_client.cookies[SESSION_COOKIE]
    assert with_cookie(anon_client, cookie).get("/api/v1/auth/me").status_code == 200
    r = anon_client.post("/api/v1/auth/logout", headers={CSRF_HEADER: csrf})
    assert r.status_code == 204
    cleared = {c.split("=", 1)[0]: c for c in r.headers.get_list("set-cookie")}
    assert set(cleared) == {SESSION_COOKIE, CSRF_COOKIE}
    assert all("Max-Age=0" in c for c in cleared.values())
    assert SESSION_COOKIE not in anon_client.cookies
    # The old cookie is dead server side, not only forgotten by this browser.
    _assert_401(with_cookie(anon_client, cookie).get("/api/v1/auth/me"))
    (row,) = audit_rows(client, action="logout")
    assert (row["actor"], row["address"]) == ("engineer", "testclient")


def test_logout_needs_the_csrf_token(anon_client: TestClient, passwords: dict[str, str]) -> None:
    login(anon_client, "engineer", passwords["engineer"])
    assert anon_client.post("/api/v1/auth/logout").status_code == 403
    assert anon_client.get("/api/v1/auth/me").status_code == 200


def test_logout_with_a_token_is_a_harmless_204(client: TestClient) -> None:
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 200  # the token still works
    assert audit_rows(client, action="logout") == []


def test_a_new_login_replaces_the_old_session(
    anon_client: TestClient, passwords: dict[str, str]
) -> None:
    login(anon_client, "engineer", passwords["engineer"])
    first = anon_client.cookies[SESSION_COOKIE]
    login(anon_client, "planner", passwords["planner"])
    assert anon_client.cookies[SESSION_COOKIE] != first
    _assert_401(with_cookie(anon_client, first).get("/api/v1/auth/me"))
    assert anon_client.get("/api/v1/auth/me").json()["name"] == "planner"
