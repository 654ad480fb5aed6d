"""One datagram in, one verdict out: an :class:`AccountingRecord` with the reply to send
once it is stored, or the reason it is dropped.

pyrad decodes and checks (its own code for the Request Authenticator, RFC 2866 section 3,
and the Message-Authenticator when a NAS adds one); this module only says which
attributes make a record, with our dictionary (``accounting/dictionary``). Nothing here
logs or raises with a packet's content: a drop carries its reason and a key for the NAS
(held in memory by the server to rate-limit its log line, never written anywhere),
because a packet holds a citizen's MAC, IP address and user name.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pyrad import packet as rp
from pyrad.dictionary import Dictionary

from inventory.sessions import AccountingRecord, StatusType

DICTIONARY_PATH = Path(__file__).with_name("dictionary")

#: Event-Timestamp and Acct-Delay-Time further than this from the receive time are not
#: believed (a NAS whose clock was never set says 1970).
SANE_CLOCK_S = 86_400.0

GIGAWORD = 2**32

#: Acct-Status-Type as our dictionary names its values (pyrad returns the name).
STATUS_BY_NAME = {
    "Start": StatusType.START,
    "Stop": StatusType.STOP,
    "Interim-Update": StatusType.INTERIM_UPDATE,
    "Accounting-On": StatusType.ACCOUNTING_ON,
    "Accounting-Off": StatusType.ACCOUNTING_OFF,
}

HEADER_LENGTH = 20


class Drop(enum.StrEnum):
    """Why a datagram was not recorded (nor answered): the ``result`` label of
    ``citywifi_radius_packets_total`` beside the outcomes of the stored ones."""

    MALFORMED = "malformed"  # not a RADIUS packet, truncated, or an attribute undecodable
    WRONG_CODE = "wrong_code"  # a RADIUS packet but not an Accounting-Request
    UNKNOWN_NAS = "unknown_nas"  # neither NAS-IP-Address nor NAS-Identifier is an AP
    NO_SECRET = "no_secret"  # the AP's credential profile has no RADIUS secret
    BAD_AUTHENTICATOR = "bad_authenticator"  # the shared secret does not match
    UNSUPPORTED = "unsupported"  # an Acct-Status-Type we do not record (Failed, tunnels)
    OVERLOAD = "overload"  # more waiting for the database than the server holds
    WRITE_FAILED = "write_failed"  # the database refused the batch: the NAS will resend


@dataclass(frozen=True, slots=True)
class Nas:
    """An AP as a RADIUS client: what a record needs of it, and its shared secret."""

    ap_id: str
    site_id: str
    partner_id: str | None
    secret: bytes | None = None

    def __repr__(self) -> str:  # the secret never shows
        return f"Nas(ap_id={self.ap_id!r})"


#: How the packet decoder finds the NAS: (NAS-IP-Address, NAS-Identifier) -> Nas or None.
NasLookup = Callable[[str | None, str | None], Nas | None]


@dataclass(frozen=True, slots=True)
class Accepted:
    """A verified request: the record to store, the Accounting-Response to send after."""

    record: AccountingRecord
    reply: bytes


@dataclass(frozen=True, slots=True)
class Dropped:
    """A datagram not recorded. ``nas_key`` tells NASes apart for the log's rate limit
    (an AP id, or for an unknown NAS what it called itself); it is never logged unless it
    is an AP id from the inventory (``ap_id``)."""

    reason: Drop
    nas_key: str | None = None
    ap_id: str | None = None


class Malformed(Exception):
    """An attribute that does not decode (internal: becomes ``Drop.MALFORMED``)."""


@cache
def dictionary() -> Dictionary:
    """Our dictionary, read once per process."""
    return Dictionary(str(DICTIONARY_PATH))


def _first(pkt: rp.AcctPacket, name: str) -> Any:
    """The first value of attribute ``name``, None when absent; Malformed when its
    value does not decode (a 3-byte integer, an address of 5 bytes)."""
    try:
        values = pkt.get(name)
    except (ValueError, struct.error, UnicodeDecodeError, TypeError) as exc:
        raise Malformed(name) from exc
    if not values:
        return None
    return values[0]


def _text(value: Any) -> str | None:
    """A string attribute as text; one that is not UTF-8 is read as Latin-1, so that it
    still hashes to the same value every time."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


def _integer(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int):  # a VALUE name where a number was expected
        raise Malformed("integer")
    return value


def _octets(pkt: rp.AcctPacket, octets: str, gigawords: str) -> int | None:
    low = _integer(_first(pkt, octets))
    high = _integer(_first(pkt, gigawords))
    if low is None and high is None:
        return None
    return (high or 0) * GIGAWORD + (low or 0)


