"""Real time-series servers for the tests: VictoriaMetrics single node and InfluxDB 1.x.

Each server starts once per test session (start-up is the slow part), on loopback only,
on free ports, with its data in a temporary directory, and stops at the end. Tests get
isolation without restarting it: every VictoriaMetrics store URL carries its own
``extra_label``, every InfluxDB store URL its own database.

A missing binary skips the tests that need it, with the reason, on a developer machine;
with ``CI`` set it fails them, so a CI machine that lost its Debian packages
(``scripts/test.sh`` installs them) cannot pass by skipping.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

__all__ = [
    "InfluxDBServer",
    "VictoriaMetricsServer",
    "free_port",
    "influxdb_server",
    "victoriametrics_server",
]

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class VictoriaMetricsServer:
    base: str  # http://127.0.0.1:<port>

    def store_url(self, **options: str) -> str:
        """A store URL seeing only its own data (a fresh ``extra_label``)."""
        query = {
            "extra_label": f"citywifi_test={secrets.token_hex(8)}",
            "latest_window": "3650d",  # the contract's samples are from 2023
            "flush": "1",
            **options,
        }
        return "victoriametrics+" + self.base + "?" + "&".join(f"{k}={v}" for k, v in query.items())


@dataclass(frozen=True)
class InfluxDBServer:
    base: str  # http://127.0.0.1:<port>
    user: str
    password: str

    def create_database(self) -> str:
        name = "citywifi_test_" + secrets.token_hex(8)
        response = httpx.post(
            self.base + "/query",
            data={"q": f'CREATE DATABASE "{name}"'},
            auth=(self.user, self.password),
            timeout=10,
        )
        response.raise_for_status()
        assert "error" not in response.text, response.text
        return name

    def store_url(self, **options: str) -> str:
        """A store URL on a fresh, empty database."""
        query = {
            "db": self.create_database(),
            "user": self.user,
            "password": self.password,
            **options,
        }
        return "influxdb+" + self.base + "?" + "&".join(f"{k}={v}" for k, v in query.items())


def free_port() -> int:
    """A TCP port free on loopback right now (the server binds it moments later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        reason = (
            f"{name} is not installed (Debian package: "
            f"{'victoria-metrics' if name == 'victoria-metrics' else 'influxdb'}); "
            "scripts/test.sh installs it"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def _wait_ready(process: subprocess.Popen[bytes], url: str, ok: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}: {_tail(log)}")
        try:
            if httpx.get(url, timeout=1).status_code == ok:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} not ready within {START_TIMEOUT_S:g} s: {_tail(log)}")


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)


@pytest.fixture(scope="session")
def victoriametrics_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[VictoriaMetricsServer]:
    binary = _binary("victoria-metrics")
    directory = tmp_path_factory.mktemp("victoriametrics")
    port = free_port()
    log = directory / "server.log"
    args = [
        binary,
        f"-httpListenAddr=127.0.0.1:{port}",
        f"-storageDataPath={directory / 'data'}",
        "-retentionPeriod=100y",  # the contract's samples are from 2023
        "-search.latencyOffset=0s",
        "-dedup.minScrapeInterval=1ms",  # one sample per series and millisecond
        "-loggerLevel=WARN",
        "-memory.allowedBytes=256MiB",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(process, f"http://127.0.0.1:{port}/health", 200, log)
        yield VictoriaMetricsServer(f"http://127.0.0.1:{port}")
    finally:
        _stop(process)


_INFLUXD_CONFIG = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{dir}/meta"
  logging-enabled = false

[data]
  dir = "{dir}/data"
  wal-dir = "{dir}/wal"
  query-log-enabled = false
  wal-fsync-delay = "0s"

[monitor]
  store-enabled = false

[http]
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = true
  log-enabled = false
  pprof-enabled = false

[logging]
  level = "warn"
  suppress-logo = true

[continuous_queries]
  enabled = false

[retention]
  enabled = false

[subscriber]
  enabled = false
"""


@pytest.fixture(scope="session")
def influxdb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDBServer]:
    binary = _binary("influxd")
    directory = tmp_path_factory.mktemp("influxdb")
    http_port, rpc_port = free_port(), free_port()
    config = directory / "influxdb.conf"
    config.write_text(_INFLUXD_CONFIG.format(dir=directory, http_port=http_port, rpc_port=rpc_port))
    log = directory / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "run", "-config", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        base = f"http://127.0.0.1:{http_port}"
        _wait_ready(process, base + "/ping", 204, log)
        # With authentication on and no users yet, InfluxDB 1.x lets the first admin in.
        user, password = "citywifi", secrets.token_urlsafe(12)
        response = httpx.post(
            base + "/query",
            data={"q": f"CREATE USER {user} WITH PASSWORD '{password}' WITH ALL PRIVILEGES"},
            timeout=10,
        )
        response.raise_for_status()
        yield InfluxDBServer(base, user, password)
    finally:
        _stop(process)
