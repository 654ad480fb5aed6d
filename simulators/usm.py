"""SNMPv3 for the simulated APs: message processing (RFC 3412) and the User-based Security
Model (RFC 3414) with AES-128-CFB privacy (RFC 3826), written directly over bytes.

Why by hand: pysnmp's agent stack costs milliseconds per request, and a city of thousands
of APs answers tens of thousands of requests a minute. A v3 request here is the v2c work
(:mod:`simulators.responder`) plus one HMAC and two AES-CFB passes over a few hundred
bytes, all in C through :mod:`hashlib`/:mod:`hmac` and ``cryptography``.

What is supported: authPriv with HMAC-SHA-96 (also HMAC-SHA-2, RFC 7860, since it is the
same code with another hash) and AES-128, what the city uses; authNoPriv users work too.
Each AP is its own authoritative engine. Engine discovery and time synchronisation answer
with Report PDUs exactly as a manager (net-snmp, pysnmp) expects, and every USM failure is
either a report or silence, never an exception out of :meth:`UsmAgent.answer`.

The expensive part of USM, turning a password into a key (1 MB of hashing), happens once
per password at start-up; localising it for an engine is one more short hash, done once
per (user, engine) when the agent is built.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

try:  # cryptography >= 47 moved CFB among the "decrepit" modes; SNMP still needs it.
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.modes import CFB  # type: ignore[assignment,unused-ignore]

from simulators import ber

# usmStats counters (RFC 3414 5), reported as Counter32 in Report PDUs.
USM_STATS = (1, 3, 6, 1, 6, 3, 15, 1, 1)
UNSUPPORTED_SEC_LEVELS = (*USM_STATS, 1, 0)
NOT_IN_TIME_WINDOWS = (*USM_STATS, 2, 0)
UNKNOWN_USER_NAMES = (*USM_STATS, 3, 0)
UNKNOWN_ENGINE_IDS = (*USM_STATS, 4, 0)
WRONG_DIGESTS = (*USM_STATS, 5, 0)
DECRYPTION_ERRORS = (*USM_STATS, 6, 0)

SECURITY_MODEL_USM = 3
FLAG_AUTH, FLAG_PRIV, FLAG_REPORTABLE = 0x01, 0x02, 0x04
TIME_WINDOW_S = 150
MAX_BOOTS = 2**31 - 1
MAX_MESSAGE_SIZE = 65507
"""msgMaxSize we announce: the largest UDP payload; responses are capped lower anyway."""

ENGINE_ID_PREFIX = bytes.fromhex("80001f8804")
"""RFC 3411 SnmpEngineID: enterprise 8072 (net-snmp) with the "text" format (4)."""

# Hash, digest length on the wire (RFC 3414 HMAC-SHA-96, RFC 7860 HMAC-SHA-2).
AUTH_PROTOCOLS: dict[str, tuple[str, int]] = {
    "MD5": ("md5", 12),
    "SHA": ("sha1", 12),
    "SHA224": ("sha224", 16),
    "SHA256": ("sha256", 24),
    "SHA384": ("sha384", 32),
    "SHA512": ("sha512", 48),
}
PRIV_KEY_BYTES = {"AES": 16}

_salts = itertools.count(int.from_bytes(os.urandom(8), "big"))
"""Every encrypted message needs a fresh IV under its key; one process-wide 64-bit counter
gives that to all engines at once (RFC 3826 3.1.2.1 asks for exactly such a counter)."""


class UsmError(Exception):
    """A USM check failed: carries the usmStats counter to report."""

    def __init__(self, counter: ber.Oid, reason: str) -> None:
        super().__init__(reason)
        self.counter = counter


@lru_cache(maxsize=256)
def password_to_key(password: bytes, hash_name: str = "sha1") -> bytes:
    """RFC 3414 A.2: hash 1,048,576 bytes of the password repeated. Cached per password,
    since a city reuses one password for many engines and this is the costly step."""
    if not password:
        raise ValueError("a USM password cannot be empty")
    size = 1_048_576
    stream = password * (size // len(password) + 1)
    return hashlib.new(hash_name, stream[:size]).digest()


def localize_key(key: bytes, engine_id: bytes, hash_name: str = "sha1") -> bytes:
    """RFC 3414 A.2: bind a user's key to one engine, H(Ku | engineID | Ku)."""
    return hashlib.new(hash_name, key + engine_id + key).digest()


