"""NetworkScraper over SNMPv3 authPriv against simulated APs on real loopback sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from collector.snmp import Missing, NetworkScraper, SnmpTarget
from collector.snmp.pysnmp_stacks import AUTH_FAILURE_INDICATIONS, cause_of
from core.errors import PollError
from core.states import PollCause
from simulators.city import SimAp
from tests.fixtures.collector_devices import sim_target
from tests.fixtures.simulated import Running

T = TypeVar("T")
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
IF_HC_IN = "1.3.6.1.2.1.31.1.1.1.6"


def target(ap: SimAp, **changes: Any) -> SnmpTarget:
    return sim_target(ap, timeout_s=1, retries=0, **changes)


def run(make: Coroutine[Any, Any, T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(make, 20)

    return asyncio.run(bounded())


def v3_aps(running: Running) -> list[SimAp]:
    return [ap for ap in running.city.aps if ap.v3 is not None]


@pytest.mark.slow
def test_get_and_bulk_over_v3(snmp_city: Running) -> None:
    ap = v3_aps(snmp_city)[0]

    async def poll() -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
        scraper = NetworkScraper()
        try:
            got = await scraper.get(target(ap), [SYS_UPTIME, SYS_NAME, "1.3.6.1.2.1.1.99.0"])
            rows = await scraper.bulk(target(ap), [SYS_NAME], [IF_HC_IN], 3)
            return got, rows
        finally:
            scraper.close()

    got, rows = run(poll())
    assert [oid for oid, _ in got] == [SYS_UPTIME, SYS_NAME, "1.3.6.1.2.1.1.99.0"]
    assert isinstance(got[0][1], int) and got[0][1] > 0
    assert got[1][1] == ap.name.encode()
    assert got[2][1] in (Missing.NO_SUCH_OBJECT, Missing.NO_SUCH_INSTANCE)
    assert [oid for oid, _ in rows] == [
        "1.3.6.1.2.1.1.6.0",
        *(f"{IF_HC_IN}.{i}" for i in (1, 2, 3)),
    ]
    assert all(isinstance(value, int) for _, value in rows[1:])


@pytest.mark.slow
@pytest.mark.parametrize("wrong", ["auth_key", "priv_key", "user"])
def test_wrong_credentials_are_an_auth_failure(snmp_city: Running, wrong: str) -> None:
    """The agent's USM report (wrong digest, decryption error, unknown user) is an auth
    failure, known by the report's class, at once rather than after a timeout."""
    ap = v3_aps(snmp_city)[0]

    async def poll() -> None:
        scraper = NetworkScraper()
        try:
            await scraper.get(target(ap, **{wrong: "definitely-wrong-1"}), [SYS_UPTIME])
        finally:
            scraper.close()

    with pytest.raises(PollError, match=f"{ap.host}:{ap.snmp_port}") as caught:
        run(poll())
    assert caught.value.cause is PollCause.AUTH_FAILURE


def test_v3_target_without_keys_is_an_auth_failure() -> None:
    """build_target never makes one; a target made by hand still fails typed."""

    async def poll() -> None:
        scraper = NetworkScraper()
        try:
            await scraper.get(SnmpTarget("127.1.0.1", 1161, user="noc"), [SYS_UPTIME])
        finally:
            scraper.close()

    with pytest.raises(PollError, match="without user or key") as caught:
        run(poll())
    assert caught.value.cause is PollCause.AUTH_FAILURE


def test_pysnmp_indications_map_by_class() -> None:
    from pysnmp.proto import errind

    assert cause_of(errind.requestTimedOut) is PollCause.TIMEOUT
    for name in AUTH_FAILURE_INDICATIONS:
        assert cause_of(getattr(errind, name)()) is PollCause.AUTH_FAILURE, name
    assert cause_of(errind.parseError) is PollCause.MALFORMED
    assert cause_of(errind.ReportPduReceived("1.3.6.1.6.3.15.1.1.9.0")) is PollCause.MALFORMED
    # By class, not by words: a timeout described otherwise is still a timeout.
    assert cause_of(errind.RequestTimedOut("the device said nothing")) is PollCause.TIMEOUT


@pytest.mark.slow
def test_v2c_and_v3_aps_polled_concurrently_by_one_scraper(snmp_city: Running) -> None:
    aps = snmp_city.city.aps

    async def poll() -> list[list[tuple[str, Any]]]:
        scraper = NetworkScraper()
        try:
            rounds = []
            for _ in range(2):  # the second round runs on discovered engines
                rounds.append(
                    await asyncio.gather(
                        *(scraper.get(target(ap), [SYS_NAME, SYS_UPTIME]) for ap in aps)
                    )
                )
            return rounds[-1]
        finally:
            scraper.close()

    results = run(poll())
    assert {ap.snmp_version for ap in aps} == {"2c", "3"}
    assert [got[0][1] for got in results] == [ap.name.encode() for ap in aps]
