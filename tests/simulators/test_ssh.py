"""The simulated SSH CLIs over real loopback sockets, driven by asyncssh as the client.

The server runs at a fixed instant (``clock``), so every answer can be compared exactly
with the device functions the SNMP view uses.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Iterator

import asyncssh
import pytest

from core.errors import SimulatorError
from simulators import cli_routeros
from simulators.city import build_city
from simulators.ssh import SshAp, default_password, serve_ssh, ssh_aps_for
from tests.fixtures.simulated import loopback_base
from tests.fixtures.simulated_ssh import Served, make_ssh_pair, serve_ssh_pair

pytestmark = pytest.mark.slow

NOW = 1_700_000_000.0
TIMEOUT = 10


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serve_ssh_pair(clock=lambda: NOW) as running:
        yield running


def run_remote(
    ap: SshAp, port: int, command: str, *, username: str | None = None
) -> asyncssh.SSHCompletedProcess:
    """One exec request, as ``ssh user@host command`` would make it."""

    async def go() -> asyncssh.SSHCompletedProcess:
        async with asyncssh.connect(
            ap.host,
            port,
            username=username or ap.username,
            password=ap.password,
            known_hosts=None,
            client_keys=None,
            connect_timeout=TIMEOUT,
        ) as conn:
            return await asyncio.wait_for(conn.run(command), TIMEOUT)

    return asyncio.run(go())


def shell(ap: SshAp, port: int, lines: list[str], *, username: str | None = None) -> str:
    """An interactive PTY session: type each line, wait for the prompt, return everything."""
    prompt = re.escape(
        f"[{ap.username}@{ap.name}] > " if ap.flavour == "routeros" else f"@{ap.name}:~# "
    )

    async def go() -> str:
        async with asyncssh.connect(
            ap.host,
            port,
            username=username or ap.username,
            password=ap.password,
            known_hosts=None,
            client_keys=None,
            connect_timeout=TIMEOUT,
        ) as conn:
            process = await conn.create_process(term_type="vt100", term_size=(511, 1000))
            seen = ""

            async def until_prompt() -> None:
                nonlocal seen
                start = len(seen)
                while not re.search(prompt + "$", seen[start:]):
                    chunk = await process.stdout.read(65536)
                    if not chunk:
                        raise AssertionError(f"session ended early: {seen!r}")
                    seen += chunk

            await asyncio.wait_for(until_prompt(), TIMEOUT)
            for line in lines:
                process.stdin.write(line + "\r\n")
                await asyncio.wait_for(until_prompt(), TIMEOUT)
            return seen

    return asyncio.run(go())


# --- login ----------------------------------------------------------------------------------


def test_login_with_netmiko_suffix_and_wrong_password(served: Served) -> None:
    ros = served.routeros
    result = run_remote(ros, served.port, "/system identity print", username="admin+ct511w4098h")
    assert result.stdout.strip() == f"name: {ros.name}"
    bad = SshAp(**{**ros.__dict__, "password": "wrong"})
    with pytest.raises(asyncssh.PermissionDenied):
        run_remote(bad, served.port, "/system identity print")
    with pytest.raises(asyncssh.PermissionDenied):
        run_remote(ros, served.port, "/system identity print", username="root")


def test_openwrt_login_takes_no_suffix(served: Served) -> None:
    owrt = served.openwrt
    with pytest.raises(asyncssh.PermissionDenied):
        run_remote(owrt, served.port, "true", username="root+ct")
    assert run_remote(owrt, served.port, "true").exit_status == 0


# --- RouterOS -------------------------------------------------------------------------------


def test_routeros_counts_match_the_device(served: Served) -> None:
    ros = served.routeros
    clients = ros.device.total_clients(NOW)
    count = run_remote(ros, served.port, "/interface wireless registration-table print count-only")
    assert count.stdout == f"{clients}\n"
    hotspot = int(run_remote(ros, served.port, "/ip hotspot active print count-only").stdout)
    assert clients * 0.6 - 1 <= hotspot <= clients * 0.9


def test_routeros_resource_print_fields(served: Served) -> None:
    ros = served.routeros
    text = run_remote(ros, served.port, "/system resource print").stdout
    fields = dict(re.findall(r"^ *([a-z-]+): (.*)$", text, re.M))
    for line in text.splitlines():  # values right-aligned on the colon
        assert line.index(":") == text.splitlines()[0].index(":")
    uptime = re.fullmatch(
        r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", fields["uptime"]
    )
    assert uptime is not None
    w, d, h, m, s = (int(part or 0) for part in uptime.groups())
    assert ((w * 7 + d) * 24 + h) * 3600 + m * 60 + s == ros.device.uptime_cs(NOW) // 100
    assert fields["cpu-load"] == f"{ros.device.cpu_load(NOW)}%"
    assert re.fullmatch(r"\d+\.\d(KiB|MiB)", fields["free-memory"])
    assert fields["total-memory"] == "128.0MiB"
    assert fields["board-name"] == "RB951Ui-2HnD"
    assert fields["platform"] == "MikroTik"
    assert fields["version"].startswith("6.49")
    for name in ("build-time", "cpu", "cpu-count", "cpu-frequency", "free-hdd-space",
                 "total-hdd-space", "architecture-name"):  # fmt: skip
        assert fields[name]


def test_routeros_unknown_command_and_interactive_shell(served: Served) -> None:
    ros = served.routeros
    assert run_remote(ros, served.port, "foo").stdout == "bad command name foo (line 1 column 1)\n"
    text = shell(ros, served.port, ["/system identity print", "/foo bar", ""])
    assert "MikroTik RouterOS" in text
    # RouterOS echoes what is typed, then answers, then prompts again.
    assert f"> /system identity print\r\n  name: {ros.name}\r\n[admin@{ros.name}] > " in text
    assert "bad command name foo (line 1 column 2)\r\n" in text


def test_routeros_quit_closes_the_session(served: Served) -> None:
    ros = served.routeros

    async def go() -> int | None:
        async with asyncssh.connect(
            ros.host, served.port, username="admin+ct", password=ros.password,
            known_hosts=None, client_keys=None, connect_timeout=TIMEOUT,
        ) as conn:  # fmt: skip
            process = await conn.create_process(term_type="vt100")
            process.stdin.write("quit\r\n")
            await asyncio.wait_for(process.wait_closed(), TIMEOUT)
            return process.exit_status

    assert asyncio.run(go()) == 0


# --- OpenWrt --------------------------------------------------------------------------------


def test_ubus_system_info_is_json(served: Served) -> None:
    owrt = served.openwrt
    result = run_remote(owrt, served.port, "ubus call system info")
    assert result.stdout.startswith('{\n\t"localtime": ')
    info = json.loads(result.stdout)
    assert info["uptime"] == owrt.device.uptime_cs(NOW) // 100
    assert info["localtime"] == int(NOW) + owrt.device.utc_offset_s
    assert len(info["load"]) == 3 and all(isinstance(x, int) for x in info["load"])
    memory = info["memory"]
    assert set(memory) == {"total", "free", "shared", "buffered", "available", "cached"}
    assert 0 < memory["free"] < memory["total"]
    assert info["swap"] == {"total": 0, "free": 0}


def test_assoclist_has_one_entry_per_client(served: Served) -> None:
    owrt = served.openwrt
    station = re.compile(
        r"^([0-9A-F]{2}(?::[0-9A-F]{2}){5})  (-\d+) dBm / (-\d+) dBm \(SNR (\d+)\)  (\d+) ms ago\n"
        r"\tRX: (\d+\.\d) MBit/s.*?(\d+) Pkts\.\n"
        r"\tTX: (\d+\.\d) MBit/s.*?(\d+) Pkts\.\n"
        r"\texpected throughput: .*\n",
        re.M,
    )
    total = 0
    for radio in range(owrt.device.radios):
        text = run_remote(owrt, served.port, f"iwinfo wlan{radio} assoclist").stdout
        expected = owrt.device.clients(radio, NOW)
        entries = station.findall(text)
        assert len(entries) == expected, text
        assert len({entry[0] for entry in entries}) == expected  # distinct MACs
        if not expected:
            assert text == "No station connected\n"
        total += len(entries)
    assert total == owrt.device.total_clients(NOW)


def test_openwrt_other_commands(served: Served) -> None:
    owrt = served.openwrt
    up, idle = run_remote(owrt, served.port, "cat /proc/uptime").stdout.split()
    assert re.fullmatch(r"\d+\.\d\d", up) and re.fullmatch(r"\d+\.\d\d", idle)
    assert float(up) == pytest.approx(owrt.device.uptime_cs(NOW) / 100)
    uname = run_remote(owrt, served.port, "uname -a").stdout
    assert uname.startswith(f"Linux {owrt.name} 5.15")
    iwinfo = run_remote(owrt, served.port, "iwinfo").stdout
    assert 'wlan0     ESSID: "CityWiFi"' in iwinfo and "wlan1     ESSID" in iwinfo
    missing = run_remote(owrt, served.port, "foo")
    assert missing.stderr == "ash: foo: not found\n"
    assert missing.exit_status == 127
    text = shell(owrt, served.port, ["foo", "cat /proc/uptime"])
    assert f"root@{owrt.name}:~# foo\r\n-ash: foo: not found\r\nroot@{owrt.name}:~# " in text


# --- wiring ---------------------------------------------------------------------------------


def test_ssh_aps_for_picks_aps_with_a_cli_in_city_order() -> None:
    city = build_city(60, seed=3)
    with_cli = [ap for ap in city.aps if ap.vendor.name in ("mikrotik", "openwrt")][:8]
    aps = ssh_aps_for(city, limit=8)
    assert [a.host for a in aps] == [ap.host for ap in with_cli]
    assert [a.flavour for a in aps] == [
        "routeros" if ap.vendor.name == "mikrotik" else "openwrt" for ap in with_cli
    ]


def test_ssh_aps_for_picks_mikrotik_aps_with_credentials() -> None:
    city = build_city(60, seed=3)
    aps = ssh_aps_for(city, limit=5, vendor="mikrotik")
    assert len(aps) == 5
    mikrotik = [ap for ap in city.aps if ap.vendor.name == "mikrotik"][:5]
    assert [a.host for a in aps] == [ap.host for ap in mikrotik]
    assert all(a.flavour == "routeros" and a.username == "admin" for a in aps)
    assert all(a.password == default_password(3) for a in aps)
    assert aps[0].device is mikrotik[0].device
    custom = ssh_aps_for(
        city, limit=2, vendor="mikrotik", credentials=lambda ap: ("ops", f"pw-{ap.id}")
    )
    assert [(a.username, a.password) for a in custom] == [
        ("ops", f"pw-{ap.id}") for ap in mikrotik[:2]
    ]


def test_port_in_use_names_host_and_port() -> None:
    routeros, _ = make_ssh_pair(loopback_base())
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((routeros.host, 0))
        taken.listen()
        port = taken.getsockname()[1]

        async def go() -> None:
            await serve_ssh([routeros], port=port, stop=asyncio.Event())

        with pytest.raises(SimulatorError, match=rf"{re.escape(routeros.host)}:{port}"):
            asyncio.run(asyncio.wait_for(go(), TIMEOUT))


def test_routeros_formats() -> None:
    assert cli_routeros.uptime_text(0) == "0s"
    assert cli_routeros.uptime_text(3 * 86_400 + 4 * 3600 + 5 * 60 + 6) == "3d4h5m6s"
    assert cli_routeros.uptime_text(8 * 86_400 + 60) == "1w1d0h1m"
    assert cli_routeros.size_text(40_000_000) == "38.1MiB"
    assert cli_routeros.size_text(4_005_888) == "3912.0KiB"
    assert cli_routeros.login_name("admin+ct511w4098h") == "admin"
    assert cli_routeros.login_name("admin") == "admin"
