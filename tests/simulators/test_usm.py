"""SNMPv3 USM in the simulated agent, in-process: keys, digests, privacy and reports."""

from __future__ import annotations

import pytest

from simulators import ber, usm
from simulators.city import build_city
from simulators.responder import Responder
from simulators.usm import UsmAgent, UsmUser

T0 = 1_700_000_000.0
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
ENGINE = bytes.fromhex("80001f880461703031")


def test_key_localisation_matches_rfc_3414_a_3_2() -> None:
    engine_id = bytes(11) + b"\x02"
    key = usm.localized_key("maplesyrup", engine_id, "sha1")
    assert key.hex() == "6695febc9288e36282235fc7151f128497b38f3f"
    # A.3.2 also gives the intermediate Ku.
    assert usm.password_to_key(b"maplesyrup").hex() == "9fb5cc0381497b3793528939ff788d5d79145211"


def test_hmac_sha_96_is_truncated_and_key_dependent() -> None:
    user = _user()
    digest = user.digest(b"message")
    assert len(digest) == 12
    assert digest == user.digest(b"message")
    assert digest != _user(auth="another-password").digest(b"message")


def test_aes_cfb_round_trip_keeps_length() -> None:
    key, iv = bytes(range(16)), usm.aes_iv(3, 12345, b"\x00" * 7 + b"\x01")
    plain = b"scoped pdu of odd length!"
    secret = usm.aes_cfb(key, iv, plain, encrypt=True)
    assert len(secret) == len(plain) and secret != plain
    assert usm.aes_cfb(key, iv, secret, encrypt=False) == plain


def _user(
    auth: str = "auth-password-1234", priv: str = "priv-password-5678", engine: bytes = ENGINE
) -> UsmUser:
    return UsmUser.from_passwords(
        "noc",
        engine,
        auth_protocol="SHA",
        auth_password=auth,
        priv_protocol="AES",
        priv_password=priv,
    )


class Manager:
    """Just enough of an SNMPv3 manager to drive the agent in-process."""

    def __init__(self, user: UsmUser | None, engine_id: bytes = b"") -> None:
        self.user = user
        self.engine_id = engine_id
        self.boots = 0
        self.time = 0
        self.msg_id = 100

    def request(
        self,
        oids: list[ber.Oid],
        flags: int = usm.FLAG_AUTH | usm.FLAG_PRIV,
        *,
        tag: int = ber.GET_REQUEST,
        max_repetitions: int = 0,
    ) -> bytes:
        self.msg_id += 1
        pdu = ber.encode_pdu(
            tag,
            self.msg_id + 1000,
            0,
            max_repetitions,
            [(ber.encode_oid(oid), ber.NULL_TLV) for oid in oids],
        )
        scoped = usm.encode_scoped_pdu(self.engine_id, b"", pdu)
        name = self.user.name if self.user is not None and flags else b""
        return usm.encode_message(
            self.engine_id,
            self.msg_id,
            flags | usm.FLAG_REPORTABLE,
            self.user,
            name,
            self.boots,
            self.time,
            scoped,
        )

    def read(self, data: bytes | None) -> tuple[usm.Header, ber.Request]:
        assert data is not None, "the agent stayed silent"
        header = usm.parse_header(data)
        assert header.msg_id == self.msg_id
        if header.flags & usm.FLAG_AUTH:
            assert self.user is not None
            given = data[header.auth_start : header.auth_end]
            zeroed = data[: header.auth_start] + bytes(12) + data[header.auth_end :]
            assert self.user.digest(zeroed) == given, "bad digest on the agent's message"
        _context, pdu = usm.decode_scoped_pdu(data, header, self.user)
        return header, pdu

    def discover(self, responder: Responder) -> None:
        header, pdu = self.read(responder.answer(self.request([], flags=0)))
        assert pdu.pdu_tag == ber.REPORT
        self.engine_id, self.boots, self.time = header.engine_id, header.boots, header.time


