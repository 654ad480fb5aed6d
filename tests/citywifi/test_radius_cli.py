"""``citywifi radius`` as a real process: it answers radclient, serves its self-metrics,
stops cleanly on SIGTERM, and fails in one line without its database."""

from __future__ import annotations

import signal
import socket
import urllib.request
from collections.abc import Callable
from pathlib import Path

from core.settings import Settings
from inventory.db import open_inventory
from tests.fixtures.ports import free_port
from tests.fixtures.processes import Proc, citywifi_env, wait_for
from tests.fixtures.radius import run_radclient, seed_nases
from tests.fixtures.secret_keys import TEST_KEY, fixed_box

MAC = "02-5A-77-01-02-03"
USER = "ayu.lestari"


def _env(data_dir: Path) -> dict[str, str]:
    env = citywifi_env(data_dir)
    env["CITYWIFI_SECRET_KEY"] = TEST_KEY
    return env


def test_receives_serves_metrics_and_stops_on_sigterm(
    spawn: Callable[..., Proc], tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    engine = open_inventory(Settings(data_dir=data_dir).db_url, create=True)
    seed_nases(engine, fixed_box())
    engine.dispose()
    port, metrics_port = free_port(socket.SOCK_DGRAM), free_port()
    proc = spawn(
        ["radius", "--port", str(port), "--metrics-port", str(metrics_port)], _env(data_dir)
    )
    wait_for(
        lambda: "accounting on udp" in proc.output() or proc.popen.poll() is not None,
        30,
        "the receiver",
    )
    assert proc.popen.poll() is None, proc.output()
    attributes = {
        "Acct-Status-Type": "Start",
        "Acct-Session-Id": "cli-1",
        "NAS-IP-Address": "127.1.5.2",
        "Calling-Station-Id": MAC,
        "User-Name": USER,
    }
    done = run_radclient(port, attributes)
    assert done.returncode == 0, done.stdout + done.stderr
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        exposition = response.read().decode()
    assert 'citywifi_radius_packets_total{result="started"} 1.0' in exposition
    proc.popen.send_signal(signal.SIGTERM)
    assert proc.popen.wait(timeout=20) == 0, proc.output()
    output = proc.output()
    assert "Traceback" not in output
    for value in (MAC, USER, "127.1.5.2"):
        assert value not in output


def test_without_a_database_it_fails_in_one_line(
    spawn: Callable[..., Proc], tmp_path: Path
) -> None:
    proc = spawn(["radius", "--port", str(free_port(socket.SOCK_DGRAM))], _env(tmp_path / "x"))
    assert proc.popen.wait(timeout=30) == 1
    lines = proc.output().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no inventory database"), lines