def localized_key(password: str | bytes, engine_id: bytes, hash_name: str = "sha1") -> bytes:
    raw = password.encode() if isinstance(password, str) else password
    return localize_key(password_to_key(raw, hash_name), engine_id, hash_name)


def engine_id_for(name: str) -> bytes:
    """An engine id unique to one AP, as net-snmp builds text-format ids."""
    return ENGINE_ID_PREFIX + name.encode()[:27]


def aes_cfb(key: bytes, iv: bytes, data: bytes, *, encrypt: bool) -> bytes:
    """AES-CFB128 (RFC 3826): no padding, the output is as long as the input."""
    cipher = Cipher(algorithms.AES(key), CFB(iv))
    ctx = cipher.encryptor() if encrypt else cipher.decryptor()
    return ctx.update(data) + ctx.finalize()


def aes_iv(boots: int, engine_time: int, salt: bytes) -> bytes:
    """RFC 3826 3.1.2.1: the authoritative engine's boots and time, then the 8-byte salt."""
    return boots.to_bytes(4, "big") + engine_time.to_bytes(4, "big") + salt


@dataclass(frozen=True, slots=True)
class UsmUser:
    """A user with keys already localised to one engine."""

    name: bytes
    hash_name: str
    digest_len: int
    auth_key: bytes
    priv_key: bytes | None  # None: authNoPriv only

    @classmethod
    def from_passwords(
        cls,
        name: str,
        engine_id: bytes,
        *,
        auth_protocol: str,
        auth_password: str,
        priv_protocol: str | None,
        priv_password: str | None,
    ) -> UsmUser:
        try:
            hash_name, digest_len = AUTH_PROTOCOLS[auth_protocol.upper()]
        except KeyError:
            raise ValueError(f"unsupported auth protocol {auth_protocol!r}") from None
        auth_key = localized_key(auth_password, engine_id, hash_name)
        priv_key = None
        if priv_protocol is not None:
            size = PRIV_KEY_BYTES.get(priv_protocol.upper())
            if size is None or priv_password is None:
                raise ValueError(f"unsupported privacy protocol {priv_protocol!r}")
            # RFC 3826 1.2: the privacy key is localised with the auth hash, then cut.
            priv_key = localized_key(priv_password, engine_id, hash_name)[:size]
            if len(priv_key) < size:
                raise ValueError(f"{auth_protocol} keys are too short for {priv_protocol}")
        return cls(name.encode(), hash_name, digest_len, auth_key, priv_key)

    def digest(self, message: bytes) -> bytes:
        return hmac.new(self.auth_key, message, self.hash_name).digest()[: self.digest_len]


@dataclass(slots=True)
class Header:
    """The parts of a v3 message that USM needs, with where the digest sits in it."""

    msg_id: int
    max_size: int
    flags: int
    engine_id: bytes
    boots: int
    time: int
    user: bytes
    auth_start: int
    auth_end: int
    salt: bytes
    data_start: int  # msgData: a plaintext ScopedPDU or an encrypted OCTET STRING
    data_end: int


def parse_header(data: bytes) -> Header:
    """Walk msgGlobalData and msgSecurityParameters (RFC 3412 6, RFC 3414 2.4)."""
    x = ber
    limit = len(data)
    start, end = x.expect(data, 0, limit, x.SEQUENCE)
    if end != limit:
        raise x.BerError("trailing bytes after the message")
    s, e = x.expect(data, start, end, x.INTEGER)
    if x.read_int(data, s, e) != x.VERSION_3:
        raise x.BerError("not an SNMPv3 message")
    pos, global_end = x.expect(data, e, end, x.SEQUENCE)
    s, e = x.expect(data, pos, global_end, x.INTEGER)
    msg_id = x.read_int(data, s, e)
    s, e = x.expect(data, e, global_end, x.INTEGER)
    max_size = x.read_int(data, s, e)
    s, e = x.expect(data, e, global_end, x.OCTET_STRING)
    if e - s != 1:
        raise x.BerError("msgFlags must be one octet")
    flags = data[s]
    s, e = x.expect(data, e, global_end, x.INTEGER)
    if x.read_int(data, s, e) != SECURITY_MODEL_USM:
        raise x.BerError("only the user-based security model is served")
    if msg_id < 0 or max_size < 484 or (flags & FLAG_PRIV and not flags & FLAG_AUTH):
        raise x.BerError("invalid msgGlobalData")
    s, params_end = x.expect(data, global_end, end, x.OCTET_STRING)
    data_start = params_end
    pos, seq_end = x.expect(data, s, params_end, x.SEQUENCE)
    s, e = x.expect(data, pos, seq_end, x.OCTET_STRING)
    engine_id = data[s:e]
    s, e = x.expect(data, e, seq_end, x.INTEGER)
    boots = x.read_int(data, s, e)
    s, e = x.expect(data, e, seq_end, x.INTEGER)
    engine_time = x.read_int(data, s, e)
    s, e = x.expect(data, e, seq_end, x.OCTET_STRING)
    user = data[s:e]
    auth_start, auth_end = x.expect(data, e, seq_end, x.OCTET_STRING)
    s, e = x.expect(data, auth_end, seq_end, x.OCTET_STRING)
    salt = data[s:e]
    if e != seq_end or len(engine_id) > 32 or len(user) > 32:
        raise x.BerError("invalid msgSecurityParameters")
    return Header(
        msg_id,
        max_size,
        flags,
        engine_id,
        boots,
        engine_time,
        user,
        auth_start,
        auth_end,
        salt,
        data_start,
        end,
    )


