"""API test fixtures: the small city of :mod:`tests.api.city` in a temp SQLite inventory
and the real embedded metric store, served by the app exactly as in production."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings
from inventory.db import open_inventory
from tests.api.city import NOW, SECRETS, sample, seed_inventory, seed_metrics, settings_in
from timeseries import MetricStore
from timeseries.port import Sample


@pytest.fixture
def now() -> float:
    """The fixed 'now' of the fixture data (2026-01-01T00:00:00Z)."""
    return NOW


@pytest.fixture
def secrets() -> tuple[str, ...]:
    """Every credential string in the fixture inventory."""
    return SECRETS


@pytest.fixture
def make_sample() -> Callable[..., Sample]:
    """``make_sample(ap, ts, **fields)``: one AP sample."""
    return sample


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose inventory holds the fixture city (the store is still empty)."""
    settings = settings_in(tmp_path)
    engine = open_inventory(settings.db_url, create=True)
    seed_inventory(engine)
    engine.dispose()
    return settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A client of the app, its store seeded with the fixture metrics."""
    with TestClient(create_app(settings)) as client:
        seed_metrics(client.app.state.store)  # type: ignore[attr-defined]
        yield client


@pytest.fixture
def store(client: TestClient) -> MetricStore:
    """The app's own (embedded) store: write to it, or close it to take it down."""
    found: MetricStore = client.app.state.store  # type: ignore[attr-defined]
    return found
