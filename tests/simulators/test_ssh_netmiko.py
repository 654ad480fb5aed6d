"""Real netmiko sessions against the simulated CLIs: the collector's SSH client must log
in, find the prompt and read command output exactly as it would on hardware."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from netmiko import ConnectHandler
from netmiko.exceptions import NetmikoAuthenticationException

from simulators.ssh import SshAp
from tests.fixtures.simulated_ssh import Served, serve_ssh_pair

pytestmark = pytest.mark.slow

TIMEOUT = 10


@pytest.fixture(scope="module")
def live() -> Iterator[Served]:
    """Served on the real clock: netmiko sessions take real time."""
    with serve_ssh_pair() as served:
        yield served


def connect(ap: SshAp, port: int, device_type: str, **overrides: Any) -> Any:
    params: dict[str, Any] = {
        "device_type": device_type,
        "host": ap.host,
        "port": port,
        "username": ap.username,
        "password": ap.password,
        "conn_timeout": TIMEOUT,
        "auth_timeout": TIMEOUT,
        "banner_timeout": TIMEOUT,
        "read_timeout_override": TIMEOUT,
        "fast_cli": True,
    }
    params.update(overrides)
    return ConnectHandler(**params)


def test_routeros_session(live: Served) -> None:
    ros = live.routeros
    with connect(ros, live.port, "mikrotik_routeros") as conn:
        assert conn.base_prompt == f"[admin@{ros.name}]"
        before = ros.device.total_clients(time.time())
        count = conn.send_command("/interface wireless registration-table print count-only")
        after = ros.device.total_clients(time.time())
        assert int(count) in {before, after}
        text = conn.send_command("/system resource print")
        fields = dict(re.findall(r"^ *([a-z-]+): (.*)$", text, re.M))
        assert fields["platform"] == "MikroTik"
        assert fields["board-name"] == ros.model
        assert re.fullmatch(r"\d+%", fields["cpu-load"])
        assert re.fullmatch(r"(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?", fields["uptime"])
        hotspot = conn.send_command("/ip hotspot active print count-only")
        assert 0 <= int(hotspot) <= max(before, after)
        assert conn.send_command("/system identity print") == f"name: {ros.name}"
        assert conn.send_command("/foo") == "bad command name foo (line 1 column 2)"


def test_openwrt_session(live: Served) -> None:
    owrt = live.openwrt
    with connect(owrt, live.port, "linux") as conn:
        assert conn.base_prompt == f"root@{owrt.name}:~"
        info = json.loads(conn.send_command("ubus call system info"))
        assert {"localtime", "uptime", "load", "memory", "swap"} <= set(info)
        up = float(conn.send_command("cat /proc/uptime").split()[0])
        assert up == pytest.approx(owrt.device.uptime_cs(time.time()) / 100, abs=5)
        assoc = conn.send_command("iwinfo wlan0 assoclist")
        stations = re.findall(r"^[0-9A-F:]{17}  -\d+ dBm", assoc, re.M)
        now = time.time()
        assert len(stations) in {owrt.device.clients(0, now - 5), owrt.device.clients(0, now)}
        assert conn.send_command("foo") == "-ash: foo: not found"


def test_bad_password_is_an_authentication_error(live: Served) -> None:
    ros = live.routeros
    with pytest.raises(NetmikoAuthenticationException):
        connect(ros, live.port, "mikrotik_routeros", password="nope")


def test_concurrent_sessions(live: Served) -> None:
    """Several netmiko sessions at once against the same loop: none waits on another."""
    failures: list[BaseException] = []
    counts: list[str] = []

    def one() -> None:
        try:
            with connect(live.routeros, live.port, "mikrotik_routeros") as conn:
                counts.append(
                    conn.send_command("/interface wireless registration-table print count-only")
                )
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not failures, failures
    assert len(counts) == 4 and all(c.isdigit() for c in counts)