# A PDU handler gets the decoded request and the room left for varbinds, and returns the
# response's (error-status, error-index, varbinds), or None to stay silent.
Handler = Callable[[ber.Request, int], tuple[int, int, list[tuple[bytes, bytes]]] | None]

# Bytes a response adds around its varbinds at most: message and scoped-PDU framing,
# a 32-byte engine id and user name, a 48-byte digest and the salt.
V3_OVERHEAD = 200


class UsmAgent:
    """The authoritative side of USM for one engine (one simulated AP)."""

    __slots__ = ("_boot_seen", "boot_time", "boots", "counters", "engine_id", "users")

    def __init__(
        self, engine_id: bytes, users: list[UsmUser], boot_time: Callable[[float], float]
    ) -> None:
        self.engine_id = engine_id
        self.users = {user.name: user for user in users}
        self.boot_time = boot_time
        self.boots = 1
        self._boot_seen: float | None = None
        self.counters: dict[ber.Oid, int] = {}

    def clock(self, now: float) -> tuple[int, int]:
        """(snmpEngineBoots, snmpEngineTime) at ``now``. Boots counts the reboots this
        agent has seen (scheduled or ad hoc), starting at 1: enough for managers, which
        only need it to go up when engineTime restarts from zero."""
        boot = self.boot_time(now)
        if self._boot_seen is None:
            self._boot_seen = boot
        elif boot > self._boot_seen:
            self._boot_seen = boot
            self.boots = min(self.boots + 1, MAX_BOOTS)
        return self.boots, max(0, int(now - self._boot_seen))

    def _count(self, counter: ber.Oid) -> int:
        value = self.counters.get(counter, 0) + 1
        self.counters[counter] = value
        return value

    def answer(self, data: bytes, now: float, handler: Handler, max_size: int) -> bytes | None:
        """Bytes of a v3 request in, bytes of the response or report out (None: silence).

        Raises :class:`ber.BerError` for messages that cannot be parsed at all, which the
        responder counts as malformed.
        """
        header = parse_header(data)
        boots, engine_time = self.clock(now)
        user: UsmUser | None = None
        try:
            user = self._authenticate(data, header, boots, engine_time)
            scoped, start, end = open_scoped_pdu(data, header, user)
        except UsmError as exc:
            if not header.flags & FLAG_REPORTABLE:
                return None
            # Only a not-in-time-window report is authenticated (RFC 3414 3.2 7a), so a
            # manager with the right keys can trust the clock it carries.
            authed = exc.user if isinstance(exc, _TimeWindow) else None
            return self._report(data, header, exc.counter, boots, engine_time, authed)
        # Any contextEngineID is accepted: the AP is its only context.
        _context_engine, context_name, pdu_start = _scoped_fields(scoped, start, end)
        request = ber.decode_pdu(scoped, pdu_start, end)
        if request.pdu_tag == ber.RESPONSE:
            return None
        limit = min(max_size, header.max_size)
        result = handler(request, limit - V3_OVERHEAD - len(context_name))
        if result is None:
            return None
        status, index, varbinds = result
        pdu = ber.encode_pdu(ber.RESPONSE, request.request_id, status, index, varbinds)
        response = self._message(header, user, boots, engine_time, context_name, pdu)
        if len(response) > limit:
            pdu = ber.encode_pdu(ber.RESPONSE, request.request_id, ber.TOO_BIG, 0, [])
            response = self._message(header, user, boots, engine_time, context_name, pdu)
        return response

    def _authenticate(
        self, data: bytes, header: Header, boots: int, engine_time: int
    ) -> UsmUser | None:
        """RFC 3414 3.2 steps 3-7: engine, user, security level, digest, time window."""
        if header.engine_id != self.engine_id:
            raise UsmError(UNKNOWN_ENGINE_IDS, "unknown engine id (discovery)")
        user = self.users.get(header.user)
        if user is None:
            raise UsmError(UNKNOWN_USER_NAMES, "unknown user")
        # Our users are monitoring accounts whose access requires their full level.
        wanted = FLAG_AUTH | (FLAG_PRIV if user.priv_key is not None else 0)
        if header.flags & (FLAG_AUTH | FLAG_PRIV) != wanted:
            raise UsmError(UNSUPPORTED_SEC_LEVELS, "unsupported security level")
        given = data[header.auth_start : header.auth_end]
        if len(given) != user.digest_len:
            raise UsmError(WRONG_DIGESTS, "digest of the wrong length")
        zeroed = data[: header.auth_start] + bytes(user.digest_len) + data[header.auth_end :]
        if not hmac.compare_digest(user.digest(zeroed), given):
            raise UsmError(WRONG_DIGESTS, "wrong digest")
        if (
            boots == MAX_BOOTS
            or header.boots != boots
            or abs(header.time - engine_time) > TIME_WINDOW_S
        ):
            raise _TimeWindow(user)
        return user

    def _message(
        self,
        header: Header,
        user: UsmUser | None,
        boots: int,
        engine_time: int,
        context_name: bytes,
        pdu: bytes,
    ) -> bytes:
        scoped = encode_scoped_pdu(self.engine_id, context_name, pdu)
        flags = header.flags & (FLAG_AUTH | FLAG_PRIV)
        name = user.name if user is not None else header.user
        return encode_message(
            self.engine_id, header.msg_id, flags, user, name, boots, engine_time, scoped
        )

    def _report(
        self,
        data: bytes,
        header: Header,
        counter: ber.Oid,
        boots: int,
        engine_time: int,
        user: UsmUser | None,
    ) -> bytes:
        """A Report PDU carrying the incremented usmStats counter (RFC 3412 7.1 3b)."""
        value = ber.encode_unsigned(ber.COUNTER32, self._count(counter) % (1 << 32))
        request_id = _plain_request_id(data, header)
        pdu = ber.encode_pdu(ber.REPORT, request_id, 0, 0, [(ber.encode_oid(counter), value)])
        scoped = encode_scoped_pdu(self.engine_id, b"", pdu)
        flags = FLAG_AUTH if user is not None else 0
        return encode_message(
            self.engine_id, header.msg_id, flags, user, header.user, boots, engine_time, scoped
        )


