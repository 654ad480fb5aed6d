"""Fixtures of the fault engine's tests: the small city (tests/faults/city.py) in a new
inventory database, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from core.settings import Settings
from inventory.db import open_inventory
from tests.faults.city import THRESHOLDS, seed
from timeseries import open_store
from timeseries.port import MetricStore

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture
def fault_settings(tmp_path: Path) -> Settings:
    """The tests' thresholds and windows: hold 60 s, reopen 900 s, a cycle every 10 s."""
    return Settings(
        data_dir=tmp_path / "state",
        uplink_min_sites=THRESHOLDS.uplink_min_sites,
        area_min_sites=THRESHOLDS.area_min_sites,
        area_window_s=THRESHOLDS.area_window_s,
        incident_hold_s=60.0,
        incident_reopen_s=900.0,
        fault_interval_s=10.0,
    )


@pytest.fixture(params=BACKENDS)
def city_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A new inventory holding the small city (no AP status yet)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'inventory.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    engine = open_inventory(url, create=True)
    seed(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def kept_store(tmp_path: Path) -> Iterator[MetricStore]:
    """A real embedded metric store that keeps everything (the tests' times are in the
    past, beyond the default retention)."""
    opened = open_store(
        f"embedded://{tmp_path / 'metrics'}?raw_days=100000&fine_days=100000&rollup_days=100000"
    )
    yield opened
    opened.close()
