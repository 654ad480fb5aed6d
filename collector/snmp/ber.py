"""Just enough BER for the collector's SNMPv2c GET and GETBULK, and nothing else.

Why not pysnmp for v2c: measured in bench/bench_collector.py, about two thirds of
pysnmp's CPU per poll is pyasn1 building and decoding the message as generic ASN.1 objects
(schema lookups, constraint checks, one Python object per tag); the rest is hlapi and
dispatcher plumbing. The collector only ever sends two message shapes and reads one, and
wants plain Python values out, so a direct codec over ``bytes`` does the same work for a
small fraction of the CPU. SNMPv3 (USM: discovery, keys, encryption, time windows) stays
with pysnmp, where a hand-rolled version would be a security liability.

Encoding caches each OID's varbind (OID TLV plus NULL) and decoding caches each OID's dotted
text by its raw bytes: a city asks the same few hundred OIDs every minute. Both caches are
bounded. Anything the decoder does not understand raises :class:`BerError`, never anything
else, so a hostile or broken datagram cannot crash the collector.
"""

from __future__ import annotations

from dataclasses import dataclass

from collector.snmp.types import Missing, Value

GET_REQUEST = 0xA0
RESPONSE = 0xA2
GET_BULK_REQUEST = 0xA5
SNMP_V2C = 1  # the version field's value for v2c

_INTEGER = 0x02
_OCTET_STRING = 0x04
_NULL = 0x05
_OBJECT_IDENTIFIER = 0x06
_SEQUENCE = 0x30
_IP_ADDRESS = 0x40
_COUNTER32 = 0x41
_GAUGE32 = 0x42
_TIMETICKS = 0x43
_OPAQUE = 0x44
_COUNTER64 = 0x46
_UNSIGNED = frozenset((_COUNTER32, _GAUGE32, _TIMETICKS, _COUNTER64))
_MISSING = {
    0x80: Missing.NO_SUCH_OBJECT,
    0x81: Missing.NO_SUCH_INSTANCE,
    0x82: Missing.END_OF_MIB_VIEW,
}
# RFC 3416 error-status names, for error texts that say what the device meant.
ERROR_STATUS = (
    "noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess",
    "wrongType", "wrongLength", "wrongEncoding", "wrongValue", "noCreation",
    "inconsistentValue", "resourceUnavailable", "commitFailed", "undoFailed",
    "authorizationError", "notWritable", "inconsistentName",
)  # fmt: skip

_CACHE_LIMIT = 100_000  # OIDs; a cache this full is cleared rather than grown


