"""One value for a one-value query parameter (api.query): a repeat is a 422 naming it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Query
from fastapi.exceptions import RequestValidationError
from fastapi.testclient import TestClient

from api.app import _on_validation_error
from api.query import one_value_each


def test_a_one_value_parameter_given_twice_is_a_422_naming_it(client: TestClient) -> None:
    """FastAPI would take the last value and drop the other without a word."""
    response = client.get("/api/v1/status?site=s-park&site=s-market")
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", "site"]
    assert "given 2 times" in error["msg"]
    assert client.get("/api/v1/status?site=s-park").status_code == 200
    # A parameter the route does not take is not its business (ignored, as ever).
    assert client.get("/public/hotspots?x=1&x=2").status_code == 200


def paging(limit: int = 10) -> int:
    return limit


def things(
    limit: Annotated[int, Depends(paging)],
    tag: Annotated[list[str] | None, Query()] = None,
) -> dict[str, object]:
    return {"limit": limit, "tag": tag}


def test_a_list_parameter_and_a_dependency_s_parameter() -> None:
    """A list takes repeats; a one-value parameter of a route's dependency is checked."""
    app = FastAPI(dependencies=[Depends(one_value_each)])
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.get("/things")(things)
    with TestClient(app) as client:
        assert client.get("/things?tag=a&tag=b").json() == {"limit": 10, "tag": ["a", "b"]}
        refused = client.get("/things?limit=1&limit=2")
        assert refused.status_code == 422
        assert refused.json()["message"].startswith("query.limit: Value error, given 2 times")
