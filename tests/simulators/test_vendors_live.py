"""All four vendors over real sockets: net-snmp's snmpwalk, the RouterOS CLI over SSH and
the collector's own poll (pysnmp) against a small city served on loopback."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import asyncssh
import pytest

from collector.poll import PollResult, poll_ap
from collector.snmp import NetworkScraper, SnmpTarget
from simulators import ber
from simulators.city import City, SimAp, build_city
from simulators.run import run_simulator
from simulators.ssh import SshAp, ssh_aps_for
from tests.fixtures.ports import free_port
from tests.fixtures.simulated import busy_instant, loopback_base, require_tool, served_in_thread

pytestmark = pytest.mark.slow

COMMUNITY = "cw-vendors-live"
IF_IN = "1.3.6.1.2.1.2.2.1.10"
TIMEOUT = 10


@dataclass
class Clock:
    """The simulator's clock: real time shifted, or frozen at one instant."""

    shift: float = 0.0
    frozen: float | None = None

    def __call__(self) -> float:
        return self.frozen if self.frozen is not None else time.time() + self.shift


@dataclass
class Live:
    city: City
    clock: Clock
    ssh: list[SshAp]
    ssh_port: int

    def first(self, vendor: str) -> SimAp:
        return next(ap for ap in self.city.aps if ap.vendor.name == vendor)


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    base = loopback_base()
    city = build_city(20, seed=5, base_address=base, snmp_port=free_port(socket.SOCK_DGRAM, base))
    for ap in city.aps:  # v2c everywhere: net-snmp reads with one community
        ap.v3, ap.community = None, COMMUNITY
    assert {ap.vendor.name for ap in city.aps} == {"mikrotik", "unifi", "airmax", "openwrt"}
    ssh = [ssh_aps_for(city, limit=1, vendor=vendor)[0] for vendor in ("mikrotik", "openwrt")]
    ssh_port = free_port(socket.SOCK_STREAM, base)
    clock = Clock()

    def main(stop: asyncio.Event, ready: Callable[[], None]) -> Coroutine[Any, Any, None]:
        return run_simulator(
            city,
            stop=stop,
            ready=ready,
            clock=clock,
            control_port=None,
            ssh_aps=ssh,
            ssh_port=ssh_port,
        )

    with served_in_thread(main, "vendor-city", TIMEOUT):
        yield Live(city, clock, ssh, ssh_port)


@pytest.fixture(autouse=True)
def real_time(live: Live) -> Iterator[None]:
    yield
    live.clock.shift, live.clock.frozen = 0.0, None


