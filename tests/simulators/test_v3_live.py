"""SNMPv3 authPriv against simulated APs over real UDP, read by net-snmp's tools."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest

from simulators.city import SimAp
from tests.fixtures.simulated import Running, require_tool, serve_city

pytestmark = pytest.mark.slow

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
IF_HC_IN = "1.3.6.1.2.1.31.1.1.1.6"


@pytest.fixture(scope="module")
def v3_city() -> Iterator[Running]:
    with serve_city(12, seed=3) as running:
        assert {ap.snmp_version for ap in running.city.aps} == {"2c", "3"}
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
