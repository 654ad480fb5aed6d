"""Fixtures shared by the metric store tests.

``store`` is parametrized over every backend in :data:`BACKEND_URLS`; the contract suite in
``test_contract.py`` runs once per backend. Each entry returns a URL to a fresh, empty
store for one test; server backends ask for their session-wide server fixture (from
``tests/fixtures/servers.py``) through ``request``, so a server starts only when a test
needs it, and is skipped (or, with ``CI`` set, failed) when its binary is missing.

The VictoriaMetrics cluster layout (``victoriametrics-cluster``) has no ``flush=1``: its
stores are wrapped in :class:`FlushedWrites`, which makes each write visible before the
test reads, as ``flush=1`` does on a single node. Everything else goes through the port
unchanged.

Where a server cannot honour a contract point, the test is marked for that backend only,
through :data:`NOT_HONOURED`, with the reason; the contract itself is never weakened.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path

import pytest

from tests.fixtures.servers import InfluxDBServer, VictoriaMetricsCluster, VictoriaMetricsServer
from timeseries import (
    Aggregate,
    GroupBy,
    HourBucket,
    Latest,
    MetricStore,
    Point,
    Sample,
    open_store,
)


def _victoriametrics(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    server: VictoriaMetricsServer = request.getfixturevalue("victoriametrics_server")
    return server.store_url()


def _victoriametrics_cluster(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    cluster: VictoriaMetricsCluster = request.getfixturevalue("victoriametrics_cluster")
    return cluster.store_url()


def _influxdb(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    server: InfluxDBServer = request.getfixturevalue("influxdb_server")
    return server.store_url()


# backend name -> (request, tmp_path) -> URL of an empty store
BACKEND_URLS: dict[str, Callable[[pytest.FixtureRequest, Path], str]] = {
    "embedded": lambda request, tmp_path: "embedded://" + str(tmp_path / "store"),
    "victoriametrics": _victoriametrics,
    "victoriametrics-cluster": _victoriametrics_cluster,
    "influxdb": _influxdb,
}

# backend name -> request -> what makes a write visible to reads at once (see FlushedWrites)
FLUSH_AFTER_WRITE: dict[str, Callable[[pytest.FixtureRequest], Callable[[], None]]] = {
    "victoriametrics-cluster": lambda request: (
        request.getfixturevalue("victoriametrics_cluster").flush
    ),
}


class FlushedWrites:
    """A store whose every successful write is followed by ``flush``: the contract reads
    right after writing, which a cluster answers only a second or two later."""

    def __init__(self, inner: MetricStore, flush: Callable[[], None]) -> None:
        self._inner = inner
        self._flush = flush

    def write(self, samples: Sequence[Sample]) -> None:
        self._inner.write(samples)
        self._flush()

    def latest(self, aps: Collection[str] | None = None) -> dict[str, Latest]:
        return self._inner.latest(aps)

    def series(self, ap: str, metric: str, start: float, end: float, step: float) -> list[Point]:
        return self._inner.series(ap, metric, start, end, step)

    def aggregate(
        self, start: float, end: float, by: GroupBy = "ap", keys: Collection[str] | None = None
    ) -> list[Aggregate]:
        return self._inner.aggregate(start, end, by, keys)

    def hourly(
        self,
        start: float,
        end: float,
        by: GroupBy = "partner",
        keys: Collection[str] | None = None,
    ) -> list[HourBucket]:
        return self._inner.hourly(start, end, by, keys)

    def close(self) -> None:
        self._inner.close()


# (backend, test function name) -> why that server cannot honour that contract point.
NOT_HONOURED: dict[tuple[str, str], str] = {}


@pytest.fixture(params=sorted(BACKEND_URLS))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    reason = NOT_HONOURED.get((request.param, request.function.__name__))
    if reason is not None:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    return BACKEND_URLS[request.param](request, tmp_path)


@pytest.fixture
def store(request: pytest.FixtureRequest, store_url: str) -> Iterator[MetricStore]:
    opened: MetricStore = open_store(store_url)
    flush = FLUSH_AFTER_WRITE.get(request.node.callspec.params.get("store_url", ""))
    if flush is not None:
        opened = FlushedWrites(opened, flush(request))
    yield opened
    opened.close()
