"""The API against the real embedded store, as it runs by default."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from inventory.db import make_engine
from tests.api.conftest import NOW, make_settings, sample, seed_inventory, seed_metrics

pytest.importorskip("timeseries.embedded")


@pytest.fixture
def real_client(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, store_url=None)
    assert settings.store_url.startswith("embedded://")
    engine = make_engine(settings.db_url)
    seed_inventory(engine)
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        seed_metrics(client.app.state.store)  # type: ignore[attr-defined]
        yield client


def test_healthz_on_embedded_store(real_client: TestClient) -> None:
    assert real_client.get("/healthz").json() == {"status": "ok", "inventory": "ok", "store": "ok"}


def test_status_on_embedded_store(real_client: TestClient) -> None:
    body = real_client.get("/api/v1/status?limit=2").json()
    assert body["summary"] == {"up": 3, "down": 1, "unknown": 1, "total": 5}
    first = body["data"][0]
    assert first["ap_id"] == "ap-01"
    assert (first["clients"], first["uptime_s"], first["rx_bps"], first["tx_bps"]) == (
        12.0,
        7188.0,
        2.5e6,
        1.25e6,
    )
    assert body["data"][1]["rx_bps"] is None


def test_series_on_embedded_store(real_client: TestClient) -> None:
    real_client.app.state.store.write(  # type: ignore[attr-defined]
        [sample("ap-02", NOW - 290, clients=4), sample("ap-02", NOW - 250, clients=6)]
    )
    body = real_client.get(
        "/api/v1/aps/ap-02/series",
        params={"metric": "clients", "start": NOW - 300, "end": NOW, "step": 60},
    ).json()
    assert [p["value"] for p in body["points"]] == [5.0, None, None, None, 3.0]
    tiny = real_client.get("/api/v1/aps/ap-02/series?metric=clients&step=0.0001")
    assert tiny.status_code == 422


def test_healthz_and_status_503_when_embedded_store_is_closed(real_client: TestClient) -> None:
    real_client.app.state.store.close()  # type: ignore[attr-defined]
    r = real_client.get("/healthz")
    assert (r.status_code, r.json()["store"], r.json()["inventory"]) == (503, "error", "ok")
    status = real_client.get("/api/v1/status")
    assert status.status_code == 503
    assert "is closed" in status.json()["message"]
