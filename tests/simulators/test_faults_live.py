"""Faults over real sockets: a small city on loopback, faults injected through the control
API over HTTP, and the APs read by pysnmp and net-snmp's snmpget."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from simulators.city import City, SimAp, build_city
from simulators.faults import FaultBook, build_fault_book
from simulators.run import run_simulator
from tests.fixtures.ports import free_port
from tests.fixtures.simulated import loopback_base, require_tool, served_in_thread

pytestmark = pytest.mark.slow

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
IF_IN = "1.3.6.1.2.1.2.2.1.10"
IF_HC_IN = "1.3.6.1.2.1.31.1.1.1.6"
CPU_LOAD = "1.3.6.1.2.1.25.3.3.1.2"  # hrProcessorLoad
CLIENTS = {
    "mikrotik": "1.3.6.1.4.1.14988.1.1.1.3.1.6.2",
    "unifi": "1.3.6.1.4.1.41112.1.6.1.2.1.8.1",
    "airmax": "1.3.6.1.4.1.41112.1.4.5.1.15.1",
}
TEN_DAYS = 10 * 86_400


@dataclass
class Live:
    city: City
    book: FaultBook
    http: httpx.Client
    clock: Callable[[], float]

    @property
    def aps(self) -> list[SimAp]:
        """The v2c APs: these tests read with v2c (v3 is tests/simulators/test_v3_live.py)."""
        return [ap for ap in self.city.aps if ap.v3 is None]

    def district_of(self, ap: SimAp) -> str:
        return self.book.site_district[ap.site]


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    base = loopback_base()
    city = build_city(12, seed=21, base_address=base, snmp_port=free_port(socket.SOCK_DGRAM, base))
    # Shift time so that the first AP has been up 10+ days: its HC counters are past 2^32.
    device = next(ap for ap in city.aps if ap.v3 is None).device
    shift = max(0.0, TEN_DAYS - device.uptime_cs(time.time()) / 100)

    def clock() -> float:
        return time.time() + shift

    book = build_fault_book(city, clock=clock)
    port = free_port()

    def main(stop: asyncio.Event, ready: Callable[[], None]) -> Coroutine[Any, Any, None]:
        return run_simulator(
            city, stop=stop, ready=ready, clock=clock, faults=book, control_port=port
        )

    with (
        served_in_thread(main, "faulty-city"),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http,
    ):
        deadline = time.monotonic() + 10
        while True:
            try:
                http.get("/faults").raise_for_status()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "control API did not come up"
                time.sleep(0.05)
        yield Live(city, book, http, clock)


@pytest.fixture(autouse=True)
def no_faults_left(live: Live) -> Iterator[None]:
    yield
    for fault in live.http.get("/faults").json():
        live.http.delete(f"/faults/{fault['id']}")


@dataclass
class Reading:
    elapsed: float
    error: str | None
    values: dict[str, Any]


async def _get(ap: SimAp, oids: tuple[str, ...], wait_s: float) -> Reading:
    from pysnmp.hlapi.v1arch.asyncio import (
        CommunityData,
        Null,
        SnmpDispatcher,
        UdpTransportTarget,
        get_cmd,
    )

    dispatcher = SnmpDispatcher()
    try:
        target = await UdpTransportTarget.create((ap.host, ap.snmp_port), timeout=wait_s, retries=0)
        began = time.monotonic()
        error, status, _, varbinds = await get_cmd(
            dispatcher,
            CommunityData(ap.community, mpModel=1),
            target,
            *((oid, Null()) for oid in oids),
            lookupMib=False,
        )
        elapsed = time.monotonic() - began
        if error is not None:
            return Reading(elapsed, str(error), {})
        assert int(status) == 0, status
        return Reading(elapsed, None, {str(name): value for name, value in varbinds})
    finally:
        dispatcher.transport_dispatcher.close_dispatcher()


def poll(aps: list[SimAp], *oids: str, timeout: float = 0.5) -> dict[str, Reading]:
    async def run() -> list[Reading]:
        return await asyncio.gather(*(_get(ap, oids, timeout) for ap in aps))

    readings = asyncio.run(asyncio.wait_for(run(), 20))
    return {ap.id: reading for ap, reading in zip(aps, readings, strict=True)}


def snmpget(ap: SimAp, *oids: str) -> list[str]:
    result = subprocess.run(
        [require_tool("snmpget"), "-v2c", "-c", ap.community, "-On", "-t", "0.5", "-r", "0",
         f"{ap.host}:{ap.snmp_port}", *oids],
        capture_output=True,
        text=True,
        timeout=10,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return [line.partition(" = ")[2] for line in result.stdout.splitlines()]


def inject(live: Live, kind: str, target: str, duration_s: float, **extra: Any) -> str:
    response = live.http.post(
        "/faults", json={"kind": kind, "target": target, "duration_s": duration_s, **extra}
    )
    assert response.status_code == 201, response.text
    fault_id: str = response.json()["id"]
    return fault_id


def test_district_power_cut_and_recovery(live: Live) -> None:
    require_tool("snmpget")
    # Not AP 0's district: the Counter32 test wants AP 0 long up.
    district = next(d for d in live.book.district_aps if d != live.district_of(live.aps[0]))
    inside = [ap for ap in live.aps if live.district_of(ap) == district]
    outside = [ap for ap in live.aps if live.district_of(ap) != district]
    assert inside and outside
    fault_id = inject(live, "district_power", district, 300)
    listed = live.http.get("/faults").json()
    in_district = [ap for ap in live.city.aps if live.district_of(ap) == district]  # v3 too
    assert [(f["id"], f["affected_aps"]) for f in listed] == [(fault_id, len(in_district))]
    readings = poll(live.aps, SYS_UPTIME)
    assert {ap.id for ap in live.aps if readings[ap.id].error} == {ap.id for ap in inside}
    assert all("timeout" in (readings[ap.id].error or "").lower() for ap in inside)
    assert live.http.delete(f"/faults/{fault_id}").status_code == 204
    after = poll(live.aps, SYS_UPTIME)
    for ap in inside:
        assert after[ap.id].error is None
        assert int(after[ap.id].values[SYS_UPTIME]) < 300  # booted: under 3 s up
    for ap in outside:
        assert int(after[ap.id].values[SYS_UPTIME]) > 3000


def test_ap_reboot_resets_uptime_and_counters(live: Live) -> None:
    # Whichever AP (not AP 0) has been up longest, even after the district test's cut.
    # airMAX APs have no ifXTable, so no ifHCInOctets to read.
    with_hc = [a for a in live.aps[1:] if a.vendor.if_x_table]
    ap = max(with_hc, key=lambda a: a.device.uptime_cs(live.clock()))
    oids = (SYS_UPTIME, f"{IF_HC_IN}.2")
    before = poll([ap], *oids)[ap.id]
    assert before.error is None
    inject(live, "ap_reboot", ap.id, 0.5)
    time.sleep(0.7)
    after = poll([ap], *oids)[ap.id]
    assert after.error is None
    assert int(after.values[SYS_UPTIME]) < 300 < int(before.values[SYS_UPTIME])
    assert int(after.values[f"{IF_HC_IN}.2"]) < min(int(before.values[f"{IF_HC_IN}.2"]), 10**7)


def test_slow_ap_answers_late_without_holding_up_others(live: Live) -> None:
    slow, fast = live.aps[1], live.aps[2]
    inject(live, "slow", slow.id, 30)
    readings = poll([slow, fast], SYS_UPTIME, timeout=6)
    assert readings[slow.id].error is None and readings[fast.id].error is None
    assert readings[slow.id].elapsed >= 2.0
    assert readings[fast.id].elapsed < 0.5


def test_malformed_uptime_is_a_string(live: Live) -> None:
    ap = live.aps[3]
    fault_id = inject(live, "malformed", ap.id, 60)
    values = snmpget(ap, SYS_UPTIME, f"{IF_HC_IN}.1", CLIENTS[ap.vendor.name])
    assert values[0].startswith("STRING:") and values[1].startswith("STRING:")
    assert values[2].startswith("No Such Object")
    live.http.delete(f"/faults/{fault_id}")
    assert snmpget(ap, SYS_UPTIME)[0].startswith("Timeticks:")


def test_silent_ap_reports_no_clients(live: Live) -> None:
    ap = with_clients(live)[0]
    oid = CLIENTS[ap.vendor.name]
    inject(live, "silent", ap.site, 60)
    reading = poll([ap], oid)[ap.id]
    assert reading.error is None and int(reading.values[oid]) == 0


def test_counter32_is_the_hc_counter_wrapped(live: Live) -> None:
    ap = live.aps[0]
    now = live.clock()
    if ap.device.uptime_cs(now) < 100 * TEN_DAYS // 2:
        pytest.skip("AP 0 was rebooted by an earlier test in this run")
    uplink = next(i for i, s in enumerate(ap.vendor.interfaces, start=1) if s.role == "uplink")
    values = snmpget(ap, f"{IF_IN}.{uplink}", f"{IF_HC_IN}.{uplink}")
    c32 = int(values[0].split(": ")[1])
    hc = int(values[1].split(": ")[1])
    assert values[0].startswith("Counter32") and values[1].startswith("Counter64")
    assert hc > 2**32
    assert c32 == hc % 2**32


def test_control_api_errors_over_http(live: Live) -> None:
    bad = live.http.post("/faults", json={"kind": "tornado", "target": "d01", "duration_s": 5})
    assert bad.status_code == 422 and "unknown fault kind" in bad.json()["detail"]
    bad = live.http.post("/faults", json={"kind": "ap_down", "target": "zz", "duration_s": 5})
    assert bad.status_code == 422 and "'zz'" in bad.json()["detail"]
    bad = live.http.post(
        "/faults", json={"kind": "ap_down", "target": live.aps[0].id, "duration_s": 0}
    )
    assert bad.status_code == 422 and "positive" in bad.json()["detail"]
    assert live.http.delete("/faults/f9999").status_code == 404


def with_clients(live: Live) -> list[SimAp]:
    """APs whose client count is an SNMP column these tests know (not AP 0)."""
    return [ap for ap in live.aps[1:] if ap.vendor.name in CLIENTS]


def snmpwalk(ap: SimAp, oid: str) -> list[str]:
    result = subprocess.run(
        [require_tool("snmpwalk"), "-v2c", "-c", ap.community, "-On", "-t", "0.5", "-r", "0",
         f"{ap.host}:{ap.snmp_port}", oid],
        capture_output=True,
        text=True,
        timeout=10,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return [line.partition(" = ")[2] for line in result.stdout.splitlines()]


def test_ap_down_then_boots(live: Live) -> None:
    ap, neighbour = with_clients(live)[0], with_clients(live)[1]
    fault_id = inject(live, "ap_down", ap.id, 120)
    readings = poll([ap, neighbour], SYS_UPTIME)
    assert readings[ap.id].error is not None and readings[neighbour.id].error is None
    live.http.delete(f"/faults/{fault_id}")
    assert int(poll([ap], SYS_UPTIME)[ap.id].values[SYS_UPTIME]) < 300


def test_site_power_cut_is_exactly_that_site(live: Live) -> None:
    site = next(s for s in live.city.sites if s.id != live.aps[0].site)
    inside = {ap.id for ap in live.aps if ap.site == site.id}
    fault_id = inject(live, "site_power", site.id, 120)
    readings = poll(live.aps, SYS_UPTIME)
    assert {ap_id for ap_id, r in readings.items() if r.error} == inside
    live.http.delete(f"/faults/{fault_id}")


def test_backhaul_cut_keeps_the_aps_running(live: Live) -> None:
    site = next(s for s in live.city.sites if s.id != live.aps[0].site)
    ap = next(a for a in live.aps if a.site == site.id)
    before = int(poll([ap], SYS_UPTIME)[ap.id].values[SYS_UPTIME])
    fault_id = inject(live, "backhaul_cut", site.id, 120)
    assert poll([ap], SYS_UPTIME)[ap.id].error is not None
    live.http.delete(f"/faults/{fault_id}")
    after = int(poll([ap], SYS_UPTIME)[ap.id].values[SYS_UPTIME])
    assert after >= before  # powered all along: no reboot


def test_overload_shows_high_cpu_and_many_clients(live: Live) -> None:
    with_load = [
        a for a in with_clients(live) if any(c.oid.startswith(CPU_LOAD) for c in a.vendor.cells)
    ]
    ap = with_load[1]
    oid = CLIENTS[ap.vendor.name]
    normal = int(poll([ap], oid)[ap.id].values[oid])
    inject(live, "overload", ap.id, 60)
    loads = [int(v.split(": ")[1]) for v in snmpwalk(ap, CPU_LOAD)]
    assert loads and max(loads) >= 90
    assert int(poll([ap], oid)[ap.id].values[oid]) > normal


def test_flapping_alternates_down_and_up(live: Live) -> None:
    ap = with_clients(live)[3]
    inject(live, "flapping", ap.id, 60, period_s=1.0)
    seen: set[bool] = set()
    deadline = time.monotonic() + 8
    while len(seen) < 2 and time.monotonic() < deadline:
        seen.add(poll([ap], SYS_UPTIME, timeout=0.3)[ap.id].error is None)
        time.sleep(0.2)
    assert seen == {True, False}


def test_uplink_cut_silences_every_site_behind_it_across_districts(live: Live) -> None:
    """Over real UDP: exactly the APs behind the uplink stop answering, in more than one
    district, while the rest answer; when it ends they answer again, uptime intact."""
    uplink = max(live.book.uplink_aps, key=lambda u: len(live.book.uplink_aps[u]))
    behind = set(live.book.uplink_aps[uplink])
    inside = [ap for ap in live.aps if ap.id in behind]
    assert inside and len(inside) < len(live.aps)
    assert len({live.district_of(ap) for ap in inside}) >= 2
    before = poll(inside, SYS_UPTIME)
    assert all(r.error is None for r in before.values())

    fault_id = inject(live, "uplink_cut", uplink, 120)
    listed = live.http.get("/faults").json()
    assert [(f["id"], f["kind"], f["affected_aps"]) for f in listed] == [
        (fault_id, "uplink_cut", len(behind))  # v3 APs behind it too
    ]
    readings = poll(live.aps, SYS_UPTIME)
    assert {ap_id for ap_id, r in readings.items() if r.error} == {ap.id for ap in inside}
    assert all("timeout" in (readings[ap.id].error or "").lower() for ap in inside)

    assert live.http.delete(f"/faults/{fault_id}").status_code == 204
    after = poll(inside, SYS_UPTIME)
    for ap in inside:
        assert after[ap.id].error is None
        # Powered all along: uptime carried on (a power cut would restart it near 0).
        assert int(after[ap.id].values[SYS_UPTIME]) >= int(before[ap.id].values[SYS_UPTIME])
