"""Decoding and verifying one datagram: what makes a record, what is dropped and why,
and that nothing a datagram holds can make the decoder raise."""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyrad import packet as rp
from pyrad.dictionary import Dictionary

from accounting.packets import (
    DICTIONARY_PATH,
    STATUS_BY_NAME,
    Accepted,
    Drop,
    Dropped,
    Nas,
    decode,
    dictionary,
)
from inventory.sessions import StatusType
from tests.fixtures.radius import SECRET, T0, acct_packet, request

NAS = Nas(ap_id="ap-1", site_id="s-park", partner_id="p-bank", secret=SECRET.encode())
MAC = "AA-BB-CC-00-11-22"
USER = "siti.rahma@example"


def lookup(nas_ip: str | None, nas_identifier: str | None) -> Nas | None:
    if nas_ip == "127.1.5.1" or nas_identifier == "ap-1":
        return NAS
    if nas_identifier == "ap-3":
        return Nas(ap_id="ap-3", site_id="s-park", partner_id="p-bank", secret=None)
    return None


def start(secret: str = SECRET, **extra: object) -> rp.AcctPacket:
    attributes: dict[str, object] = {
        "Acct_Status_Type": "Start",
        "Acct_Session_Id": "81a00001",
        "NAS_IP_Address": "127.1.5.1",
        "Calling_Station_Id": MAC,
        "User_Name": USER,
        "Framed_IP_Address": "10.5.0.23",
    }
    attributes.update(extra)
    return request(attributes, secret)


def accepted(pkt: rp.AcctPacket, received_at: float = T0) -> Accepted:
    verdict = decode(pkt.RequestPacket(), lookup, received_at)
    assert isinstance(verdict, Accepted), verdict
    return verdict


def test_the_dictionary_names_the_status_types_we_map() -> None:
    attr = dictionary()["Acct-Status-Type"]
    for name, status in STATUS_BY_NAME.items():
        assert attr.values.GetForward(name) == struct.pack("!I", status.value)
    assert not Dictionary(str(DICTIONARY_PATH)).skipped_attributes


def test_a_start_becomes_a_record_of_its_ap() -> None:
    record = accepted(start()).record
    assert (record.ap_id, record.site_id, record.partner_id) == ("ap-1", "s-park", "p-bank")
    assert record.status is StatusType.START
    assert record.session_id == "81a00001"
    assert record.calling_station == MAC and record.user_name == USER
    assert record.event_time == record.received_at == T0
    assert record.input_octets is None and record.session_time_s is None


def test_octets_include_the_gigawords() -> None:
    pkt = start(
        Acct_Status_Type="Interim-Update",
        Acct_Session_Time=3600,
        Acct_Input_Octets=5,
        Acct_Input_Gigawords=1,
        Acct_Output_Octets=4_000_000_000,
        Acct_Output_Gigawords=3,
        Acct_Input_Packets=10,
        Acct_Output_Packets=20,
    )
    record = accepted(pkt).record
    assert record.status is StatusType.INTERIM_UPDATE
    assert record.session_time_s == 3600.0
    assert record.input_octets == 2**32 + 5
    assert record.output_octets == 3 * 2**32 + 4_000_000_000
    assert (record.input_packets, record.output_packets) == (10, 20)


def test_a_stop_carries_its_terminate_cause_by_name() -> None:
    record = accepted(start(Acct_Status_Type="Stop", Acct_Terminate_Cause="Idle-Timeout")).record
    assert record.status is StatusType.STOP
    assert record.terminate_cause == "Idle-Timeout"
    unnamed = start(Acct_Status_Type="Stop")
    unnamed[49] = [struct.pack("!I", 99)]  # a cause the dictionary does not name
    assert accepted(unnamed).record.terminate_cause == "99"


def test_event_time_is_the_timestamp_when_sane_else_receive_time_less_delay() -> None:
    assert accepted(start(Event_Timestamp=int(T0) - 30)).record.event_time == T0 - 30
    insane = accepted(start(Event_Timestamp=0, Acct_Delay_Time=7)).record
    assert insane.event_time == T0 - 7  # a NAS clock at 1970: its delay still counts
    assert accepted(start(Acct_Delay_Time=10**6)).record.event_time == T0


def test_accounting_on_has_no_session() -> None:
    pkt = acct_packet(Acct_Status_Type="Accounting-On", NAS_Identifier="ap-1")
    record = accepted(pkt).record
    assert record.status is StatusType.ACCOUNTING_ON and record.session_id is None


