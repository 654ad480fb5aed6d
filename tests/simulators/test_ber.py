from __future__ import annotations

import contextlib

import pytest

from simulators import ber
from simulators.ber import BerError, Value


@pytest.mark.parametrize(
    "value",
    [0, 1, 127, 128, 255, 256, -1, -128, -129, -256, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63)],
)
def test_integer_round_trip(value: int) -> None:
    encoded = ber.encode_integer(value)
    assert ber.decode_value(encoded[0], encoded[2:]) == Value(ber.INTEGER, value)


def test_integer_encodings_are_minimal_twos_complement() -> None:
    assert ber.encode_integer(0) == b"\x02\x01\x00"
    assert ber.encode_integer(127) == b"\x02\x01\x7f"
    assert ber.encode_integer(128) == b"\x02\x02\x00\x80"
    assert ber.encode_integer(-1) == b"\x02\x01\xff"
    assert ber.encode_integer(-128) == b"\x02\x01\x80"
    assert ber.encode_integer(-129) == b"\x02\x02\xff\x7f"


@pytest.mark.parametrize(
    ("tag", "value", "encoded"),
    [
        (ber.COUNTER32, 0, b"\x41\x01\x00"),
        (ber.COUNTER32, 2**32 - 1, b"\x41\x05\x00\xff\xff\xff\xff"),
        (ber.GAUGE32, 2**31, b"\x42\x05\x00\x80\x00\x00\x00"),
        (ber.TIMETICKS, 100, b"\x43\x01\x64"),
        (ber.COUNTER64, 2**64 - 1, b"\x46\x09\x00" + b"\xff" * 8),
        (ber.COUNTER64, 2**63, b"\x46\x09\x00\x80" + b"\x00" * 7),
    ],
)
def test_unsigned_values_get_a_leading_zero_when_the_top_bit_is_set(
    tag: int, value: int, encoded: bytes
) -> None:
    assert ber.encode_unsigned(tag, value) == encoded
    assert ber.decode_value(tag, encoded[2:]) == Value(tag, value)


@pytest.mark.parametrize(
    ("tag", "value"), [(ber.COUNTER32, 2**32), (ber.COUNTER64, 2**64), (ber.GAUGE32, -1)]
)
def test_unsigned_out_of_range_is_refused(tag: int, value: int) -> None:
    with pytest.raises(BerError):
        ber.encode_unsigned(tag, value)


def test_oversized_unsigned_is_refused_on_decode() -> None:
    with pytest.raises(BerError):
        ber.decode_value(ber.COUNTER32, b"\x01\x00\x00\x00\x00")


@pytest.mark.parametrize(
    "oid",
    [
        (1, 3, 6, 1, 2, 1, 1, 3, 0),
        (0, 0),
        (2, 999, 3),
        (1, 3, 6, 1, 4, 1, 41112, 1, 6, 1, 2, 1, 16, 2),
        (1, 3, 127, 128, 16383, 16384, 2**32 - 1),
    ],
)
def test_oid_round_trip(oid: tuple[int, ...]) -> None:
    assert ber.decode_oid_tlv(ber.encode_oid(oid)) == oid


def test_oid_multi_byte_arcs() -> None:
    assert ber.encode_oid((1, 3, 6, 1, 4, 1, 14988)) == bytes.fromhex("06072b06010401f50c")
    assert ber.encode_oid((1, 3, 128)) == b"\x06\x03\x2b\x81\x00"


@pytest.mark.parametrize(
    "content",
    [b"", b"\x2b\x81", b"\x2b\x80\x01", b"\x2b\x90\x80\x80\x80\x00"],
    ids=["empty", "unterminated", "non-minimal", "arc-above-2^32"],
)
def test_bad_oids_are_refused(content: bytes) -> None:
    with pytest.raises(BerError):
        ber.decode_oid_content(content)


@pytest.mark.parametrize("oid", [(1,), (3, 1), (1, 40), (1, 3, -1), (1, 3, 2**32)])
def test_unencodable_oids_are_refused(oid: tuple[int, ...]) -> None:
    with pytest.raises(BerError):
        ber.encode_oid(oid)


@pytest.mark.parametrize("size", [0, 1, 127, 128, 255, 256, 70_000])
def test_long_form_lengths(size: int) -> None:
    encoded = ber.encode_octets(b"x" * size)
    tag, start, end = ber._header(encoded, 0, len(encoded))
    assert (tag, end - start, end) == (ber.OCTET_STRING, size, len(encoded))
    if size >= 128:
        assert encoded[1] & 0x80


def test_other_value_types_round_trip() -> None:
    for value in (
        Value(ber.OCTET_STRING, b"RouterOS cAP ac"),
        Value(ber.OCTET_STRING, b""),
        Value(ber.NULL, None),
        Value(ber.IP_ADDRESS, bytes([127, 1, 0, 1])),
        Value(ber.OPAQUE, b"\x9f\x78\x04\x3f\x80\x00\x00"),
        Value(ber.OBJECT_IDENTIFIER, (1, 3, 6, 1, 4, 1, 14988, 1)),
        Value(ber.NO_SUCH_OBJECT, None),
        Value(ber.NO_SUCH_INSTANCE, None),
        Value(ber.END_OF_MIB_VIEW, None),
    ):
        encoded = ber.encode_value(value)
        assert ber.decode_value(encoded[0], encoded[2:]) == value


def test_message_round_trip_with_a_large_varbind_list() -> None:
    oids = [(1, 3, 6, 1, 2, 1, 2, 2, 1, 10, i) for i in range(1, 200)]
    data = ber.encode_request(b"public", ber.GET_BULK_REQUEST, -5, oids, max_repetitions=25)
    message = ber.decode_message(data)
    assert message.version == ber.VERSION_2C
    assert message.community == b"public"
    assert message.pdu_tag == ber.GET_BULK_REQUEST
    assert message.request_id == -5
    assert (message.error_status, message.error_index) == (0, 25)
    assert [oid for oid, _ in message.varbinds] == oids
    assert all(value == Value(ber.NULL, None) for _, value in message.varbinds)


def _valid() -> bytes:
    return ber.encode_request(b"public", ber.GET_REQUEST, 7, [(1, 3, 6, 1, 2, 1, 1, 1, 0)])


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x30",
        b"\x30\x80\x00\x00",  # indefinite length
        b"\x30\x85\x00\x00\x00\x00\x01\x00",  # five length octets
        b"\x04\x00",  # not a sequence
        _valid()[:-1],  # truncated
        _valid() + b"\x00",  # trailing garbage
        _valid().replace(b"\xa0", b"\xa7"),  # unknown PDU
        _valid().replace(b"\x06\x08", b"\x04\x08"),  # varbind name is not an OID
        b"\x30\x03\x02\x01\x01",  # version but no community
        b"\x1f" * 20,
    ],
)
def test_malformed_messages_raise_ber_error(data: bytes) -> None:
    with pytest.raises(BerError):
        ber.decode_request(data)


def test_fuzzed_truncations_and_bit_flips_only_raise_ber_error() -> None:
    data = _valid()
    for cut in range(len(data)):
        with pytest.raises(BerError):
            ber.decode_request(data[:cut])
    for position in range(len(data)):
        for bit in range(8):
            mutated = bytearray(data)
            mutated[position] ^= 1 << bit
            with contextlib.suppress(BerError):
                ber.decode_message(bytes(mutated))


def test_v3_messages_are_recognised_without_being_parsed() -> None:
    data = ber.tlv(ber.SEQUENCE, ber.encode_integer(3) + ber.tlv(ber.SEQUENCE, b""))
    assert ber.decode_request(data).version == ber.VERSION_3
