"""Security headers and the content security policy, on every kind of response."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.headers import CSP, HEADERS


def _has_security_headers(r: Any) -> None:
    for name, value in HEADERS.items():
        assert r.headers[name] == value, name
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["X-Frame-Options"] == "DENY"


def test_the_policy_is_the_agreed_one() -> None:
    assert CSP == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
        "object-src 'none'"
    )
    assert "unsafe" not in CSP


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/static/app.js", 200),
        ("/static/style.css", 200),
        ("/static/nope.js", 404),
        ("/healthz", 200),
        ("/public/hotspots", 200),
        ("/openapi.json", 200),
        ("/nowhere", 404),
    ],
)
def test_pages_files_and_errors_carry_them(anon_client: TestClient, path: str, status: int) -> None:
    r = anon_client.get(path)
    assert r.status_code == status
    _has_security_headers(r)
    assert r.headers["Content-Security-Policy"] == CSP
    assert r.headers.get("Cache-Control") != "no-store"  # not an /api/ answer


def test_the_page_keeps_its_own_cache_rule(anon_client: TestClient) -> None:
    assert anon_client.get("/").headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/status", 200),
        ("/api/v1/aps/nope", 404),
        ("/api/v1/aps?limit=0", 422),
        ("/api/v1/nothing", 404),
    ],
)
def test_api_answers_are_not_stored(client: TestClient, path: str, status: int) -> None:
    r = client.get(path)
    assert r.status_code == status
    _has_security_headers(r)
    assert r.headers["Content-Security-Policy"] == CSP
    assert r.headers["Cache-Control"] == "no-store"


def test_refusals_carry_them(anon_client: TestClient, client_as: Any) -> None:
    for r in (
        anon_client.get("/api/v1/status"),
        client_as("planner").get("/api/v1/users"),
        anon_client.post("/api/v1/auth/login", json={"name": "x", "password": "y"}),
        # The public report without its proof of work (not under /api/: no-store all the same).
        anon_client.post("/public/reports", data={"problem": "slow"}, files={"x": ("", b"")}),
    ):
        assert r.status_code in (401, 403)
        _has_security_headers(r)
        assert r.headers["Cache-Control"] == "no-store"


def test_a_crash_carries_them(client: TestClient) -> None:
    def boom() -> None:
        raise RuntimeError("boom")

    client.app.add_api_route("/api/v1/boom", boom)  # type: ignore[attr-defined]
    crashing = TestClient(client.app, raise_server_exceptions=False)
    r = crashing.get("/api/v1/boom")
    assert r.status_code == 500
    _has_security_headers(r)
    assert r.headers["Content-Security-Policy"] == CSP
    assert r.headers["Cache-Control"] == "no-store"


def _inline_script_hashes(html: str) -> set[str]:
    return {
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    }


@pytest.mark.parametrize(("path", "inline_scripts"), [("/docs", 1), ("/redoc", 0)])
def test_docs_pages_have_their_own_policy(
    anon_client: TestClient, path: str, inline_scripts: int
) -> None:
    r = anon_client.get(path)
    assert r.status_code == 200
    _has_security_headers(r)
    policy = dict(
        part.strip().split(" ", 1) for part in r.headers["Content-Security-Policy"].split(";")
    )
    hashes = _inline_script_hashes(r.text)
    assert len(hashes) == inline_scripts
    script_src = set(policy["script-src"].split())
    assert script_src == {"https://cdn.jsdelivr.net"} | hashes  # the page's own, by hash
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert (policy["default-src"], policy["frame-ancestors"], policy["object-src"]) == (
        "'none'",
        "'none'",
        "'none'",
    )
    assert policy["connect-src"] == "'self'"
    for src in re.findall(r'<script src="([^"]+)"', r.text):
        assert src.startswith("https://cdn.jsdelivr.net/"), src
    assert "/openapi.json" in r.text
