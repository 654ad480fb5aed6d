"""Fixtures shared by the metric store tests.

``store`` is parametrized over every backend in :data:`BACKEND_URLS`; the contract suite in
``test_contract.py`` runs once per backend. A server backend (VictoriaMetrics, InfluxDB)
joins by adding a factory here that returns a URL to a fresh, empty database for each test,
and skips (``pytest.skip``) when its server is not configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from timeseries import MetricStore, open_store

# backend name -> (tmp_path -> URL of an empty store)
BACKEND_URLS: dict[str, Callable[[Path], str]] = {
    "embedded": lambda tmp_path: "embedded://" + str(tmp_path / "store"),
}


@pytest.fixture(params=sorted(BACKEND_URLS))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return BACKEND_URLS[request.param](tmp_path)


@pytest.fixture
def store(store_url: str) -> Iterator[MetricStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()
