from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from api.app import create_app
from api.deps import get_session
from core.settings import Settings
from tests.api.conftest import FakeStore


def test_healthz_ok(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "inventory": "ok", "store": "ok"}


def test_healthz_503_names_the_store(client: TestClient, store: FakeStore) -> None:
    store.fail = True
    r = client.get("/healthz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "error"
    assert body["inventory"] == "ok"
    assert body["store"] == "error"
    assert body["message"] == "store check failed (StoreError)"


def test_healthz_503_names_the_inventory(client: TestClient) -> None:
    class BrokenSession:
        def execute(self, *_args: object) -> None:
            raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    app = client.app
    app.dependency_overrides[get_session] = lambda: BrokenSession()  # type: ignore[attr-defined]
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json() == {
        "status": "error",
        "inventory": "error",
        "store": "ok",
        "message": "inventory check failed (OperationalError)",
    }


def test_store_is_closed_on_shutdown(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        store: FakeStore = client.app.state.store  # type: ignore[attr-defined]
        assert not store.closed
    assert store.closed
