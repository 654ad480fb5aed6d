"""A small BER codec for SNMP v2c messages and v3 PDUs, built for speed over generality.

pysnmp/pyasn1 spend 5-10 ms per request on the agent side, which a city of 2,000 simulated
APs cannot afford. SNMP uses a tiny, fixed subset of BER (definite lengths, single-byte
tags), so a direct codec over ``bytes`` is both simpler and ~50x faster. Values leave the
MIB already encoded (see :mod:`simulators.mib`); this module only frames them.

Anything that is not valid BER for SNMP raises :class:`BerError`, which the agent counts
and drops: a malformed packet must never take the agent down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

# Universal and SNMP application tags.
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
SEQUENCE = 0x30
IP_ADDRESS = 0x40
COUNTER32 = 0x41
GAUGE32 = 0x42
TIMETICKS = 0x43
OPAQUE = 0x44
COUNTER64 = 0x46
# Per-varbind exceptions (context-specific, primitive, empty content).
NO_SUCH_OBJECT = 0x80
NO_SUCH_INSTANCE = 0x81
END_OF_MIB_VIEW = 0x82

# PDU tags.
GET_REQUEST = 0xA0
GET_NEXT_REQUEST = 0xA1
RESPONSE = 0xA2
SET_REQUEST = 0xA3
GET_BULK_REQUEST = 0xA5
REPORT = 0xA8
PDU_TAGS = frozenset({GET_REQUEST, GET_NEXT_REQUEST, RESPONSE, SET_REQUEST, GET_BULK_REQUEST})

# Message versions as carried on the wire.
VERSION_1 = 0
VERSION_2C = 1
VERSION_3 = 3

# Error-status values used by the agent.
NO_ERROR = 0
TOO_BIG = 1
GEN_ERR = 5
NOT_WRITABLE = 17

_UNSIGNED_LIMITS = {
    COUNTER32: 1 << 32,
    GAUGE32: 1 << 32,
    TIMETICKS: 1 << 32,
    COUNTER64: 1 << 64,
}
_MAX_SUBID = (1 << 32) - 1
_MAX_OID_ARCS = 128

Oid = tuple[int, ...]


class BerError(ValueError):
    """The bytes are not a well-formed SNMP message (or a value cannot be encoded)."""


class Value(NamedTuple):
    """A decoded (or to-be-encoded) SNMP value: its BER tag and a plain Python payload.

    Payload by tag: int for INTEGER and the unsigned types, bytes for OCTET STRING,
    IpAddress and Opaque, an OID tuple for OBJECT IDENTIFIER, None for NULL and exceptions.
    """

    tag: int
    value: int | bytes | Oid | None


# --- encoding ---------------------------------------------------------------------------


def encode_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    return bytes((tag,)) + encode_length(n) + content


def encode_integer(value: int, tag: int = INTEGER) -> bytes:
    size = (value if value >= 0 else ~value).bit_length() // 8 + 1
    return bytes((tag, size)) + value.to_bytes(size, "big", signed=True)


def encode_unsigned(tag: int, value: int) -> bytes:
    """Counter32/Gauge32/TimeTicks/Counter64: non-negative, a leading zero byte when the
    top bit is set (BER integers are two's complement)."""
    limit = _UNSIGNED_LIMITS[tag]
    if not 0 <= value < limit:
        raise BerError(f"value {value} out of range for tag 0x{tag:02x}")
    size = value.bit_length() // 8 + 1
    return bytes((tag, size)) + value.to_bytes(size, "big")


def encode_octets(value: bytes, tag: int = OCTET_STRING) -> bytes:
    return tlv(tag, value)


def encode_oid_content(oid: Oid) -> bytes:
    if len(oid) < 2 or len(oid) > _MAX_OID_ARCS:
        raise BerError(f"an OID needs 2..{_MAX_OID_ARCS} arcs, got {len(oid)}")
    first, second = oid[0], oid[1]
    if first > 2 or (first < 2 and second >= 40):
        raise BerError(f"invalid leading arcs {first}.{second}")
    if any(arc < 0 or arc > _MAX_SUBID for arc in oid):
        raise BerError(f"sub-identifier out of range in {oid}")
    out = bytearray()
    for arc in (first * 40 + second, *oid[2:]):
        if arc < 0x80:
            out.append(arc)
            continue
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def encode_oid(oid: Oid) -> bytes:
    return tlv(OBJECT_IDENTIFIER, encode_oid_content(oid))


def parse_oid(text: str) -> Oid:
    return tuple(int(part) for part in text.strip(".").split("."))


def encode_value(value: Value) -> bytes:
    tag, payload = value
    if tag == INTEGER and isinstance(payload, int):
        return encode_integer(payload)
    if tag in _UNSIGNED_LIMITS and isinstance(payload, int):
        return encode_unsigned(tag, payload)
    if tag in (OCTET_STRING, OPAQUE) and isinstance(payload, bytes):
        return tlv(tag, payload)
    if tag == IP_ADDRESS and isinstance(payload, bytes) and len(payload) == 4:
        return tlv(tag, payload)
    if tag == OBJECT_IDENTIFIER and isinstance(payload, tuple):
        return encode_oid(payload)
    if tag in (NULL, NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW) and payload is None:
        return bytes((tag, 0))
    raise BerError(f"cannot encode {value!r}")


NULL_TLV = b"\x05\x00"
NO_SUCH_OBJECT_TLV = b"\x80\x00"
NO_SUCH_INSTANCE_TLV = b"\x81\x00"
END_OF_MIB_VIEW_TLV = b"\x82\x00"


def varbind_size(oid_tlv: bytes, value_tlv: bytes) -> int:
    """Bytes one varbind adds to a message: lets GETBULK stop before exceeding a limit."""
    n = len(oid_tlv) + len(value_tlv)
    return n + 1 + len(encode_length(n)) if n >= 0x80 else n + 2


def encode_message(
    community: bytes,
    pdu_tag: int,
    request_id: int,
    error_status: int,
    error_index: int,
    varbinds: list[tuple[bytes, bytes]],
    version: int = VERSION_2C,
) -> bytes:
    """Frame pre-encoded (oid TLV, value TLV) pairs into a complete v2c message."""
    pdu = encode_pdu(pdu_tag, request_id, error_status, error_index, varbinds)
    return tlv(SEQUENCE, encode_integer(version) + tlv(OCTET_STRING, community) + pdu)


def encode_pdu(
    pdu_tag: int,
    request_id: int,
    error_status: int,
    error_index: int,
    varbinds: list[tuple[bytes, bytes]],
) -> bytes:
    """One PDU on its own: the body of a v2c message, or the core of a v3 scoped PDU."""
    vbl = b"".join([tlv(SEQUENCE, oid + val) for oid, val in varbinds])
    return tlv(
        pdu_tag,
        encode_integer(request_id)
        + encode_integer(error_status)
        + encode_integer(error_index)
        + tlv(SEQUENCE, vbl),
    )


def message_overhead(community: bytes, request_id: int) -> int:
    """Size of a response with no varbinds, give or take the few bytes of length octets."""
    return len(encode_message(community, RESPONSE, request_id, 0, 0, [])) + 6


# --- decoding ---------------------------------------------------------------------------


def _header(data: bytes, pos: int, limit: int) -> tuple[int, int, int]:
    """Read one tag+length at ``pos``; return (tag, content start, content end)."""
    if pos + 2 > limit:
        raise BerError("truncated header")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise BerError("multi-byte tags are not used by SNMP")
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        octets = n & 0x7F
        if octets == 0:
            raise BerError("indefinite length is not allowed")
        if octets > 4 or pos + octets > limit:
            raise BerError("bad long-form length")
        n = int.from_bytes(data[pos : pos + octets], "big")
        pos += octets
    end = pos + n
    if end > limit:
        raise BerError("length runs past the end of its container")
    return tag, pos, end


def _expect(data: bytes, pos: int, limit: int, tag: int) -> tuple[int, int]:
    got, start, end = _header(data, pos, limit)
    if got != tag:
        raise BerError(f"expected tag 0x{tag:02x}, got 0x{got:02x}")
    return start, end


def _int(data: bytes, start: int, end: int) -> int:
    if start == end or end - start > 9:
        raise BerError("bad integer length")
    return int.from_bytes(data[start:end], "big", signed=True)


# Public names for the v3 message layer (simulators.usm), which walks its own framing.
read_header = _header
expect = _expect
read_int = _int


@lru_cache(maxsize=8192)
def decode_oid_content(content: bytes) -> Oid:
    """Decode OID content octets. Cached: collectors ask for the same OIDs over and over."""
    if not content:
        raise BerError("empty OID")
    arcs: list[int] = []
    value = 0
    fresh = True
    for byte in content:
        if fresh and byte == 0x80:
            raise BerError("non-minimal sub-identifier")
        value = (value << 7) | (byte & 0x7F)
        if byte & 0x80:
            fresh = False
            continue
        arcs.append(value)
        value = 0
        fresh = True
    if not fresh:
        raise BerError("OID ends inside a sub-identifier")
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    oid = (*head, *arcs[1:])
    if len(oid) > _MAX_OID_ARCS or any(arc > _MAX_SUBID for arc in arcs[1:]):
        raise BerError("OID too long or sub-identifier out of range")
    return oid


def decode_oid_tlv(oid_tlv: bytes) -> Oid:
    start, end = _expect(oid_tlv, 0, len(oid_tlv), OBJECT_IDENTIFIER)
    return decode_oid_content(oid_tlv[start:end])


def decode_value(tag: int, content: bytes) -> Value:
    if tag == INTEGER:
        return Value(tag, _int(content, 0, len(content)))
    if tag in _UNSIGNED_LIMITS:
        if not content or len(content) > (5 if tag != COUNTER64 else 9):
            raise BerError("bad unsigned length")
        number = int.from_bytes(content, "big")
        if number >= _UNSIGNED_LIMITS[tag]:
            raise BerError("unsigned value out of range")
        return Value(tag, number)
    if tag in (OCTET_STRING, OPAQUE):
        return Value(tag, bytes(content))
    if tag == IP_ADDRESS:
        if len(content) != 4:
            raise BerError("IpAddress must be 4 octets")
        return Value(tag, bytes(content))
    if tag == OBJECT_IDENTIFIER:
        return Value(tag, decode_oid_content(bytes(content)))
    if tag in (NULL, NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW):
        if content:
            raise BerError("NULL-like value with content")
        return Value(tag, None)
    raise BerError(f"unknown value tag 0x{tag:02x}")


@dataclass(slots=True)
class Request:
    """A decoded message, shaped for the agent: OIDs stay as their raw TLV bytes so that
    an exact GET is one dict lookup and a response can echo the name unchanged."""

    version: int
    community: bytes
    pdu_tag: int
    request_id: int
    error_status: int  # non-repeaters in a GetBulkRequest
    error_index: int  # max-repetitions in a GetBulkRequest
    oids: list[bytes]
    values: list[tuple[int, bytes]]  # (tag, content) of each varbind's value

    @property
    def non_repeaters(self) -> int:
        return self.error_status

    @property
    def max_repetitions(self) -> int:
        return self.error_index


def decode_request(data: bytes) -> Request:
    """Decode a whole SNMP message (any version number; the caller decides what to keep)."""
    limit = len(data)
    start, end = _expect(data, 0, limit, SEQUENCE)
    if end != limit:
        raise BerError("trailing bytes after the message")
    s, e = _expect(data, start, end, INTEGER)
    version = _int(data, s, e)
    if version not in (VERSION_1, VERSION_2C):
        # v3 has a different layout after the version; report it without parsing further.
        return Request(version, b"", 0, 0, 0, 0, [], [])
    s, e = _expect(data, e, end, OCTET_STRING)
    community = data[s:e]
    return decode_pdu(data, e, end, version, community)


def decode_pdu(
    data: bytes,
    pos: int,
    end: int,
    version: int = VERSION_3,
    community: bytes = b"",
    tags: frozenset[int] = PDU_TAGS,
) -> Request:
    """Decode the PDU that fills ``data[pos:end]``: the tail of a v2c message, or the PDU
    of a (decrypted) v3 scoped PDU, which carries no community."""
    pdu_tag, pos, pdu_end = _header(data, pos, end)
    if pdu_tag not in tags or pdu_end != end:
        raise BerError(f"unexpected PDU tag 0x{pdu_tag:02x}")
    s, e = _expect(data, pos, pdu_end, INTEGER)
    request_id = _int(data, s, e)
    s, e = _expect(data, e, pdu_end, INTEGER)
    error_status = _int(data, s, e)
    s, e = _expect(data, e, pdu_end, INTEGER)
    error_index = _int(data, s, e)
    pos, vbl_end = _expect(data, e, pdu_end, SEQUENCE)
    if vbl_end != pdu_end:
        raise BerError("trailing bytes after the varbind list")
    oids: list[bytes] = []
    values: list[tuple[int, bytes]] = []
    while pos < vbl_end:
        s, vb_end = _expect(data, pos, vbl_end, SEQUENCE)
        o_tag, o_start, o_end = _header(data, s, vb_end)
        if o_tag != OBJECT_IDENTIFIER or o_start == o_end:
            raise BerError("varbind name is not an OID")
        v_tag, v_start, v_end = _header(data, o_end, vb_end)
        if v_end != vb_end:
            raise BerError("trailing bytes in a varbind")
        oids.append(data[s:o_end])
        values.append((v_tag, data[v_start:v_end]))
        pos = vb_end
    return Request(version, community, pdu_tag, request_id, error_status, error_index, oids, values)


@dataclass(slots=True)
class Message:
    """A fully decoded message, for tests and tools rather than the hot path."""

    version: int
    community: bytes
    pdu_tag: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[Oid, Value]]


def decode_message(data: bytes) -> Message:
    req = decode_request(data)
    if req.version not in (VERSION_1, VERSION_2C):
        raise BerError(f"unsupported SNMP version {req.version}")
    varbinds = [
        (decode_oid_tlv(oid), decode_value(tag, content))
        for oid, (tag, content) in zip(req.oids, req.values, strict=True)
    ]
    return Message(
        req.version,
        req.community,
        req.pdu_tag,
        req.request_id,
        req.error_status,
        req.error_index,
        varbinds,
    )


def encode_request(
    community: bytes,
    pdu_tag: int,
    request_id: int,
    oids: Sequence[Oid],
    *,
    non_repeaters: int = 0,
    max_repetitions: int = 0,
    version: int = VERSION_2C,
) -> bytes:
    """Build a request with NULL values, as a manager would (used by tests and the bench)."""
    varbinds = [(encode_oid(oid), NULL_TLV) for oid in oids]
    return encode_message(
        community, pdu_tag, request_id, non_repeaters, max_repetitions, varbinds, version
    )
