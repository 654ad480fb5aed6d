"""NUL in the URL: a 422 naming the parameter on both engines (PostgreSQL would refuse the
statement comparing it with a column, a 500), before any database is asked."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("/api/v1/maintenance?district=%00", ["query", "district"]),
        ("/api/v1/aps?site=s%00", ["query", "site"]),
        ("/api/v1/aps/ap-%00", ["path", "ap_id"]),
    ],
)
def test_a_nul_in_a_query_or_path_parameter_is_a_422_naming_it(
    client: TestClient, path: str, where: list[str]
) -> None:
    response = client.get(path)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == where
    assert "NUL" in error["msg"]


def test_without_credentials_it_is_still_a_401(anon_client: TestClient) -> None:
    assert anon_client.get("/api/v1/maintenance?district=%00").status_code == 401


def test_a_nul_in_a_login_name_is_a_failed_login(anon_client: TestClient) -> None:
    """Not a 422: that would tell a guesser which names are well-formed."""
    response = anon_client.post("/api/v1/auth/login", json={"name": "ad\x00min", "password": "x"})
    assert response.status_code == 401, response.text


@pytest.mark.parametrize(
    "body",
    [
        {"name": "newcomer", "role": "admin", "token_label": "lab\x00el"},
        {"name": "newcomer", "role": "partner", "partner": "p-\x00bank"},
    ],
)
def test_a_nul_in_a_body_id_or_label_is_a_422(client: TestClient, body: dict[str, str]) -> None:
    response = client.post("/api/v1/users", json=body)
    assert response.status_code == 422, response.text
    assert "NUL" in response.text
