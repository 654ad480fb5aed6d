from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from api.deps import get_session
from core.errors import StoreError
from core.settings import Settings
from inventory.engine import make_engine
from timeseries import MetricStore


def test_healthz_ok(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "inventory": "ok", "store": "ok"}


def test_healthz_503_names_the_store(client: TestClient, store: MetricStore) -> None:
    store.close()  # the real store, taken down
    r = client.get("/healthz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "error"
    assert body["inventory"] == "ok"
    assert body["store"] == "error"
    assert body["message"] == "store check failed (StoreError)"


def test_healthz_503_names_the_inventory(client: TestClient, tmp_path: Path) -> None:
    # A real engine on a database that cannot be opened: a directory where the file is.
    (tmp_path / "broken.db").mkdir()
    broken = make_engine(f"sqlite:///{tmp_path / 'broken.db'}")

    def session() -> Iterator[Session]:
        with Session(broken) as s:
            yield s

    app = client.app
    app.dependency_overrides[get_session] = session  # type: ignore[attr-defined]
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json() == {
        "status": "error",
        "inventory": "error",
        "store": "ok",
        "message": "inventory check failed (OperationalError)",
    }
    broken.dispose()


def test_store_is_closed_on_shutdown(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        store: MetricStore = client.app.state.store  # type: ignore[attr-defined]
        assert store.latest() == {}
    with pytest.raises(StoreError, match="is closed"):
        store.latest()
