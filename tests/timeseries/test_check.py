"""check_store: a probe written and read back, and plain words for what went wrong."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.fixtures.servers import InfluxDBServer, VictoriaMetricsServer
from timeseries import open_store
from timeseries.check import check_store

SECRET = "s3cr3t-pw"


def test_embedded(tmp_path: Path) -> None:
    report = check_store("embedded://" + str(tmp_path))
    assert report.ok, report.lines()
    assert report.write_s is not None and report.visible_s is not None
    assert report.lines()[-1] == "OK"
    with open_store("embedded://" + str(tmp_path)) as store:
        assert store.latest() == {}  # the probe is not an access point


def test_victoriametrics(victoriametrics_server: VictoriaMetricsServer) -> None:
    url = victoriametrics_server.store_url()
    report = check_store(url)
    assert report.ok, report.lines()
    assert report.server == "VictoriaMetrics single node"
    assert report.warnings == []  # the test server runs with the recommended flags
    assert report.visible_s is not None
    with open_store(url) as store:
        assert store.latest() == {}


def test_victoriametrics_cluster_url_against_a_single_node_is_refused(
    victoriametrics_server: VictoriaMetricsServer,
) -> None:
    report = check_store(
        "victoriametrics+" + victoriametrics_server.base + f"?tenant=3&token={SECRET}"
    )
    assert not report.ok
    assert "/insert/3/influx" in report.problems[0]
    assert SECRET not in "\n".join(report.lines())


def test_influxdb(influxdb_server: InfluxDBServer) -> None:
    report = check_store(influxdb_server.store_url())
    assert report.ok, report.lines()
    assert report.server is not None and report.server.startswith("InfluxDB 1.6")
    assert report.visible_s is not None


def test_influxdb_2x_url_against_a_1x_server(influxdb_server: InfluxDBServer) -> None:
    url = f"influxdb+{influxdb_server.base}?bucket=city&org=o&token={SECRET}"
    report = check_store(url)
    assert not report.ok
    assert "has no /api/v2/write" in report.problems[0]
    assert "db=" in report.problems[0]
    assert SECRET not in "\n".join(report.lines())


def test_influxdb_missing_database(influxdb_server: InfluxDBServer) -> None:
    url = (
        f"influxdb+{influxdb_server.base}?db=nowhere&user={influxdb_server.user}"
        f"&password={influxdb_server.password}"
    )
    report = check_store(url)
    assert not report.ok
    assert 'database not found: "nowhere"' in report.problems[0]
    assert influxdb_server.password not in "\n".join(report.lines())


def test_dead_ports(free_tcp_port: Callable[[], int]) -> None:
    for url in (
        f"victoriametrics+http://127.0.0.1:{free_tcp_port()}?token={SECRET}",
        f"influxdb+http://127.0.0.1:{free_tcp_port()}?db=x&user=u&password={SECRET}",
    ):
        began = time.monotonic()
        report = check_store(url)
        assert time.monotonic() - began < 5
        assert not report.ok
        assert "connection refused" in report.problems[0]
        assert SECRET not in "\n".join(report.lines())
        assert report.lines()[-1] == "NOT OK"


def test_a_bad_url() -> None:
    report = check_store(f"victoriametrics+http://vm?tennant=1&token={SECRET}")
    assert not report.ok
    assert "unknown option(s) tennant" in report.problems[0]
    assert SECRET not in "\n".join(report.lines())