def test_the_reply_is_an_accounting_response_the_nas_verifies() -> None:
    pkt = start()
    raw = pkt.RequestPacket()
    verdict = decode(raw, lookup, T0)
    assert isinstance(verdict, Accepted)
    reply = rp.AcctPacket(packet=verdict.reply, dict=dictionary(), secret=SECRET.encode())
    assert reply.code == rp.AccountingResponse
    assert pkt.VerifyReply(reply, verdict.reply)


def test_a_message_authenticator_is_checked_when_present() -> None:
    good = start()
    good.add_message_authenticator()
    assert isinstance(decode(good.RequestPacket(), lookup, T0), Accepted)
    raw = bytearray(start().RequestPacket())
    # a Message-Authenticator of zeros appended, the Request Authenticator made right
    raw += bytes([80, 18]) + bytes(16)
    raw[2:4] = struct.pack("!H", len(raw))
    raw[4:20] = hashlib.md5(bytes(raw[:4]) + bytes(16) + bytes(raw[20:]) + SECRET.encode()).digest()
    assert decode(bytes(raw), lookup, T0) == Dropped(Drop.BAD_AUTHENTICATOR, "ap-1", "ap-1")


@pytest.mark.parametrize(
    ("pkt", "reason"),
    [
        (start(secret="not-the-secret"), Drop.BAD_AUTHENTICATOR),
        (start(NAS_IP_Address="127.9.9.9"), Drop.UNKNOWN_NAS),
        (start(NAS_IP_Address="127.9.9.9", NAS_Identifier="ap-3"), Drop.NO_SECRET),
        (start(Acct_Status_Type="Failed"), Drop.UNSUPPORTED),
        (acct_packet(Acct_Session_Id="x", NAS_IP_Address="127.1.5.1"), Drop.MALFORMED),
        (acct_packet(Acct_Status_Type="Stop", NAS_IP_Address="127.1.5.1"), Drop.MALFORMED),
    ],
    ids=["bad-secret", "unknown-nas", "no-secret", "failed-status", "no-status", "no-session"],
)
def test_drops(pkt: rp.AcctPacket, reason: Drop) -> None:
    verdict = decode(pkt.RequestPacket(), lookup, T0)
    assert isinstance(verdict, Dropped) and verdict.reason is reason


def test_an_access_request_on_the_accounting_port_is_the_wrong_code() -> None:
    auth = rp.AuthPacket(secret=SECRET.encode(), dict=dictionary())
    auth["User-Name"] = USER
    assert decode(auth.RequestPacket(), lookup, T0) == Dropped(Drop.WRONG_CODE)


def test_truncated_and_undecodable_packets_are_malformed() -> None:
    raw = start().RequestPacket()
    assert decode(raw[:10], lookup, T0) == Dropped(Drop.MALFORMED)
    assert decode(raw[:-3], lookup, T0) == Dropped(Drop.MALFORMED)  # shorter than its Length
    bad_int = bytearray(raw)
    bad_int += bytes([46, 5, 0, 0, 1])  # Acct-Session-Time of 3 bytes, authenticator right
    bad_int[2:4] = struct.pack("!H", len(bad_int))
    body = bytes(bad_int[:4]) + bytes(16) + bytes(bad_int[20:]) + SECRET.encode()
    bad_int[4:20] = hashlib.md5(body).digest()
    verdict = decode(bytes(bad_int), lookup, T0)
    assert isinstance(verdict, Dropped) and verdict.reason is Drop.MALFORMED


def test_no_personal_datum_in_reprs() -> None:
    record = accepted(start()).record
    text = repr(record) + repr(NAS) + repr(accepted(start()))
    for value in (MAC, USER, SECRET, "10.5.0.23"):
        assert value not in text


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_never_raises(data: bytes) -> None:
    verdict = decode(data, lookup, T0)
    assert isinstance(verdict, Dropped | Accepted)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=200), st.integers(0, 255))
def test_accounting_requests_with_garbage_attributes_never_raise(body: bytes, ident: int) -> None:
    header = struct.pack("!BBH", rp.AccountingRequest, ident, 20 + len(body))
    authenticator = hashlib.md5(header + bytes(16) + body + SECRET.encode()).digest()
    # NAS-IP-Address of ap-1 first, so the garbage is verified and then decoded
    nas = bytes([4, 6, 127, 1, 5, 1])
    raw = struct.pack("!BBH", 4, ident, 20 + len(nas) + len(body))
    raw += hashlib.md5(raw + bytes(16) + nas + body + SECRET.encode()).digest() + nas + body
    for datagram in (header + authenticator + body, raw):
        assert isinstance(decode(datagram, lookup, T0), Dropped | Accepted)