class _TimeWindow(UsmError):
    """Not in the time window: the one failure whose report is authenticated."""

    def __init__(self, user: UsmUser) -> None:
        super().__init__(NOT_IN_TIME_WINDOWS, "not in time window")
        self.user = user


def encode_scoped_pdu(context_engine_id: bytes, context_name: bytes, pdu: bytes) -> bytes:
    return ber.tlv(
        ber.SEQUENCE,
        ber.tlv(ber.OCTET_STRING, context_engine_id)
        + ber.tlv(ber.OCTET_STRING, context_name)
        + pdu,
    )


def _security_parameters(
    engine_id: bytes, user: bytes, boots: int, engine_time: int, digest_len: int, salt: bytes
) -> tuple[bytes, int]:
    """msgSecurityParameters, and where inside it the digest's content starts."""
    head = (
        ber.tlv(ber.OCTET_STRING, engine_id)
        + ber.encode_integer(boots)
        + ber.encode_integer(engine_time)
        + ber.tlv(ber.OCTET_STRING, user)
    )
    auth = ber.tlv(ber.OCTET_STRING, bytes(digest_len))
    body = head + auth + ber.tlv(ber.OCTET_STRING, salt)
    params = ber.tlv(ber.OCTET_STRING, ber.tlv(ber.SEQUENCE, body))
    return params, len(params) - len(body) + len(head) + (len(auth) - digest_len)