@pytest.fixture
def v3_ap() -> tuple[Responder, UsmUser, float]:
    city = build_city(12, seed=3)
    ap = next(ap for ap in city.aps if ap.v3 is not None)
    assert ap.usm is not None and ap.v3 is not None
    clock = [T0]
    responder = Responder(ap.mib, b"", clock=lambda: clock[0], usm=ap.usm)
    user = UsmUser.from_passwords(
        ap.v3.user,
        ap.usm.engine_id,
        auth_protocol="SHA",
        auth_password=ap.v3.auth_key,
        priv_protocol="AES",
        priv_password=ap.v3.priv_key,
    )
    boots_time = T0 - ap.device.boot_time(T0)
    return responder, user, boots_time


def _report_oid(pdu: ber.Request) -> ber.Oid:
    assert pdu.pdu_tag == ber.REPORT and len(pdu.oids) == 1
    return ber.decode_oid_tlv(pdu.oids[0])


def test_discovery_reports_engine_id_boots_and_time(
    v3_ap: tuple[Responder, UsmUser, float],
) -> None:
    responder, _, since_boot = v3_ap
    manager = Manager(None)
    header, pdu = manager.read(responder.answer(manager.request([SYS_UPTIME], flags=0)))
    assert _report_oid(pdu) == usm.UNKNOWN_ENGINE_IDS
    assert header.engine_id.startswith(usm.ENGINE_ID_PREFIX)
    assert header.flags & (usm.FLAG_AUTH | usm.FLAG_PRIV) == 0
    assert header.boots == 1 and abs(header.time - since_boot) <= 1
    assert pdu.request_id == manager.msg_id + 1000
    assert responder.stats.usm_reports == 1


def test_authpriv_get_after_discovery(v3_ap: tuple[Responder, UsmUser, float]) -> None:
    responder, user, _ = v3_ap
    manager = Manager(user)
    manager.discover(responder)
    header, pdu = manager.read(responder.answer(manager.request([SYS_UPTIME, SYS_NAME])))
    assert header.flags & (usm.FLAG_AUTH | usm.FLAG_PRIV) == usm.FLAG_AUTH | usm.FLAG_PRIV
    assert pdu.pdu_tag == ber.RESPONSE and pdu.error_status == 0
    assert [ber.decode_oid_tlv(oid) for oid in pdu.oids] == [SYS_UPTIME, SYS_NAME]
    assert pdu.values[0][0] == ber.TIMETICKS and pdu.values[1][0] == ber.OCTET_STRING


def test_getbulk_over_v3_is_bounded_by_the_message_size(
    v3_ap: tuple[Responder, UsmUser, float],
) -> None:
    responder, user, _ = v3_ap
    manager = Manager(user)
    manager.discover(responder)
    request = manager.request([(1, 3, 6, 1)], tag=ber.GET_BULK_REQUEST, max_repetitions=1000)
    data = responder.answer(request)
    assert data is not None and len(data) <= responder.max_size
    _, pdu = manager.read(data)
    assert pdu.error_status == 0 and len(pdu.oids) > 20


def test_wrong_auth_key_gets_a_wrong_digest_report(
    v3_ap: tuple[Responder, UsmUser, float],
) -> None:
    responder, user, _ = v3_ap
    manager = Manager(user)
    manager.discover(responder)
    engine = manager.engine_id
    wrong = _user(auth="not-the-right-one", engine=engine)
    manager.user = UsmUser(user.name, "sha1", 12, wrong.auth_key, user.priv_key)
    data = responder.answer(manager.request([SYS_UPTIME]))
    assert data is not None
    _, pdu = usm.decode_scoped_pdu(data, usm.parse_header(data), None)
    assert _report_oid(pdu) == usm.WRONG_DIGESTS


