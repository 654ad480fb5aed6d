from __future__ import annotations

import logging

import pytest

from simulators import ber
from simulators.city import SimAp, build_city
from simulators.responder import Responder

T0 = 1_700_000_000.0
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)


@pytest.fixture(scope="module")
def ap() -> SimAp:
    return build_city(1, seed=1).aps[0]


@pytest.fixture
def responder(ap: SimAp) -> Responder:
    return Responder(ap.mib, ap.community.encode(), clock=lambda: T0)


def ask(responder: Responder, data: bytes) -> ber.Message:
    answer = responder.answer(data)
    assert answer is not None
    return ber.decode_message(answer)


def test_get_answers_with_the_request_id(ap: SimAp, responder: Responder) -> None:
    community = ap.community.encode()
    request = ber.encode_request(community, ber.GET_REQUEST, 2**31 - 1, [SYS_NAME, SYS_UPTIME])
    message = ask(responder, request)
    assert message.pdu_tag == ber.RESPONSE
    assert message.request_id == 2**31 - 1
    assert message.community == community
    assert message.error_status == 0
    assert message.varbinds[0] == (SYS_NAME, (ber.OCTET_STRING, ap.name.encode()))
    assert message.varbinds[1] == (SYS_UPTIME, (ber.TIMETICKS, ap.device.uptime_cs(T0)))
    assert responder.stats.answered == 1


def test_wrong_community_gets_silence(responder: Responder) -> None:
    request = ber.encode_request(b"public", ber.GET_REQUEST, 1, [SYS_NAME])
    assert responder.answer(request) is None
    assert responder.stats.bad_community == 1


@pytest.mark.parametrize("version", [ber.VERSION_1, ber.VERSION_3])
def test_other_versions_get_silence(ap: SimAp, responder: Responder, version: int) -> None:
    request = ber.encode_request(
        ap.community.encode(), ber.GET_REQUEST, 1, [SYS_NAME], version=version
    )
    assert responder.answer(request) is None
    assert responder.stats.bad_version == 1


def test_garbage_is_counted_and_dropped(
    ap: SimAp, responder: Responder, caplog: pytest.LogCaptureFixture
) -> None:
    good = ber.encode_request(ap.community.encode(), ber.GET_REQUEST, 1, [SYS_NAME])
    bad_oid = ber.encode_message(
        ap.community.encode(), ber.GET_REQUEST, 1, 0, 0, [(b"\x06\x02\x2b\x81", ber.NULL_TLV)]
    )
    with caplog.at_level(logging.DEBUG, logger="simulators"):
        for data in (b"", b"\x00" * 40, good[:-3], good + b"\x01", bad_oid):
            assert responder.answer(data) is None
    assert responder.stats.malformed == 5
    assert "malformed" in caplog.text


def test_set_is_refused_as_not_writable(ap: SimAp, responder: Responder) -> None:
    varbinds = [(ber.encode_oid(SYS_NAME), ber.encode_octets(b"hacked"))]
    request = ber.encode_message(ap.community.encode(), ber.SET_REQUEST, 9, 0, 0, varbinds)
    message = ask(responder, request)
    assert (message.error_status, message.error_index) == (ber.NOT_WRITABLE, 1)
    assert message.varbinds == [(SYS_NAME, (ber.OCTET_STRING, b"hacked"))]


def test_responses_and_reports_are_not_answered(ap: SimAp, responder: Responder) -> None:
    request = ber.encode_request(ap.community.encode(), ber.RESPONSE, 1, [SYS_NAME])
    assert responder.answer(request) is None
    assert responder.stats.unsupported_pdu == 1


def test_get_next_and_bulk(ap: SimAp, responder: Responder) -> None:
    community = ap.community.encode()
    message = ask(responder, ber.encode_request(community, ber.GET_NEXT_REQUEST, 3, [(1, 3)]))
    assert message.varbinds[0][0] == (1, 3, 6, 1, 2, 1, 1, 1, 0)
    request = ber.encode_request(
        community, ber.GET_BULK_REQUEST, 4, [(1, 3)], max_repetitions=10_000
    )
    message = ask(responder, request)
    names = [oid for oid, _ in message.varbinds]
    # The whole view fits in 4 kB: every instance in order, then endOfMibView.
    assert names[:-1] == list(ap.mib.oids)
    assert message.varbinds[-1] == (names[-2], (ber.END_OF_MIB_VIEW, None))


def test_bulk_is_truncated_to_the_size_limit_and_get_reports_too_big(ap: SimAp) -> None:
    small = Responder(ap.mib, ap.community.encode(), clock=lambda: T0, max_size=400)
    community = ap.community.encode()
    bulk = ber.encode_request(community, ber.GET_BULK_REQUEST, 5, [(1, 3)], max_repetitions=500)
    answer = small.answer(bulk)
    assert answer is not None and len(answer) <= 400
    assert 3 < len(ber.decode_message(answer).varbinds) < len(ap.mib)
    many = ber.encode_request(community, ber.GET_REQUEST, 6, [SYS_NAME] * 40)
    message = ask(small, many)
    assert (message.error_status, message.varbinds) == (ber.TOO_BIG, [])


def test_a_failing_value_gives_gen_err(ap: SimAp, caplog: pytest.LogCaptureFixture) -> None:
    def broken_clock() -> float:
        return float("nan")

    responder = Responder(ap.mib, ap.community.encode(), clock=broken_clock)
    request = ber.encode_request(ap.community.encode(), ber.GET_REQUEST, 7, [SYS_UPTIME])
    with caplog.at_level(logging.ERROR, logger="simulators"):
        message = ask(responder, request)
    assert message.error_status == ber.GEN_ERR
    assert responder.stats.errors == 1
