"""The simulated city over real UDP, read by net-snmp's tools and by pysnmp."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time

import pytest

from core.errors import SimulatorError
from simulators.city import SimAp, build_city
from simulators.run import run_simulator
from tests.fixtures.simulated import Running, require_tool

pytestmark = pytest.mark.slow

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
IF_HC_IN = "1.3.6.1.2.1.31.1.1.1.6"
NUMERIC_OID = re.compile(r"(\.\d+)+")


def net_snmp(
    tool: str, ap: SimAp, *oids: str, community: str | None = None, options: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    """Run a net-snmp tool against an AP; (oid, 'TYPE: value') per output line."""
    result = subprocess.run(
        [require_tool(tool), "-v2c", "-c", community or ap.community, "-On", *options,
         f"{ap.host}:{ap.snmp_port}", *oids],
        capture_output=True,
        text=True,
        timeout=20,
    )  # fmt: skip
    if result.returncode != 0:
        raise AssertionError(f"{tool} failed ({result.returncode}): {result.stderr.strip()}")
    pairs: list[tuple[str, str]] = []
    for line in result.stdout.splitlines():
        oid, sep, value = line.partition(" = ")
        if (sep and NUMERIC_OID.fullmatch(oid)) or not pairs:
            pairs.append((oid, value))
        else:  # a value on several lines: a string holding a newline (a MAC byte 0x0a)
            pairs[-1] = (pairs[-1][0], pairs[-1][1] + "\n" + line)
    return pairs


def counter(value: str) -> int:
    """A Counter64/Counter32 value, or raw Timeticks such as '(103417956) 11 days, ...'."""
    kind, _, number = value.partition(": ")
    assert kind in ("Counter64", "Counter32", "Timeticks"), value
    return int(number.split(")")[0].strip("("))


def test_snmpget_reads_uptime_and_hc_counter(running_city: Running) -> None:
    ap = running_city.city.aps[0]
    first = net_snmp("snmpget", ap, SYS_UPTIME, f"{IF_HC_IN}.1", "1.3.6.1.2.1.1.5.0")
    assert [oid for oid, _ in first] == [f".{SYS_UPTIME}", f".{IF_HC_IN}.1", ".1.3.6.1.2.1.1.5.0"]
    assert first[2][1] == f'STRING: "{ap.name}"'
    uptime = counter(first[0][1])
    assert abs(uptime - ap.device.uptime_cs(time.time())) < 500
    time.sleep(0.3)
    second = net_snmp("snmpget", ap, SYS_UPTIME, f"{IF_HC_IN}.2")
    time.sleep(0.3)
    again = net_snmp("snmpget", ap, f"{IF_HC_IN}.2")
    assert counter(second[0][1]) > uptime
    assert counter(again[0][1]) > counter(second[1][1])


def test_snmpwalk_of_a_column(running_city: Running) -> None:
    ap = running_city.city.aps[0]
    rows = net_snmp("snmpwalk", ap, IF_HC_IN)
    assert [oid for oid, _ in rows] == [
        f".{IF_HC_IN}.{i}" for i in range(1, len(ap.vendor.interfaces) + 1)
    ]
    assert all(counter(value) >= 0 for _, value in rows)


@pytest.mark.parametrize("index", [0, 4])
def test_snmpbulkwalk_of_the_whole_tree(running_city: Running, index: int) -> None:
    ap = running_city.city.aps[index]
    # snmpbulkwalk fails on OIDs that do not increase; it stops at endOfMibView.
    rows = net_snmp("snmpbulkwalk", ap, ".1")
    *values, (last_oid, last_value) = rows
    assert last_value.startswith("No more variables left in this MIB View")
    oids = [tuple(int(arc) for arc in oid.strip(".").split(".")) for oid, _ in values]
    assert oids == list(ap.mib.oids)
    assert last_oid == values[-1][0]
    assert any(".1.3.6.1.4.1." in oid for oid, _ in values)


def test_wrong_community_times_out(running_city: Running) -> None:
    ap = running_city.city.aps[1]
    before = running_city.stats.bad_community
    with pytest.raises(AssertionError, match="Timeout"):
        net_snmp("snmpget", ap, SYS_UPTIME, community="wrong", options=("-t", "0.5", "-r", "0"))
    assert running_city.stats.bad_community == before + 1


def test_pysnmp_get_and_bulk(running_city: Running) -> None:
    from pysnmp.hlapi.v1arch.asyncio import (
        CommunityData,
        Null,
        SnmpDispatcher,
        UdpTransportTarget,
        bulk_cmd,
        get_cmd,
    )

    ap = running_city.city.aps[2]

    async def poll() -> tuple[list[tuple[str, int]], list[str]]:
        dispatcher = SnmpDispatcher()
        try:
            auth = CommunityData(ap.community, mpModel=1)
            target = await UdpTransportTarget.create((ap.host, ap.snmp_port), timeout=1, retries=0)
            error, status, _, varbinds = await get_cmd(
                dispatcher, auth, target, (SYS_UPTIME, Null()), (f"{IF_HC_IN}.1", Null())
            )
            assert error is None and int(status) == 0, (error, status)
            got = [(str(name), int(value)) for name, value in varbinds]
            error, status, _, table = await bulk_cmd(
                dispatcher, auth, target, 0, 6, (IF_HC_IN, Null())
            )
            assert error is None and int(status) == 0, (error, status)
            names = [str(name) for name, _ in table]
            return got, names
        finally:
            dispatcher.transport_dispatcher.close_dispatcher()

    got, names = asyncio.run(asyncio.wait_for(poll(), 10))
    assert [name for name, _ in got] == [SYS_UPTIME, f"{IF_HC_IN}.1"]
    assert got[0][1] > 0 and got[1][1] > 0
    column = tuple(int(arc) for arc in IF_HC_IN.split("."))
    following = [oid for oid in ap.mib.oids if oid > column][:6]  # the view is in OID order
    assert names == [".".join(map(str, oid)) for oid in following]
    assert names[0] == f"{IF_HC_IN}.1"


def test_binding_an_address_in_use_raises_simulator_error(running_city: Running) -> None:
    taken = running_city.city.aps[0]
    clash = build_city(1, base_address=taken.host, snmp_port=taken.snmp_port)

    async def start() -> None:
        await asyncio.wait_for(run_simulator(clash, stop=asyncio.Event()), 5)

    with pytest.raises(SimulatorError, match=f"{taken.host}:{taken.snmp_port}"):
        asyncio.run(start())