def snmpwalk(ap: SimAp, oid: str) -> list[tuple[str, str]]:
    result = subprocess.run(
        [require_tool("snmpwalk"), "-v2c", "-c", ap.community, "-On", "-t", "1", "-r", "1",
         f"{ap.host}:{ap.snmp_port}", oid],
        capture_output=True,
        text=True,
        timeout=20,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return [  # without the end-of-view line net-snmp prints when a walk hits the end
        (name.lstrip("."), value)
        for name, _, value in (line.partition(" = ") for line in result.stdout.splitlines())
        if not value.startswith("No more variables left")
    ]


def column(rows: list[tuple[str, str]], prefix: str) -> list[str]:
    return [value for oid, value in rows if oid.startswith(prefix + ".")]


def test_airmax_wlstat_over_snmpwalk(live: Live) -> None:
    ap = live.first("airmax")
    rows = snmpwalk(ap, "1.3.6.1.4.1.41112.1.4.5.1")
    numbers = {int(oid.split(".")[-2]) for oid, _ in rows}
    assert numbers == set(range(1, 16))
    (signal,) = column(rows, "1.3.6.1.4.1.41112.1.4.5.1.5")
    (noise,) = column(rows, "1.3.6.1.4.1.41112.1.4.5.1.8")
    (stations,) = column(rows, "1.3.6.1.4.1.41112.1.4.5.1.15")
    assert signal.startswith("INTEGER: -") and noise.startswith("INTEGER: -")
    assert stations.startswith("Gauge32: ")
    radio = snmpwalk(ap, "1.3.6.1.4.1.41112.1.4.1.1")
    assert {int(oid.split(".")[-2]) for oid, _ in radio} == set(range(1, 10))
    assert not column(snmpwalk(ap, "1.3.6.1.2.1.31.1.1.1"), "1.3.6.1.2.1.31.1.1.1.6")
    counters = column(snmpwalk(ap, IF_IN), IF_IN)
    assert len(counters) == 4 and all(v.startswith("Counter32: ") for v in counters)


def test_openwrt_ucd_and_hr_storage_over_snmpwalk(live: Live) -> None:
    ap = live.first("openwrt")
    loads = column(snmpwalk(ap, "1.3.6.1.4.1.2021.10.1.3"), "1.3.6.1.4.1.2021.10.1.3")
    assert len(loads) == 3
    assert all(v.startswith('STRING: "') and float(v.split('"')[1]) >= 0 for v in loads)
    storage = snmpwalk(ap, "1.3.6.1.2.1.25.2.3.1")
    types = column(storage, "1.3.6.1.2.1.25.2.3.1.2")
    descrs = column(storage, "1.3.6.1.2.1.25.2.3.1.3")
    assert types[0] == "OID: .1.3.6.1.2.1.25.2.1.2"  # hrStorageRam
    assert descrs[0] == 'STRING: "Physical memory"' and descrs[-1] == 'STRING: "/overlay"'
    sizes = column(storage, "1.3.6.1.2.1.25.2.3.1.5")
    assert sizes[0] == f"INTEGER: {ap.model.memory_kib}"
    (total,) = column(snmpwalk(ap, "1.3.6.1.4.1.2021.4.5"), "1.3.6.1.4.1.2021.4.5")
    assert total.startswith(f"INTEGER: {ap.model.memory_kib}")


def routeros_count(live: Live, command: str) -> int:
    ap = next(a for a in live.ssh if a.flavour == "routeros")

    async def go() -> str:
        async with asyncssh.connect(
            ap.host,
            live.ssh_port,
            username=ap.username,
            password=ap.password,
            known_hosts=None,
            client_keys=None,
            connect_timeout=TIMEOUT,
        ) as conn:
            result = await asyncio.wait_for(conn.run(command), TIMEOUT)
            return str(result.stdout)

    return int(asyncio.run(go()).strip())


def test_mikrotik_hotspot_rows_equal_the_ssh_count(live: Live) -> None:
    ros = next(a for a in live.ssh if a.flavour == "routeros")
    ap = next(a for a in live.city.aps if a.host == ros.host)
    live.clock.frozen = busy_instant(ap)  # both sources see the same instant
    rows = snmpwalk(ap, "1.3.6.1.4.1.14988.1.1.5.1.1")
    users = column(rows, "1.3.6.1.4.1.14988.1.1.5.1.1.3")
    assert users and all(v.startswith('STRING: "guest-') for v in users)
    assert len(users) == routeros_count(live, "/ip hotspot active print count-only")
    bytes_in = column(rows, "1.3.6.1.4.1.14988.1.1.5.1.1.12")
    assert len(bytes_in) == len(users) and all(v.startswith("Counter64: ") for v in bytes_in)
    registered = routeros_count(live, "/interface wireless registration-table print count-only")
    (entries,) = column(snmpwalk(ap, "1.3.6.1.4.1.14988.1.1.1.4"), "1.3.6.1.4.1.14988.1.1.1.4")
    assert entries == f"Gauge32: {registered}"


def target(ap: SimAp) -> SnmpTarget:
    return SnmpTarget(ap.host, ap.snmp_port, ap.community, timeout_s=1, retries=1)


def poll_twice(ap: SimAp, pause_s: float) -> tuple[PollResult, PollResult]:
    async def go() -> tuple[PollResult, PollResult]:
        scraper = NetworkScraper()
        try:
            first = await poll_ap(scraper, target(ap), None, None)
            await asyncio.sleep(pause_s)
            second = await poll_ap(scraper, target(ap), None, first.reading)
            return first, second
        finally:
            scraper.close()

    return asyncio.run(asyncio.wait_for(go(), 30))


def counter32(ap: SimAp, oid: str, now: float) -> int:
    tlv = ap.mib.get(ber.encode_oid(ber.parse_oid(oid)), now)
    number = ber.decode_value(tlv[0], tlv[2:]).value
    assert isinstance(number, int)
    return number


def next_wrap(ap: SimAp, oid: str, start: float) -> float:
    """The instant (to 10 ms) a Counter32 next goes back, searched from ``start``."""
    t = start
    for _ in range(20_000):  # bounded: 10-minute steps
        if counter32(ap, oid, t + 600) < counter32(ap, oid, t):
            break
        t += 600
    else:
        raise AssertionError("no wrap found")
    low, high = t, t + 600
    while high - low > 0.01:
        mid = (low + high) / 2
        low, high = (
            (mid, high) if counter32(ap, oid, mid) >= counter32(ap, oid, low) else (low, mid)
        )
    return high


def test_collector_polls_airmax_across_a_counter32_wrap(live: Live) -> None:
    ap = live.first("airmax")
    uplink_in = f"{IF_IN}.2"
    boot = ap.device.boot_time(time.time())
    wrap = next_wrap(ap, uplink_in, boot + 60)
    assert ap.device.boot_time(wrap + 10) == boot
    live.clock.shift = wrap - 0.8 - time.time()  # first poll just before, second after
    first, second = poll_twice(ap, 1.6)
    for result in (first, second):
        assert result.ok and result.profile == "airmax" and result.errors == 0
        assert result.fields["clients"] >= 0  # present: ubntWlStatStaCount
    assert first.reading is not None and second.reading is not None
    assert first.reading.width == 32
    assert first.reading.rx_bytes is not None and second.reading.rx_bytes is not None
    assert second.reading.rx_bytes < first.reading.rx_bytes  # it wrapped...
    assert second.reading.uptime_ticks > first.reading.uptime_ticks  # ...without a reboot
    rate = ap.device.rate_bps(0, wrap) * 1.03
    assert second.fields["rx_bps"] == pytest.approx(rate, rel=0.5)


def test_collector_polls_openwrt_without_a_client_count(live: Live) -> None:
    ap = live.first("openwrt")
    first, second = poll_twice(ap, 1.0)
    for result in (first, second):
        assert result.ok and result.profile == "openwrt" and result.errors == 0
        assert "clients" not in result.fields  # absent, not zero
        assert result.reading is not None and result.reading.width == 64
    assert 0 <= second.fields["rx_bps"] < 1e9
