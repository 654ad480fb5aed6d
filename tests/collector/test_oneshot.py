"""The collector's poll against the simulated city over real UDP: each vendor's metric
set, and its values against the simulated device at the same (frozen) instant."""

from __future__ import annotations

import asyncio
import socket

import pytest

from collector.oneshot import poll_once
from collector.poll import PollResult, poll_ap
from collector.snmp import NetworkScraper, SnmpTarget
from core.errors import PollError
from core.states import PollCause
from simulators.city import SimAp
from tests.fixtures.collector_devices import VENDOR_METRICS, LiveCity, sim_target
from tests.fixtures.ports import free_port
from timeseries.vocabulary import AP_METRICS

pytestmark = pytest.mark.slow


def target(ap: SimAp) -> SnmpTarget:
    return sim_target(ap, timeout_s=2, retries=1)


def poll(ap: SimAp) -> PollResult:
    async def go() -> PollResult:
        scraper = NetworkScraper()
        try:
            return await poll_ap(scraper, target(ap), None, None)
        finally:
            scraper.close()

    return asyncio.run(asyncio.wait_for(go(), 20))


@pytest.mark.parametrize("vendor", sorted(VENDOR_METRICS))
def test_each_vendor_gives_its_metric_set_and_the_devices_values(
    frozen_vendor_city: LiveCity, vendor: str
) -> None:
    ap = frozen_vendor_city.first(vendor)
    device, now = ap.device, frozen_vendor_city.now
    result = poll(ap)
    assert result.ok and result.profile == vendor and result.errors == 0, result
    assert set(result.fields) == VENDOR_METRICS[vendor]
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


def test_poll_once_over_v3_with_rates(frozen_vendor_city: LiveCity) -> None:
    ap = frozen_vendor_city.first("unifi", "3")
    shot = asyncio.run(poll_once(target(ap), rate_interval_s=0.2))
    assert shot.profile == "unifi" and shot.errors == 0
    # the clock is frozen: the counters stand still and every rate is a true 0
    assert shot.metrics["rx_bps"] == shot.metrics["wlan_rx_bps"] == 0.0
    assert list(shot.metrics) == [m for m in AP_METRICS if m in shot.metrics]


def test_poll_once_of_a_closed_port_is_refused(frozen_vendor_city: LiveCity) -> None:
    """Nothing listens there: the ICMP port unreachable ends the poll as ``refused``,
    long before its 15 s timeout would."""
    ap = frozen_vendor_city.first("openwrt")
    port = free_port(socket.SOCK_DGRAM, ap.host)
    closed = SnmpTarget(ap.host, port, "public", timeout_s=15, retries=0)
    with pytest.raises(PollError, match=f"^{ap.host}:{port}: refused") as caught:
        asyncio.run(asyncio.wait_for(poll_once(closed), 20))
    assert caught.value.cause is PollCause.REFUSED


def test_poll_once_of_a_silent_port_times_out(frozen_vendor_city: LiveCity) -> None:
    ap = frozen_vendor_city.first("openwrt")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind((ap.host, 0))
        quiet = SnmpTarget(ap.host, silent.getsockname()[1], "public", timeout_s=0.2, retries=0)
        with pytest.raises(PollError) as caught:
            asyncio.run(asyncio.wait_for(poll_once(quiet), 20))
    assert caught.value.cause is PollCause.TIMEOUT
