"""Fixtures shared by the metric store tests.

``store`` is parametrized over every backend in :data:`BACKEND_URLS`; the contract suite in
``test_contract.py`` runs once per backend. Each entry returns a URL to a fresh, empty
store for one test; server backends ask for their session-wide server fixture (from
``tests/fixtures/servers.py``) through ``request``, so a server starts only when a test
needs it, and is skipped (or, with ``CI`` set, failed) when its binary is missing.

Where a server cannot honour a contract point, the test is marked for that backend only,
through :data:`NOT_HONOURED`, with the reason; the contract itself is never weakened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.servers import InfluxDBServer, VictoriaMetricsServer
from timeseries import MetricStore, open_store


def _victoriametrics(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    server: VictoriaMetricsServer = request.getfixturevalue("victoriametrics_server")
    return server.store_url()


def _influxdb(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    server: InfluxDBServer = request.getfixturevalue("influxdb_server")
    return server.store_url()


# backend name -> (request, tmp_path) -> URL of an empty store
BACKEND_URLS: dict[str, Callable[[pytest.FixtureRequest, Path], str]] = {
    "embedded": lambda request, tmp_path: "embedded://" + str(tmp_path / "store"),
    "victoriametrics": _victoriametrics,
    "influxdb": _influxdb,
}

# (backend, test function name) -> why that server cannot honour that contract point.
NOT_HONOURED: dict[tuple[str, str], str] = {}


@pytest.fixture(params=sorted(BACKEND_URLS))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    reason = NOT_HONOURED.get((request.param, request.function.__name__))
    if reason is not None:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    return BACKEND_URLS[request.param](request, tmp_path)


@pytest.fixture
def store(store_url: str) -> Iterator[MetricStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()
