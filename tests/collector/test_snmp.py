"""The collector's own v2c codec and transport (collector/snmp/ber.py and v2c.py).

The codec is checked against pysnmp's encoder and decoder (an independent implementation
of the same BER), the transport against a scripted agent on loopback that answers late,
twice, from the wrong place, with garbage or not at all, and both live against the
simulated city beside pysnmp's v1arch on the same APs.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

from collector.snmp import Missing, NetworkScraper, SnmpTarget, ber
from collector.snmp.pysnmp_stacks import convert
from core.errors import PollError
from core.states import PollCause
from tests.fixtures.simulated import Running

T = TypeVar("T")
V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
IF_TYPE = "1.3.6.1.2.1.2.2.1.3"

ALL_TYPES: list[tuple[str, Any]] = [
    ("1.3.6.1.2.1.1.3.0", V2C.TimeTicks(123456)),
    ("1.3.6.1.2.1.1.5.0", V2C.OctetString(b"ap-\xff\x00name")),
    ("1.3.6.1.2.1.1.2.0", V2C.ObjectIdentifier("1.3.6.1.4.1.14988.1")),
    ("1.3.6.1.2.1.2.2.1.3.1", V2C.Integer(-5)),
    ("1.3.6.1.2.1.2.2.1.10.1", V2C.Counter32(4294967295)),
    ("1.3.6.1.2.1.2.2.1.5.1", V2C.Gauge32(1000000000)),
    ("1.3.6.1.2.1.31.1.1.1.6.1", V2C.Counter64(2**64 - 1)),
    ("1.3.6.1.2.1.4.20.1.1.10.0.0.1", V2C.IpAddress("10.0.0.1")),
    ("1.3.6.1.4.1.2021.10.1.6.1", V2C.Opaque(b"\x9f\x78\x04\x3f\x80\x00\x00")),
    ("1.3.6.1.2.1.1.99.0", V2C.NoSuchObject("")),
    ("1.3.6.1.2.1.1.9.1.2.99", V2C.NoSuchInstance("")),
    ("1.3.6.1.9.9.9", V2C.EndOfMibView("")),
    ("2.999.1", V2C.Integer(0)),  # a first subidentifier above 127
]


def pysnmp_response(
    request_id: int,
    var_binds: list[tuple[str, Any]],
    error_status: int = 0,
    error_index: int = 0,
    community: bytes = b"public",
) -> bytes:
    pdu = V2C.GetResponsePDU()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, request_id)
    V2C.apiPDU.set_error_status(pdu, error_status)
    V2C.apiPDU.set_error_index(pdu, error_index)
    V2C.apiPDU.set_varbinds(pdu, var_binds)
    message = V2C.Message()
    V2C.apiMessage.set_defaults(message)
    V2C.apiMessage.set_community(message, community)
    V2C.apiMessage.set_pdu(message, pdu)
    encoded: bytes = encoder.encode(message)
    return encoded


def pysnmp_decode(data: bytes) -> Any:
    message, rest = decoder.decode(data, asn1Spec=V2C.Message())
    assert not rest
    return message


# -- codec ----------------------------------------------------------------------------------


@pytest.mark.parametrize("request_id", [1, 127, 128, 65535, 2**31 - 1])
def test_get_request_decodes_in_pysnmp(request_id: int) -> None:
    oids = [SYS_UPTIME, "1.3.6.1.2.1.31.1.1.1.6.100000", "1.3.6.1.4.1.14988.1.1.1.3.1.4"]
    packet = ber.encode_request(b"s3cret", ber.GET_REQUEST, request_id, oids)
    message = pysnmp_decode(packet)
    assert int(V2C.apiMessage.get_version(message)) == 1
    assert bytes(V2C.apiMessage.get_community(message)) == b"s3cret"
    pdu = V2C.apiMessage.get_pdu(message)
    assert pdu.isSameTypeWith(V2C.GetRequestPDU())
    assert int(V2C.apiPDU.get_request_id(pdu)) == request_id
    got = [(str(name), value) for name, value in V2C.apiPDU.get_varbinds(pdu)]
    assert [name for name, _ in got] == oids
    assert all(value.isSameTypeWith(V2C.Null()) for _, value in got)


def test_getbulk_request_decodes_in_pysnmp() -> None:
    packet = ber.encode_request(b"c", ber.GET_BULK_REQUEST, 42, [SYS_NAME, IF_TYPE], 1, 10)
    pdu = V2C.apiMessage.get_pdu(pysnmp_decode(packet))
    assert pdu.isSameTypeWith(V2C.GetBulkRequestPDU())
    assert int(V2C.apiBulkPDU.get_non_repeaters(pdu)) == 1
    assert int(V2C.apiBulkPDU.get_max_repetitions(pdu)) == 10


def test_long_requests_use_long_form_lengths() -> None:
    oids = [f"1.3.6.1.2.1.2.2.1.10.{i}" for i in range(1, 200)]
    pdu = V2C.apiMessage.get_pdu(pysnmp_decode(ber.encode_request(b"c", 0xA0, 7, oids)))
    assert [str(name) for name, _ in V2C.apiPDU.get_varbinds(pdu)] == oids


@pytest.mark.parametrize("bad", ["", "1", "3.1.2", "1.40.1", "1.3.-1", "1.3.x"])
def test_encoding_a_bad_oid_is_a_value_error(bad: str) -> None:
    with pytest.raises(ValueError):
        ber.encode_request(b"c", ber.GET_REQUEST, 1, [bad])


def test_response_values_as_pysnmp_would_give_them() -> None:
    data = pysnmp_response(99, ALL_TYPES)
    response = ber.decode_response(data)
    assert (response.request_id, response.error_status, response.error_index) == (99, 0, 0)
    pdu = V2C.apiMessage.get_pdu(pysnmp_decode(data))
    assert response.var_binds == [convert(vb) for vb in V2C.apiPDU.get_varbinds(pdu)]
    values = dict(response.var_binds)
    assert values["1.3.6.1.2.1.31.1.1.1.6.1"] == 2**64 - 1
    assert values["1.3.6.1.2.1.2.2.1.3.1"] == -5
    assert values["1.3.6.1.2.1.1.2.0"] == "1.3.6.1.4.1.14988.1"
    assert values["1.3.6.1.2.1.4.20.1.1.10.0.0.1"] == "10.0.0.1"
    assert values["1.3.6.1.2.1.1.99.0"] is Missing.NO_SUCH_OBJECT
    assert values["1.3.6.1.9.9.9"] is Missing.END_OF_MIB_VIEW
    assert "2.999.1" in values


def test_error_status_and_index_are_read() -> None:
    response = ber.decode_response(pysnmp_response(5, [(SYS_NAME, V2C.Null())], 2, 1))
    assert (response.error_status, response.error_index) == (2, 1)
    assert ber.error_status_name(2) == "noSuchName"
    assert ber.error_status_name(99) == "99"


def test_every_truncation_is_a_ber_error() -> None:
    data = pysnmp_response(1234, ALL_TYPES)
    for cut in range(len(data)):
        with pytest.raises(ber.BerError):
            ber.decode_response(data[:cut])


def test_a_broken_value_names_its_request() -> None:
    good = pysnmp_response(1234, [(SYS_NAME, V2C.Integer(1))])
    with pytest.raises(ber.BerError) as caught:
        ber.decode_response(good[:-3] + b"\x47\x01\x01")  # an unknown value tag
    assert caught.value.request_id == 1234


def test_random_corruption_never_raises_anything_but_ber_error() -> None:
    rng = random.Random(5)
    data = pysnmp_response(77, ALL_TYPES)
    for _ in range(3000):
        broken = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            broken[rng.randrange(len(broken))] = rng.randrange(256)
        with contextlib.suppress(ber.BerError):
            ber.decode_response(bytes(broken))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x30",
        b"\x30\x80\x02\x01\x01",  # indefinite length
        b"\x30\x85\x00\x00\x00\x00\x05",  # length of length > 4
        b"\x04\x03abc",  # not a SEQUENCE
        b"\x30\x03\x02\x01\x00",  # SNMPv1
        b"\x30\x03\x02\x01\x03",  # SNMPv3
    ],
)
def test_garbage_is_a_ber_error(data: bytes) -> None:
    with pytest.raises(ber.BerError):
        ber.decode_response(data)


def test_a_request_pdu_is_not_a_response() -> None:
    with pytest.raises(ber.BerError, match="not a Response"):
        ber.decode_response(ber.encode_request(b"c", ber.GET_REQUEST, 1, [SYS_NAME]))


# -- transport against a scripted agent ------------------------------------------------------

Script = Callable[["Agent", bytes, tuple[str, int]], None]


class Agent(asyncio.DatagramProtocol):
    """A loopback agent whose answers a test scripts; it records every request."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[Any] = []  # decoded by pysnmp
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.requests.append(V2C.apiMessage.get_pdu(pysnmp_decode(data)))
        self.script(self, data, addr)

    def send(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(data, addr)

    @property
    def request_ids(self) -> list[int]:
        return [int(V2C.apiPDU.get_request_id(pdu)) for pdu in self.requests]


def answer(var_binds: list[tuple[str, Any]] | None = None, **kw: Any) -> Script:
    def script(agent: Agent, data: bytes, addr: tuple[str, int]) -> None:
        pdu = agent.requests[-1]
        binds = var_binds or [(str(n), V2C.Integer(1)) for n, _ in V2C.apiPDU.get_varbinds(pdu)]
        agent.send(pysnmp_response(int(V2C.apiPDU.get_request_id(pdu)), binds, **kw), addr)

    return script


def run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(make(), 20)

    return asyncio.run(bounded())


async def with_agent(
    script: Script, work: Callable[[NetworkScraper, SnmpTarget], Coroutine[Any, Any, T]],
    timeout_s: float = 0.2, retries: int = 0,
) -> tuple[T | BaseException, Agent]:  # fmt: skip
    loop = asyncio.get_running_loop()
    agent = Agent(script)
    transport, _ = await loop.create_datagram_endpoint(lambda: agent, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    scraper = NetworkScraper()
    try:
        target = SnmpTarget("127.0.0.1", port, "public", timeout_s=timeout_s, retries=retries)
        try:
            return await work(scraper, target), agent
        except (PollError, ber.BerError) as exc:
            return exc, agent
    finally:
        scraper.close()
        transport.close()


def test_get_round_trip_through_a_socket() -> None:
    result, agent = run(
        lambda: with_agent(answer(ALL_TYPES), lambda s, t: s.get(t, [o for o, _ in ALL_TYPES]))
    )
    assert result == ber.decode_response(pysnmp_response(1, ALL_TYPES)).var_binds
    assert agent.requests[0].isSameTypeWith(V2C.GetRequestPDU())


def test_bulk_asks_getbulk_with_its_head() -> None:
    result, agent = run(
        lambda: with_agent(answer(), lambda s, t: s.bulk(t, [SYS_UPTIME], [IF_TYPE], 7))
    )
    assert result == [(SYS_UPTIME, 1), (IF_TYPE, 1)]
    pdu = agent.requests[0]
    assert pdu.isSameTypeWith(V2C.GetBulkRequestPDU())
    assert int(V2C.apiBulkPDU.get_non_repeaters(pdu)) == 1
    assert int(V2C.apiBulkPDU.get_max_repetitions(pdu)) == 7


def test_silence_times_out_after_every_retry() -> None:
    result, agent = run(
        lambda: with_agent(lambda *_: None, lambda s, t: s.get(t, [SYS_NAME]), retries=2)
    )
    assert isinstance(result, PollError) and result.cause is PollCause.TIMEOUT
    assert "127.0.0.1" in str(result)
    assert len(agent.requests) == 3
    assert len(set(agent.request_ids)) == 1  # a retry is the same request


def test_a_retry_is_answered() -> None:
    def second_time(agent: Agent, data: bytes, addr: tuple[str, int]) -> None:
        if len(agent.requests) == 2:
            answer()(agent, data, addr)

    result, agent = run(
        lambda: with_agent(second_time, lambda s, t: s.get(t, [SYS_NAME]), retries=1)
    )
    assert result == [(SYS_NAME, 1)]
    assert len(agent.requests) == 2


def test_a_late_answer_to_the_first_attempt_counts() -> None:
    def late(agent: Agent, data: bytes, addr: tuple[str, int]) -> None:
        if len(agent.requests) == 2:  # answer the first attempt's copy only now
            answer()(agent, data, addr)

    result, _agent = run(
        lambda: with_agent(late, lambda s, t: s.get(t, [SYS_NAME]), timeout_s=0.1, retries=3)
    )
    assert result == [(SYS_NAME, 1)]


def test_stray_and_foreign_datagrams_are_ignored() -> None:
    def noisy(agent: Agent, data: bytes, addr: tuple[str, int]) -> None:
        request_id = agent.request_ids[-1]
        agent.send(pysnmp_response(request_id + 1, [(SYS_NAME, V2C.Integer(666))]), addr)
        agent.send(b"\x30\x03garbage", addr)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:  # right id, wrong sender
            other.sendto(pysnmp_response(request_id, [(SYS_NAME, V2C.Integer(777))]), addr)
        agent.send(pysnmp_response(request_id, [(SYS_NAME, V2C.Integer(1))]), addr)
        agent.send(pysnmp_response(request_id, [(SYS_NAME, V2C.Integer(888))]), addr)  # dup

    async def work(scraper: NetworkScraper, target: SnmpTarget) -> list[Any]:
        first = await scraper.get(target, [SYS_NAME])
        await asyncio.sleep(0.05)  # the duplicate arrives after the request is done
        return [first, await scraper.get(target, [SYS_NAME])]

    result, _ = run(lambda: with_agent(noisy, work))
    assert result == [[(SYS_NAME, 1)], [(SYS_NAME, 1)]]


def test_a_datagram_cut_short_is_dropped_and_the_retry_answered() -> None:
    def cut_then_good(agent: Agent, data: bytes, addr: tuple[str, int]) -> None:
        good = pysnmp_response(agent.request_ids[-1], [(SYS_NAME, V2C.Integer(1))])
        agent.send(good if len(agent.requests) > 1 else good[:-2], addr)

    result, agent = run(
        lambda: with_agent(cut_then_good, lambda s, t: s.get(t, [SYS_NAME]), retries=1)
    )
    assert result == [(SYS_NAME, 1)]
    assert len(agent.requests) == 2


def test_an_unknown_value_tag_is_malformed_not_a_crash() -> None:
    def unknown_tag(agent: Agent, data: bytes, addr: tuple[str, int]) -> None:
        good = pysnmp_response(agent.request_ids[-1], [(SYS_NAME, V2C.Integer(1))])
        agent.send(good[:-3] + b"\x47\x01\x01", addr)

    result, _ = run(lambda: with_agent(unknown_tag, lambda s, t: s.get(t, [SYS_NAME]), 5))
    assert isinstance(result, PollError) and result.cause is PollCause.MALFORMED
    assert "malformed response" in str(result)


def test_an_error_status_is_a_poll_error_naming_it() -> None:
    result, _ = run(
        lambda: with_agent(answer(error_status=2, error_index=1), lambda s, t: s.get(t, ["1.3"]))
    )
    assert isinstance(result, PollError) and result.cause is PollCause.MALFORMED
    assert "error-status noSuchName at varbind 1" in str(result)


def test_an_authorization_error_status_is_an_auth_failure() -> None:
    result, _ = run(
        lambda: with_agent(answer(error_status=16, error_index=0), lambda s, t: s.get(t, ["1.3"]))
    )
    assert isinstance(result, PollError) and result.cause is PollCause.AUTH_FAILURE


def test_many_requests_in_flight_are_matched_by_request_id() -> None:
    def shuffled(agent: Agent, data: bytes, addr: tuple[str, int]) -> None:
        if len(agent.requests) % 50:
            return
        batch = agent.requests[-50:]
        random.Random(3).shuffle(batch)
        for pdu in batch:
            name = str(V2C.apiPDU.get_varbinds(pdu)[0][0])
            value = V2C.Integer(int(name.rsplit(".", 1)[1]))
            agent.send(pysnmp_response(int(V2C.apiPDU.get_request_id(pdu)), [(name, value)]), addr)

    async def work(scraper: NetworkScraper, target: SnmpTarget) -> list[Any]:
        return await asyncio.gather(*(scraper.get(target, [f"1.3.6.{i}"]) for i in range(200)))

    result, _ = run(lambda: with_agent(shuffled, work, timeout_s=5))
    assert result == [[(f"1.3.6.{i}", i)] for i in range(200)]


# -- why a request failed: each cause over real UDP on loopback -------------------------------


def get_one(target: SnmpTarget, v2c: Any = "ber") -> BaseException | None:
    """GET sysName of ``target`` with a fresh scraper: the PollError, or None."""

    async def main() -> None:
        scraper = NetworkScraper(v2c=v2c)
        try:
            await scraper.get(target, [SYS_NAME])
        finally:
            scraper.close()

    try:
        run(main)
    except PollError as exc:
        return exc
    return None


@pytest.mark.parametrize("v2c", ["ber", "pysnmp"])
def test_a_silent_socket_is_a_timeout(silent_udp_port: int, v2c: str) -> None:
    failed = get_one(SnmpTarget("127.0.0.1", silent_udp_port, "public", 0.2, 1), v2c)
    assert isinstance(failed, PollError) and failed.cause is PollCause.TIMEOUT
    assert f"127.0.0.1:{silent_udp_port}" in str(failed)


def test_a_closed_port_is_refused_at_once(free_udp_port: Callable[[], int]) -> None:
    """ICMP port unreachable fails the request when it arrives: with a 15 s timeout, a
    refusal missed would end as a timeout (and take 15 s), not as ``refused``."""
    port = free_udp_port()
    failed = get_one(SnmpTarget("127.0.0.1", port, "public", timeout_s=15, retries=0))
    assert isinstance(failed, PollError) and failed.cause is PollCause.REFUSED, failed
    assert f"127.0.0.1:{port}: refused" in str(failed)


def test_a_refusal_fails_only_its_own_request(free_udp_port: Callable[[], int]) -> None:
    """Refusals and answers interleaved on the one socket: each closed port's request is
    refused, each live agent's request answered. An ICMP error pending on the socket makes
    the kernel fail the next send, whoever it is for; that send must go out again, not be
    lost (with no retries and a long timeout, a lost one would time out)."""
    closed = [free_udp_port() for _ in range(5)]

    async def work(scraper: NetworkScraper, live: SnmpTarget) -> list[Any]:
        async def one(i: int) -> Any:
            if i % 2:
                return await scraper.get(live, [SYS_NAME])
            dead = SnmpTarget("127.0.0.1", closed[i % 5], "public", timeout_s=15, retries=0)
            try:
                return await scraper.get(dead, [SYS_NAME])
            except PollError as exc:
                return exc.cause

        outcomes = []
        for _round in range(10):
            outcomes.extend(await asyncio.gather(*(one(i) for i in range(10))))
            await asyncio.sleep(0)
        return outcomes

    result, agent = run(lambda: with_agent(answer(), work, timeout_s=15))
    assert result == [[(SYS_NAME, 1)] if i % 2 else PollCause.REFUSED for i in range(10)] * 10
    assert len(agent.requests) == 50


def test_the_request_id_of_an_echoed_request_even_cut_short() -> None:
    oids = [f"1.3.6.1.2.1.2.2.1.10.{i}" for i in range(1, 120)]
    packet = ber.encode_request(b"public", ber.GET_BULK_REQUEST, 123_456, oids, 1, 10)
    assert len(packet) > 1000
    assert ber.request_id_of(packet) == 123_456
    assert ber.request_id_of(packet[:500]) == 123_456  # as an ICMP error quotes it
    assert ber.request_id_of(packet[:18]) is None  # cut inside the request-id
    assert ber.request_id_of(pysnmp_response(5, [])) is None  # not a request
    assert ber.request_id_of(b"") is None


def test_a_bad_oid_is_a_poll_error() -> None:
    result, agent = run(lambda: with_agent(answer(), lambda s, t: s.get(t, ["not.an.oid"])))
    assert isinstance(result, PollError) and not agent.requests


def test_close_fails_what_is_in_flight() -> None:
    async def main() -> BaseException | None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: Agent(lambda *_: None), local_addr=("127.0.0.1", 0)
        )
        port = transport.get_extra_info("sockname")[1]
        scraper = NetworkScraper()
        try:
            task = asyncio.ensure_future(
                scraper.get(SnmpTarget("127.0.0.1", port, "c", timeout_s=10), [SYS_NAME])
            )
            await asyncio.sleep(0.05)
            scraper.close()
            try:
                await task
            except PollError as exc:
                return exc
            return None
        finally:
            transport.close()

    assert "closed" in str(run(main))


# -- live, against the simulated city ----------------------------------------------------------


@pytest.mark.slow
def test_live_codec_agrees_with_pysnmp_v1arch(snmp_city: Running) -> None:
    from collector import profiles
    from collector.poll import poll_ap

    aps = [ap for ap in snmp_city.city.aps if ap.v3 is None]
    assert aps

    async def both() -> list[Any]:
        own, old = NetworkScraper(), NetworkScraper(v2c="pysnmp")
        try:
            out: list[tuple[Any, Any]] = []
            for ap in aps:
                target = SnmpTarget(ap.host, ap.snmp_port, ap.community, timeout_s=2, retries=1)
                oids = [SYS_NAME, "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.99.0"]
                out.append((await own.get(target, oids), await old.get(target, oids)))
                bulk = [await s.bulk(target, [SYS_NAME], [IF_TYPE], 4) for s in (own, old)]
                out.append((bulk[0], bulk[1]))
                polls = [await poll_ap(s, target, None, None) for s in (own, old)]
                out.append((polls[0].profile, polls[1].profile))
                assert polls[0].ok and polls[0].errors == 0, polls[0]
                assert profiles.get(polls[0].profile)
            return out
        finally:
            own.close()
            old.close()

    for mine, theirs in run(both):
        assert mine == theirs


@pytest.mark.slow
def test_live_wrong_community_times_out(snmp_city: Running) -> None:
    ap = next(ap for ap in snmp_city.city.aps if ap.v3 is None)

    async def poll() -> Any:
        scraper = NetworkScraper()
        try:
            target = SnmpTarget(ap.host, ap.snmp_port, "wrong", timeout_s=0.3, retries=1)
            return await scraper.get(target, [SYS_NAME])
        finally:
            scraper.close()

    with pytest.raises(PollError, match=f"{ap.host}:{ap.snmp_port}") as caught:
        run(poll)
    assert caught.value.cause is PollCause.TIMEOUT