class BerError(ValueError):
    """A datagram that is not a well-formed SNMPv2c response. ``request_id`` is set when
    the message got as far as naming its request, so that request can fail at once."""

    def __init__(self, message: str, request_id: int | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class Response:
    request_id: int
    error_status: int
    error_index: int
    var_binds: list[tuple[str, Value]]


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _length(len(content)) + content


def _integer(value: int) -> bytes:
    return _tlv(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def encode_oid(oid: str) -> bytes:
    """The OID's TLV. Raises ValueError for text that is not a valid OID."""
    arcs = [int(arc) for arc in oid.strip(".").split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40) or min(arcs) < 0:
        raise ValueError(f"not an OID: {oid!r}")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return _tlv(_OBJECT_IDENTIFIER, bytes(out))


_varbind_cache: dict[str, bytes] = {}


def _null_varbind(oid: str) -> bytes:
    encoded = _varbind_cache.get(oid)
    if encoded is None:
        if len(_varbind_cache) >= _CACHE_LIMIT:
            _varbind_cache.clear()
        encoded = _varbind_cache[oid] = _tlv(_SEQUENCE, encode_oid(oid) + b"\x05\x00")
    return encoded


def encode_request(
    community: bytes,
    pdu_type: int,
    request_id: int,
    oids: list[str],
    non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> bytes:
    """A v2c GET (``GET_REQUEST``) or GETBULK (``GET_BULK_REQUEST``) of ``oids``; for
    GETBULK the two error fields carry non-repeaters and max-repetitions."""
    var_binds = _tlv(_SEQUENCE, b"".join([_null_varbind(oid) for oid in oids]))
    pdu = _tlv(
        pdu_type,
        _integer(request_id) + _integer(non_repeaters) + _integer(max_repetitions) + var_binds,
    )
    return _tlv(_SEQUENCE, b"\x02\x01\x01" + _tlv(_OCTET_STRING, community) + pdu)


def _header(data: bytes, pos: int, end: int, clamp: bool = False) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at ``pos``; definite lengths only.
    ``clamp``: content running past ``end`` ends at ``end`` (a quoted, cut-short packet)."""
    if pos + 2 > end:
        raise BerError("truncated")
    tag = data[pos]
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        width = n & 0x7F
        if width == 0 or width > 4 or pos + width > end:
            raise BerError("bad length")
        n = int.from_bytes(data[pos : pos + width], "big")
        pos += width
    stop = pos + n
    if stop > end:
        if not clamp:
            raise BerError("truncated")
        stop = end
    return tag, pos, stop


def _int_field(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    tag, start, stop = _header(data, pos, end)
    if tag != _INTEGER or start == stop or stop - start > 8:
        raise BerError(f"bad {what}")
    return int.from_bytes(data[start:stop], "big", signed=True), stop


_oid_cache: dict[bytes, str] = {}


def _oid_text(raw: bytes) -> str:
    text = _oid_cache.get(raw)
    if text is not None:
        return text
    if not raw or raw[-1] & 0x80:
        raise BerError("bad OID")
    arcs: list[int] = []
    arc = 0
    for byte in raw:
        arc = (arc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(arc)
            arc = 0
    first = arcs[0]
    head = [first // 40, first % 40] if first < 80 else [2, first - 80]
    text = ".".join(map(str, head + arcs[1:]))
    if len(_oid_cache) >= _CACHE_LIMIT:
        _oid_cache.clear()
    _oid_cache[raw] = text
    return text


def _value(tag: int, content: bytes) -> Value:
    """One varbind value as the scraper's plain Python value (as ``pysnmp_stacks.convert``)."""
    if tag in _UNSIGNED:
        if not content or len(content) > 9:
            raise BerError(f"bad unsigned value (tag 0x{tag:02x})")
        return int.from_bytes(content, "big")
    if tag in (_OCTET_STRING, _OPAQUE):
        return content
    if tag == _INTEGER:
        if not content:
            raise BerError("empty INTEGER")
        return int.from_bytes(content, "big", signed=True)
    missing = _MISSING.get(tag)
    if missing is not None:
        return missing
    if tag == _OBJECT_IDENTIFIER:
        return _oid_text(content)
    if tag == _IP_ADDRESS:
        return ".".join(map(str, content))
    if tag == _NULL:
        return ""
    raise BerError(f"unknown value tag 0x{tag:02x}")


def decode_response(data: bytes) -> Response:
    """Decode a v2c Response-PDU. Raises :class:`BerError` for anything else."""
    end = len(data)
    tag, pos, stop = _header(data, 0, end)
    if tag != _SEQUENCE:
        raise BerError("not an SNMP message")
    end = stop
    version, pos = _int_field(data, pos, end, "version")
    if version != SNMP_V2C:
        raise BerError(f"not SNMPv2c (version {version})")
    tag, _start, pos = _header(data, pos, end)
    if tag != _OCTET_STRING:
        raise BerError("bad community")
    tag, pos, stop = _header(data, pos, end)
    if tag != RESPONSE:
        raise BerError(f"not a Response-PDU (0x{tag:02x})")
    end = stop
    request_id, pos = _int_field(data, pos, end, "request-id")
    try:
        error_status, pos = _int_field(data, pos, end, "error-status")
        error_index, pos = _int_field(data, pos, end, "error-index")
        tag, pos, end = _header(data, pos, end)
        if tag != _SEQUENCE:
            raise BerError("bad varbind list")
        var_binds: list[tuple[str, Value]] = []
        append = var_binds.append
        while pos < end:
            tag, start, pos = _header(data, pos, end)
            if tag != _SEQUENCE:
                raise BerError("bad varbind")
            tag, name_start, name_stop = _header(data, start, pos)
            if tag != _OBJECT_IDENTIFIER:
                raise BerError("bad varbind name")
            tag, value_start, value_stop = _header(data, name_stop, pos)
            if value_stop != pos:
                raise BerError("bad varbind")
            append(
                (_oid_text(data[name_start:name_stop]), _value(tag, data[value_start:value_stop]))
            )
    except BerError as exc:
        raise BerError(str(exc), request_id) from None
    return Response(request_id, error_status, error_index, var_binds)


def request_id_of(packet: bytes) -> int | None:
    """The request-id of one of our own requests as an ICMP error echoes it back, maybe
    cut short (an ICMP error quotes at most a few hundred bytes): the enclosing lengths
    may run past the end, the request-id itself must be whole. None when it is not there.
    """
    end = len(packet)
    pos = 0
    try:
        for expected in (_SEQUENCE, _INTEGER, _OCTET_STRING, None):
            tag, start, stop = _header(packet, pos, end, clamp=True)
            if expected is None:  # the PDU: step into it
                if tag not in (GET_REQUEST, GET_BULK_REQUEST):
                    return None
                pos = start
            elif tag != expected:
                return None
            else:
                pos = start if tag == _SEQUENCE else stop
        request_id, _pos = _int_field(packet, pos, end, "request-id")
    except BerError:
        return None
    return request_id


def error_status_name(status: int) -> str:
    return ERROR_STATUS[status] if 0 <= status < len(ERROR_STATUS) else str(status)
