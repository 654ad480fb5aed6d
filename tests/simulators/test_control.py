"""The control API's contract, in-process (the live test drives it over a real socket)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from core.errors import SimulatorError
from simulators.city import City, build_city
from simulators.control import bind_control_socket, create_control_app
from simulators.faults import FaultBook


@pytest.fixture
def city() -> City:
    return build_city(20, seed=5)


@pytest.fixture
def book(city: City) -> FaultBook:
    return FaultBook(city)


@pytest.fixture
def client(book: FaultBook, city: City) -> TestClient:
    return TestClient(create_control_app(book, city))


def test_post_list_delete(client: TestClient, city: City, book: FaultBook) -> None:
    district = city.districts[0].id
    created = client.post(
        "/faults", json={"kind": "district_power", "target": district, "duration_s": 60}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "district_power" and body["target"] == district
    assert body["state"] == "active" and body["end"] - body["start"] == 60
    assert body["affected_aps"] == len(book.district_aps[district]) > 0
    later = client.post(
        "/faults",
        json={"kind": "flapping", "target": city.aps[0].id, "duration_s": 30, "start_in_s": 100},
    ).json()
    assert later["state"] == "scheduled" and later["period_s"] == 10
    listed = client.get("/faults").json()
    assert [f["id"] for f in listed] == [body["id"], later["id"]]
    assert client.delete(f"/faults/{body['id']}").status_code == 204
    assert [f["id"] for f in client.get("/faults").json()] == [later["id"]]
    missing = client.delete(f"/faults/{body['id']}")
    assert missing.status_code == 404 and body["id"] in missing.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ({"kind": "meteor", "target": "ap00001", "duration_s": 5}, "unknown fault kind"),
        ({"kind": "ap_down", "target": "nowhere", "duration_s": 5}, "'nowhere' is none of them"),
        ({"kind": "site_power", "target": "d01", "duration_s": 5}, "needs a site id"),
        ({"kind": "ap_down", "target": "ap00001", "duration_s": 0}, "positive"),
        ({"kind": "ap_down", "target": "ap00001", "duration_s": -1}, "positive"),
        ({"kind": "ap_down", "target": "ap00001"}, None),
        ({"kind": "ap_down", "target": "ap00001", "duration_s": "long"}, None),
    ],
)
def test_validation_errors(
    client: TestClient, payload: dict[str, object], detail: str | None
) -> None:
    response = client.post("/faults", json=payload)
    assert response.status_code == 422
    if detail is not None:
        assert detail in response.json()["detail"]
    assert client.get("/faults").json() == []


def test_city_summary(client: TestClient, city: City, book: FaultBook) -> None:
    before = book.clock()
    summary = client.get("/city").json()
    assert before <= summary["now"] <= book.clock()
    assert summary["aps"] == len(city.aps)
    assert sum(summary["districts"].values()) == len(city.aps)


def test_a_taken_port_is_a_clear_error() -> None:
    sock = bind_control_socket(0)
    try:
        port = sock.getsockname()[1]
        with pytest.raises(SimulatorError, match=f"127.0.0.1:{port}"):
            bind_control_socket(port)
    finally:
        sock.close()