def encode_message(
    engine_id: bytes,
    msg_id: int,
    flags: int,
    user: UsmUser | None,
    user_name: bytes,
    boots: int,
    engine_time: int,
    scoped_pdu: bytes,
) -> bytes:
    """A whole v3 message: encrypted when ``flags`` asks for privacy, then authenticated
    when it asks for auth. ``engine_id``, boots and time are the authoritative engine's,
    whichever side sends (so managers in tests and the bench use this too)."""
    salt = b""
    msg_data = scoped_pdu
    if flags & FLAG_PRIV:
        if user is None or user.priv_key is None:
            raise ValueError("privacy needs a user with a privacy key")
        salt = _next_salt()
        encrypted = aes_cfb(
            user.priv_key, aes_iv(boots, engine_time, salt), scoped_pdu, encrypt=True
        )
        msg_data = ber.tlv(ber.OCTET_STRING, encrypted)
    authed = user if flags & FLAG_AUTH else None
    digest_len = authed.digest_len if authed is not None else 0
    params, offset = _security_parameters(
        engine_id, user_name, boots, engine_time, digest_len, salt
    )
    head = ber.encode_integer(ber.VERSION_3) + ber.tlv(
        ber.SEQUENCE,
        ber.encode_integer(msg_id)
        + ber.encode_integer(MAX_MESSAGE_SIZE)
        + ber.tlv(ber.OCTET_STRING, bytes((flags,)))
        + ber.encode_integer(SECURITY_MODEL_USM),
    )
    message = ber.tlv(ber.SEQUENCE, head + params + msg_data)
    if authed is None:
        return message
    # The digest lies at a fixed distance from the end of the message.
    at = len(message) - len(msg_data) - len(params) + offset
    digest = authed.digest(message)
    return message[:at] + digest + message[at + digest_len :]


def open_scoped_pdu(data: bytes, header: Header, user: UsmUser | None) -> tuple[bytes, int, int]:
    """The plaintext ScopedPDU of a message as (buffer, start, end), decrypting if needed;
    a failed decryption raises :class:`UsmError` (usmStatsDecryptionErrors)."""
    if not header.flags & FLAG_PRIV:
        start, end = ber.expect(data, header.data_start, header.data_end, ber.SEQUENCE)
        if end != header.data_end:
            raise ber.BerError("trailing bytes after the scoped PDU")
        return data, start, end
    if user is None or user.priv_key is None:
        raise UsmError(DECRYPTION_ERRORS, "no privacy key for an encrypted message")
    try:
        s, e = ber.expect(data, header.data_start, header.data_end, ber.OCTET_STRING)
        if len(header.salt) != 8:
            raise ber.BerError("the AES salt must be 8 octets")
        iv = aes_iv(header.boots, header.time, header.salt)
        plain = aes_cfb(user.priv_key, iv, data[s:e], encrypt=False)
        # CFB has no padding, but some managers pad anyway: read one TLV, ignore the rest.
        start, end = ber.expect(plain, 0, len(plain), ber.SEQUENCE)
    except (ber.BerError, ValueError) as exc:
        raise UsmError(DECRYPTION_ERRORS, f"decryption error: {exc}") from exc
    return plain, start, end


def decode_scoped_pdu(
    data: bytes, header: Header, user: UsmUser | None
) -> tuple[bytes, ber.Request]:
    """contextName and PDU of a message (for managers: tests and the bench)."""
    scoped, start, end = open_scoped_pdu(data, header, user)
    _engine, context_name, pos = _scoped_fields(scoped, start, end)
    return context_name, ber.decode_pdu(scoped, pos, end, tags=ber.PDU_TAGS | {ber.REPORT})


def _next_salt() -> bytes:
    return (next(_salts) % (1 << 64)).to_bytes(8, "big")


def _plain_request_id(data: bytes, header: Header) -> int:
    """The request-id of an unencrypted request (a discovery probe), else 0: managers
    match reports by msgID, but some also look at the request-id when it is there."""
    if header.flags & FLAG_PRIV:
        return 0
    try:
        start, end = ber.expect(data, header.data_start, header.data_end, ber.SEQUENCE)
        _engine, _name, pos = _scoped_fields(data, start, end)
        _tag, pos, pdu_end = ber.read_header(data, pos, end)
        s, e = ber.expect(data, pos, pdu_end, ber.INTEGER)
        return ber.read_int(data, s, e)
    except ber.BerError:
        return 0


def _scoped_fields(scoped: bytes, start: int, end: int) -> tuple[bytes, bytes, int]:
    """contextEngineID, contextName and where the PDU starts inside a ScopedPDU."""
    s, e = ber.expect(scoped, start, end, ber.OCTET_STRING)
    context_engine = scoped[s:e]
    s, e = ber.expect(scoped, e, end, ber.OCTET_STRING)
    return context_engine, scoped[s:e], e
