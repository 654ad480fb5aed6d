"""The collector's poll against the simulated city over real UDP: each vendor's metric
set, and its values against the simulated device at the same (frozen) instant."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from collector.oneshot import poll_once
from collector.poll import PollResult, poll_ap
from collector.snmp import PysnmpScraper, SnmpTarget
from core.errors import PollError
from simulators.city import City, SimAp, build_city
from simulators.run import run_simulator
from tests.simulators.conftest import free_udp_port, loopback_base
from tests.simulators.test_vendors import busy_instant
from timeseries.vocabulary import AP_METRICS

pytestmark = pytest.mark.slow

BASE = {"reachable", "poll_rtt_ms", "uptime_s", "rx_bytes", "tx_bytes", "if_errors"}
WLAN = {"wlan_rx_bytes", "wlan_tx_bytes"}
CLIENTS = {"clients", "clients_2g4", "clients_5g"}
EXPECTED: dict[str, set[str]] = {
    "mikrotik": BASE | WLAN | CLIENTS | {"cpu_pct", "mem_pct", "hotspot_users", "hotspot_sessions"},
    "unifi": BASE | WLAN | CLIENTS | {"cpu_pct", "mem_pct"},
    "airmax": BASE | WLAN | {"clients", "clients_5g", "signal_dbm", "noise_dbm", "ccq_pct"},
    "openwrt": BASE | WLAN | {"cpu_pct", "mem_pct"},
}


@dataclass
class LiveCity:
    city: City
    now: float  # the simulator's clock is frozen here

    def first(self, vendor: str, version: str = "2c") -> SimAp:
        return next(
            ap for ap in self.city.aps if ap.vendor.name == vendor and ap.snmp_version == version
        )


@contextmanager
def frozen_city() -> Iterator[LiveCity]:
    """20 APs of all four vendors (v2c and v3) served on loopback, their clock frozen at a
    busy instant of the first MikroTik (so its hotspot has sessions)."""
    base = loopback_base()
    city = build_city(20, seed=5, base_address=base, snmp_port=free_udp_port(base))
    assert {ap.vendor.name for ap in city.aps} == set(EXPECTED)
    mikrotik = next(ap for ap in city.aps if ap.vendor.name == "mikrotik")
    now = busy_instant(mikrotik)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            loop.run_until_complete(
                run_simulator(city, stop=stop, ready=ready.set, clock=lambda: now)
            )
        except BaseException as exc:
            failure.append(exc)
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=serve, name="oneshot-city", daemon=True)
    thread.start()
    assert ready.wait(10), "the city did not start"
    if failure:
        raise failure[0]
    try:
        yield LiveCity(city, now)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        assert not thread.is_alive()


@pytest.fixture(scope="module")
def live() -> Iterator[LiveCity]:
    with frozen_city() as running:
        yield running


def target(ap: SimAp) -> SnmpTarget:
    if ap.v3 is None:
        return SnmpTarget(ap.host, ap.snmp_port, ap.community, timeout_s=2, retries=1)
    return SnmpTarget(
        ap.host,
        ap.snmp_port,
        timeout_s=2,
        retries=1,
        user=ap.v3.user,
        auth_protocol=ap.v3.auth_protocol,
        auth_key=ap.v3.auth_key,
        priv_protocol=ap.v3.priv_protocol,
        priv_key=ap.v3.priv_key,
    )


def poll(ap: SimAp) -> PollResult:
    async def go() -> PollResult:
        scraper = PysnmpScraper()
        try:
            return await poll_ap(scraper, target(ap), None, None)
        finally:
            scraper.close()

    return asyncio.run(asyncio.wait_for(go(), 20))


@pytest.mark.parametrize("vendor", sorted(EXPECTED))
def test_each_vendor_gives_its_metric_set_and_the_devices_values(
    live: LiveCity, vendor: str
) -> None:
    ap = live.first(vendor)
    device, now = ap.device, live.now
    result = poll(ap)
    assert result.ok and result.profile == vendor and result.errors == 0, result
    assert set(result.fields) == EXPECTED[vendor]
    got = result.fields
    radios = range(device.radios)
    if "clients" in got:
        assert got["clients"] == device.total_clients(now)
    if vendor in ("mikrotik", "unifi"):  # radio 0 is 2.4 GHz, radio 1 is 5 GHz
        assert got["clients_2g4"] == device.clients(0, now)
        assert got["clients_5g"] == device.clients(1, now)
    if vendor == "airmax":
        assert got["clients_5g"] == got["clients"]
        assert got["signal_dbm"] == device.signal_dbm(0, now) < 0
        assert got["noise_dbm"] == device.noise_dbm(0, now) < 0
        assert got["ccq_pct"] == device.ccq_pct(0, now)
        assert got["wlan_rx_bytes"] == device.rx_bytes(0, now) % 2**32  # ath0 only
    else:
        assert got["wlan_rx_bytes"] == sum(device.rx_bytes(r, now) for r in radios)
        assert got["wlan_tx_bytes"] == sum(device.tx_bytes(r, now) for r in radios)
    if vendor == "mikrotik":
        sessions = device.sessions(now)
        assert got["hotspot_sessions"] == device.hotspot_sessions(now) > 0
        assert got["hotspot_users"] == len({s.user for s in sessions})
    if "cpu_pct" in got:
        assert got["cpu_pct"] == device.cpu_load(now)
        assert got["mem_pct"] == pytest.approx(device.mem_used_pct(now), abs=1.0)
    assert got["if_errors"] >= 0
    assert set(got) <= set(AP_METRICS)


def test_poll_once_over_v3_with_rates(live: LiveCity) -> None:
    ap = live.first("unifi", "3")
    shot = asyncio.run(poll_once(target(ap), rate_interval_s=0.2))
    assert shot.profile == "unifi" and shot.errors == 0
    # the clock is frozen: the counters stand still and every rate is a true 0
    assert shot.metrics["rx_bps"] == shot.metrics["wlan_rx_bps"] == 0.0
    assert list(shot.metrics) == [m for m in AP_METRICS if m in shot.metrics]


def test_poll_once_of_a_silent_address_raises(live: LiveCity) -> None:
    ap = live.first("openwrt")
    silent = SnmpTarget(ap.host, free_udp_port(ap.host), "public", timeout_s=0.2, retries=0)
    started = time.monotonic()
    with pytest.raises(PollError, match=r"timeout|No SNMP response"):
        asyncio.run(poll_once(silent))
    assert time.monotonic() - started < 5
