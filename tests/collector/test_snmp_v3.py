"""PysnmpScraper over SNMPv3 authPriv against simulated APs on real loopback sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from collector.snmp import Missing, PysnmpScraper, SnmpTarget
from core.errors import PollError
from simulators.city import SimAp
from tests.simulators.helpers import Running
from tests.simulators.test_v3_live import serve_city

pytestmark = pytest.mark.slow

T = TypeVar("T")
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
IF_HC_IN = "1.3.6.1.2.1.31.1.1.1.6"


@pytest.fixture(scope="module")
def city() -> Iterator[Running]:
    with serve_city() as running:
        yield running


def target(ap: SimAp, **changes: Any) -> SnmpTarget:
    if ap.v3 is None:
        return SnmpTarget(ap.host, ap.snmp_port, ap.community, timeout_s=1, retries=0)
    fields: dict[str, Any] = {
        "user": ap.v3.user,
        "auth_protocol": ap.v3.auth_protocol,
        "auth_key": ap.v3.auth_key,
        "priv_protocol": ap.v3.priv_protocol,
        "priv_key": ap.v3.priv_key,
    }
    fields.update(changes)
    return SnmpTarget(ap.host, ap.snmp_port, "", timeout_s=1, retries=0, **fields)


def run(make: Coroutine[Any, Any, T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(make, 20)

    return asyncio.run(bounded())


def v3_aps(running: Running) -> list[SimAp]:
    return [ap for ap in running.city.aps if ap.v3 is not None]


def test_get_and_bulk_over_v3(city: Running) -> None:
    ap = v3_aps(city)[0]

    async def poll() -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
        scraper = PysnmpScraper()
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


@pytest.mark.parametrize("wrong", ["auth_key", "priv_key", "user"])
def test_wrong_credentials_raise_poll_error(city: Running, wrong: str) -> None:
    ap = v3_aps(city)[0]

    async def poll() -> None:
        scraper = PysnmpScraper()
        try:
            await scraper.get(target(ap, **{wrong: "definitely-wrong-1"}), [SYS_UPTIME])
        finally:
            scraper.close()

    with pytest.raises(PollError, match=f"{ap.host}:{ap.snmp_port}"):
        run(poll())


def test_v3_target_without_keys_is_a_poll_error() -> None:
    async def poll() -> None:
        scraper = PysnmpScraper()
        try:
            await scraper.get(SnmpTarget("127.1.0.1", 1161, user="noc"), [SYS_UPTIME])
        finally:
            scraper.close()

    with pytest.raises(PollError, match="without user or key"):
        run(poll())


def test_v2c_and_v3_aps_polled_concurrently_by_one_scraper(city: Running) -> None:
    aps = city.city.aps

    async def poll() -> list[list[tuple[str, Any]]]:
        scraper = PysnmpScraper()
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