def test_wrong_priv_key_gets_a_decryption_error_report(
    v3_ap: tuple[Responder, UsmUser, float],
) -> None:
    responder, user, _ = v3_ap
    manager = Manager(user)
    manager.discover(responder)
    wrong = UsmUser(user.name, user.hash_name, user.digest_len, user.auth_key, bytes(16))
    manager.user = wrong
    data = responder.answer(manager.request([SYS_UPTIME]))
    assert data is not None
    header = usm.parse_header(data)
    _, pdu = usm.decode_scoped_pdu(data, header, None)
    assert _report_oid(pdu) == usm.DECRYPTION_ERRORS


def test_unknown_user_and_lower_security_level_are_reported(
    v3_ap: tuple[Responder, UsmUser, float],
) -> None:
    responder, user, _ = v3_ap
    manager = Manager(user)
    manager.discover(responder)
    stranger = UsmUser(b"stranger", "sha1", 12, user.auth_key, user.priv_key)
    manager.user = stranger
    data = responder.answer(manager.request([SYS_UPTIME]))
    assert data is not None
    _, pdu = usm.decode_scoped_pdu(data, usm.parse_header(data), None)
    assert _report_oid(pdu) == usm.UNKNOWN_USER_NAMES
    manager.user = user
    data = responder.answer(manager.request([SYS_UPTIME], flags=usm.FLAG_AUTH))
    assert data is not None
    _, pdu = usm.decode_scoped_pdu(data, usm.parse_header(data), None)
    assert _report_oid(pdu) == usm.UNSUPPORTED_SEC_LEVELS


def test_not_in_time_window_gets_an_authenticated_report_with_the_clock(
    v3_ap: tuple[Responder, UsmUser, float],
) -> None:
    responder, user, _ = v3_ap
    manager = Manager(user)
    manager.discover(responder)
    boots, engine_time = manager.boots, manager.time
    manager.time += usm.TIME_WINDOW_S + 10
    header, pdu = manager.read(responder.answer(manager.request([SYS_UPTIME])))
    assert _report_oid(pdu) == usm.NOT_IN_TIME_WINDOWS
    assert header.flags & usm.FLAG_AUTH and not header.flags & usm.FLAG_PRIV
    assert (header.boots, header.time) == (boots, engine_time)
    manager.boots, manager.time = header.boots, header.time
    _, pdu = manager.read(responder.answer(manager.request([SYS_UPTIME])))
    assert pdu.pdu_tag == ber.RESPONSE


def test_v3_ap_ignores_v2c_and_v2c_ap_ignores_v3() -> None:
    city = build_city(12, seed=3)
    v3_ap = next(ap for ap in city.aps if ap.v3 is not None)
    v2_ap = next(ap for ap in city.aps if ap.v3 is None)
    v3_resp = Responder(v3_ap.mib, b"", usm=v3_ap.usm)
    v2_resp = Responder(v2_ap.mib, v2_ap.community.encode())
    v2c_get = ber.encode_request(v2_ap.community.encode(), ber.GET_REQUEST, 1, [SYS_UPTIME])
    assert v3_resp.answer(v2c_get) is None and v3_resp.stats.bad_version == 1
    probe = Manager(None).request([], flags=0)
    assert v2_resp.answer(probe) is None and v2_resp.stats.bad_version == 1
    assert v2_resp.answer(v2c_get) is not None


def test_reboot_increments_engine_boots() -> None:
    agent = UsmAgent(ENGINE, [_user()], boot_time=lambda now: T0 if now < T0 + 100 else T0 + 100)
    assert agent.clock(T0 + 50) == (1, 50)
    assert agent.clock(T0 + 130) == (2, 30)
    assert agent.clock(T0 + 140) == (2, 40)


def test_garbage_after_the_version_is_malformed_not_fatal() -> None:
    ap = next(ap for ap in build_city(12, seed=3).aps if ap.v3 is not None)
    responder = Responder(ap.mib, b"", usm=ap.usm)
    bogus = ber.tlv(ber.SEQUENCE, ber.encode_integer(3) + ber.tlv(ber.SEQUENCE, b"\x02\x01"))
    assert responder.answer(bogus) is None
    assert responder.stats.malformed == 1
