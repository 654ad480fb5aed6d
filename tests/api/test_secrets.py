"""Credentials must never leave the API, in any response, under any name."""

from __future__ import annotations

from fastapi.testclient import TestClient


def every_url(client: TestClient) -> list[str]:
    urls = ["/healthz", "/", "/openapi.json", "/static/app.js"]
    for base in ("/api/v1/sites", "/api/v1/aps", "/api/v1/status"):
        urls += [base, f"{base}?limit=5000"]
    urls += [f"/api/v1/sites/{s['id']}" for s in client.get("/api/v1/sites").json()["data"]]
    for ap in client.get("/api/v1/aps").json()["data"]:
        urls += [f"/api/v1/aps/{ap['id']}", f"/api/v1/aps/{ap['id']}/series?metric=clients"]
    # Error bodies echo input; they must not echo stored secrets either.
    urls += ["/api/v1/aps/ap-99", "/api/v1/aps/ap-01/series?metric=bogus"]
    return urls


def test_no_credential_string_in_any_response(client: TestClient, secrets: tuple[str, ...]) -> None:
    urls = every_url(client)
    assert len(urls) > 20
    for url in urls:
        r = client.get(url)
        assert r.status_code < 500, url
        body = r.text
        for secret in secrets:
            assert secret not in body, f"{secret!r} leaked in {url}"
        assert "credential" not in body.lower() or url == "/openapi.json", url


def test_public_models_have_no_credential_field(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name, schema in schemas.items():
        for field in schema.get("properties", {}):
            lowered = field.lower()
            assert not any(
                word in lowered for word in ("credential", "community", "password", "key", "secret")
            ), f"{name}.{field}"
