"""SNMPv3 authPriv against simulated APs over real UDP, read by net-snmp's tools."""

from __future__ import annotations

import asyncio
import functools
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from simulators.agent import SnmpAgentProtocol
from simulators.city import City, SimAp, build_city
from simulators.responder import AgentStats, Responder
from tests.simulators.conftest import free_udp_port, loopback_base
from tests.simulators.helpers import Running, require_tool

pytestmark = pytest.mark.slow

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
IF_HC_IN = "1.3.6.1.2.1.31.1.1.1.6"


async def _serve(
    city: City, stop: asyncio.Event, ready: threading.Event, stats: AgentStats
) -> None:
    """Like simulators.run.run_simulator, with each AP's USM engine handed to its
    responder (a responder answers v3, and only v3, when given one)."""
    loop = asyncio.get_running_loop()
    transports: list[asyncio.BaseTransport] = []
    try:
        for ap in city.aps:
            responder = Responder(ap.mib, ap.community.encode(), stats=stats, usm=ap.usm)
            transport, _ = await loop.create_datagram_endpoint(
                functools.partial(SnmpAgentProtocol, responder),
                local_addr=(ap.host, ap.snmp_port),
            )
            transports.append(transport)
        ready.set()
        await stop.wait()
    finally:
        for transport in transports:
            transport.close()


@contextmanager
def serve_city(aps: int = 12, seed: int = 3) -> Iterator[Running]:
    """A small city with both v2c and v3 APs, served from a background thread."""
    base = loopback_base()
    city = build_city(aps, seed=seed, base_address=base, snmp_port=free_udp_port(base))
    assert {ap.snmp_version for ap in city.aps} == {"2c", "3"}
    stats = AgentStats()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            loop.run_until_complete(_serve(city, stop, ready, stats))
        except BaseException as exc:
            failure.append(exc)
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="simulated-v3-city", daemon=True)
    thread.start()
    assert ready.wait(10), "the simulated city did not start within 10 s"
    if failure:
        raise failure[0]
    try:
        yield Running(city, stats, loop, stop)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        assert not thread.is_alive()


@pytest.fixture(scope="module")
def v3_city() -> Iterator[Running]:
    with serve_city() as running:
        yield running


def v3_ap(running: Running) -> SimAp:
    return next(ap for ap in running.city.aps if ap.v3 is not None)


def net_snmp_v3(
    tool: str,
    ap: SimAp,
    *oids: str,
    auth_key: str | None = None,
    options: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    assert ap.v3 is not None
    return subprocess.run(
        [require_tool(tool), "-v3", "-l", "authPriv", "-u", ap.v3.user,
         "-a", "SHA", "-A", auth_key or ap.v3.auth_key, "-x", "AES", "-X", ap.v3.priv_key,
         "-On", *options, f"{ap.host}:{ap.snmp_port}", *oids],
        capture_output=True,
        text=True,
        timeout=20,
    )  # fmt: skip


def lines(result: subprocess.CompletedProcess[str]) -> list[tuple[str, str]]:
    assert result.returncode == 0, f"failed ({result.returncode}): {result.stderr.strip()}"
    return [
        (oid, value)
        for oid, _, value in (line.partition(" = ") for line in result.stdout.splitlines())
    ]


def test_snmpget_v3_authpriv_reads_uptime(v3_city: Running) -> None:
    ap = v3_ap(v3_city)
    rows = lines(net_snmp_v3("snmpget", ap, SYS_UPTIME, "1.3.6.1.2.1.1.5.0"))
    assert [oid for oid, _ in rows] == [f".{SYS_UPTIME}", ".1.3.6.1.2.1.1.5.0"]
    assert rows[1][1] == f'STRING: "{ap.name}"'
    ticks = int(rows[0][1].split(")")[0].split("(")[1])
    assert abs(ticks - ap.device.uptime_cs(time.time())) < 500


def test_snmpwalk_v3_of_a_column(v3_city: Running) -> None:
    ap = v3_ap(v3_city)
    rows = lines(net_snmp_v3("snmpwalk", ap, IF_HC_IN))
    assert [oid for oid, _ in rows] == [
        f".{IF_HC_IN}.{i}" for i in range(1, len(ap.vendor.interfaces) + 1)
    ]
    assert all(value.startswith("Counter64: ") for _, value in rows)


def test_wrong_auth_key_is_an_authentication_failure(v3_city: Running) -> None:
    ap = v3_ap(v3_city)
    before = v3_city.stats.usm_reports
    result = net_snmp_v3(
        "snmpget", ap, SYS_UPTIME, auth_key="not-the-key-at-all", options=("-t", "0.5", "-r", "0")
    )
    assert result.returncode != 0
    assert "Authentication failure" in result.stderr
    assert v3_city.stats.usm_reports > before


def test_v3_ap_does_not_answer_v2c(v3_city: Running) -> None:
    ap = v3_ap(v3_city)
    v2c = next(other for other in v3_city.city.aps if other.v3 is None)
    result = subprocess.run(
        [require_tool("snmpget"), "-v2c", "-c", v2c.community, "-t", "0.5", "-r", "0",
         f"{ap.host}:{ap.snmp_port}", SYS_UPTIME],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert result.returncode != 0 and "Timeout" in result.stderr