def _event_time(pkt: rp.AcctPacket, received_at: float) -> float:
    """Event-Timestamp when the NAS sent a sane one; else the receive time less the
    Acct-Delay-Time the NAS says the packet waited (RFC 2866 5.2), when sane."""
    stamp = _integer(_first(pkt, "Event-Timestamp"))
    if stamp is not None and abs(stamp - received_at) <= SANE_CLOCK_S:
        return float(stamp)
    delay = _integer(_first(pkt, "Acct-Delay-Time"))
    if delay is not None and 0 <= delay <= SANE_CLOCK_S:
        return received_at - delay
    return received_at


def _status(value: Any) -> StatusType | None:
    if isinstance(value, str):
        return STATUS_BY_NAME.get(value)
    if isinstance(value, int) and value in StatusType._value2member_map_:
        return StatusType(value)
    return None


def _cause(value: Any) -> str | None:
    """Acct-Terminate-Cause by its name; a number the dictionary does not name as such."""
    if value is None:
        return None
    return str(value)[:32]


def decode(data: bytes, lookup: NasLookup, received_at: float) -> Accepted | Dropped:
    """Decode, match and verify one datagram. Never raises for what a datagram holds."""
    if len(data) < HEADER_LENGTH:
        return Dropped(Drop.MALFORMED)
    if data[0] != rp.AccountingRequest:
        # Decide on the code before anything else: an Access-Request to this port is
        # someone's misconfiguration, not an accounting packet to look into.
        return Dropped(Drop.WRONG_CODE)
    try:
        pkt = rp.AcctPacket(packet=data, dict=dictionary())
    except (rp.PacketError, ValueError, struct.error, KeyError, TypeError, IndexError):
        return Dropped(Drop.MALFORMED)
    try:
        nas_ip = _text(_first(pkt, "NAS-IP-Address"))
        nas_identifier = _text(_first(pkt, "NAS-Identifier"))
    except Malformed:
        return Dropped(Drop.MALFORMED)
    nas_key = nas_ip or nas_identifier
    nas = lookup(nas_ip, nas_identifier)
    if nas is None:
        return Dropped(Drop.UNKNOWN_NAS, nas_key)
    if nas.secret is None:
        return Dropped(Drop.NO_SECRET, nas.ap_id, nas.ap_id)
    pkt.secret = nas.secret
    if not _authentic(pkt):
        return Dropped(Drop.BAD_AUTHENTICATOR, nas.ap_id, nas.ap_id)
    try:
        record = _record(pkt, nas, received_at)
    except Malformed:
        return Dropped(Drop.MALFORMED, nas.ap_id, nas.ap_id)
    if record is None:
        return Dropped(Drop.UNSUPPORTED, nas.ap_id, nas.ap_id)
    reply: bytes = pkt.CreateReply().ReplyPacket()
    return Accepted(record, reply)


def _authentic(pkt: rp.AcctPacket) -> bool:
    """The Request Authenticator, and the Message-Authenticator when present (a NAS
    that adds one means it; a wrong one is as bad as a wrong authenticator)."""
    try:
        if not pkt.VerifyAcctRequest():
            return False
        if pkt.message_authenticator:
            return bool(pkt.verify_message_authenticator())
    except Exception:  # pyrad raises bare Exception for a missing secret or attribute
        return False
    return True


def _record(pkt: rp.AcctPacket, nas: Nas, received_at: float) -> AccountingRecord | None:
    """The record of a verified request; None for a status type we do not record."""
    raw_status = _first(pkt, "Acct-Status-Type")
    if raw_status is None:
        raise Malformed("Acct-Status-Type")
    status = _status(raw_status)
    if status is None:
        return None
    event_time = _event_time(pkt, received_at)
    if status in (StatusType.ACCOUNTING_ON, StatusType.ACCOUNTING_OFF):
        return AccountingRecord(
            ap_id=nas.ap_id,
            site_id=nas.site_id,
            partner_id=nas.partner_id,
            status=status,
            received_at=received_at,
            event_time=event_time,
        )
    session_id = _text(_first(pkt, "Acct-Session-Id"))
    if not session_id:
        raise Malformed("Acct-Session-Id")
    session_time = _integer(_first(pkt, "Acct-Session-Time"))
    return AccountingRecord(
        ap_id=nas.ap_id,
        site_id=nas.site_id,
        partner_id=nas.partner_id,
        status=status,
        received_at=received_at,
        event_time=event_time,
        session_id=session_id,
        session_time_s=None if session_time is None else float(session_time),
        input_octets=_octets(pkt, "Acct-Input-Octets", "Acct-Input-Gigawords"),
        output_octets=_octets(pkt, "Acct-Output-Octets", "Acct-Output-Gigawords"),
        input_packets=_integer(_first(pkt, "Acct-Input-Packets")),
        output_packets=_integer(_first(pkt, "Acct-Output-Packets")),
        terminate_cause=_cause(_first(pkt, "Acct-Terminate-Cause")),
        calling_station=_text(_first(pkt, "Calling-Station-Id")),
        user_name=_text(_first(pkt, "User-Name")),
    )
