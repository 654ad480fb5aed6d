"""Credentials must never leave the API, in any response, under any name, for any user."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient


def every_url(client: TestClient) -> list[str]:
    urls = ["/healthz", "/", "/openapi.json", "/static/app.js"]
    for base in ("/api/v1/sites", "/api/v1/aps", "/api/v1/status"):
        urls += [base, f"{base}?limit=5000"]
    urls += [f"/api/v1/sites/{s['id']}" for s in client.get("/api/v1/sites").json()["data"]]
    for ap in client.get("/api/v1/aps").json()["data"]:
        urls += [
            f"/api/v1/aps/{ap['id']}",
            f"/api/v1/aps/{ap['id']}/series?metric=clients",
            f"/api/v1/aps/{ap['id']}/events",
        ]
    # Error bodies echo input; they must not echo stored secrets either.
    urls += ["/api/v1/aps/ap-99", "/api/v1/aps/ap-01/series?metric=bogus"]
    return urls


@pytest.mark.parametrize("user", ["admin", "engineer", "partner"])
def test_no_credential_string_in_any_response(
    client: TestClient,
    client_as: Callable[[str], TestClient],
    secrets: tuple[str, ...],
    tokens: dict[str, str],
    passwords: dict[str, str],
    user: str,
) -> None:
    """Device secrets, and the users' own tokens and passwords, in no answer to anyone
    (the admin's list of URLs, asked by each user: others' ids are 404s, also checked)."""
    urls = every_url(client)
    assert len(urls) > 20
    caller = client_as(user)
    forbidden = (*secrets, *tokens.values(), *passwords.values())
    for url in urls:
        r = caller.get(url)
        assert r.status_code < 500, url
        body = r.text
        for secret in forbidden:
            assert secret not in body, f"a secret leaked in {url}"
        if url.startswith("/api/"):
            assert "credential" not in body.lower(), url


def test_public_models_have_no_credential_field(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name, schema in schemas.items():
        if name in {"LoginIn", "UserCreate"}:  # a password goes *in* here, never out
            continue
        for field in schema.get("properties", {}):
            if field == "has_password":  # a yes/no, not the password
                continue
            lowered = field.lower()
            assert not any(
                word in lowered for word in ("credential", "community", "password", "key", "secret")
            ), f"{name}.{field}"
