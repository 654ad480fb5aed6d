"""RADIUS accounting from the simulated city's hotspot APs (RFC 2866, RFC 2869).

Two parts:

* a small encoder of Accounting-Request packets and checker of Accounting-Response
  packets, written by hand from the RFCs. Not pyrad: the receiver decodes with pyrad, and
  a receiver tested only against the library it decodes with would share that library's
  mistakes. The tests in turn decode what this encoder writes with pyrad.
* the accountant (:class:`Accountant`), which turns each hotspot AP's sessions — exactly
  what its SNMP hotspot table and its SSH CLI show, :meth:`Device.sessions` and
  :meth:`Device.session_bytes` — into the packets a MikroTik NAS sends: Start when a
  session appears, Interim-Update every interim period, Stop when it is gone, and
  Accounting-On first when the AP (re)starts its accounting: at the simulator's start
  and after every boot. A dead or unreachable AP sends nothing. The sender
  (:func:`serve_accounting`) sends them from the AP's own loopback address, retransmits
  after a silence and gives up after a few tries, as a NAS does.

The accountant reads the simulated clock, so ``--speed`` and ``--time-offset`` apply to
the sessions and to the interim period; retransmission is a network timer and runs on
real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import hashlib
import ipaddress
import logging
import socket
import struct
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.errors import SimulatorError
from simulators.city import City, SimAp, radius_secret
from simulators.device import SLOT_MS, Session

if TYPE_CHECKING:
    from simulators.faults import FaultBook

log = logging.getLogger("simulators.radius")

ACCOUNTING_REQUEST = 4
ACCOUNTING_RESPONSE = 5
HEADER = struct.Struct("!BBH16s")
MAX_PACKET = 4096  # RFC 2865 section 3

# Attribute types (RFC 2865, 2866, 2869).
USER_NAME = 1
NAS_IP_ADDRESS = 4
NAS_PORT = 5
FRAMED_IP_ADDRESS = 8
VENDOR_SPECIFIC = 26
CALLED_STATION_ID = 30
CALLING_STATION_ID = 31
NAS_IDENTIFIER = 32
ACCT_STATUS_TYPE = 40
ACCT_DELAY_TIME = 41
ACCT_INPUT_OCTETS = 42
ACCT_OUTPUT_OCTETS = 43
ACCT_SESSION_ID = 44
ACCT_AUTHENTIC = 45
ACCT_SESSION_TIME = 46
ACCT_INPUT_PACKETS = 47
ACCT_OUTPUT_PACKETS = 48
ACCT_TERMINATE_CAUSE = 49
ACCT_INPUT_GIGAWORDS = 52
ACCT_OUTPUT_GIGAWORDS = 53
EVENT_TIMESTAMP = 55
NAS_PORT_TYPE = 61

AUTHENTIC_RADIUS = 1
PORT_TYPE_WIRELESS = 19  # Wireless - IEEE 802.11
HOTSPOT_SERVER = "hotspot1"  # RouterOS's default hotspot server name (Called-Station-Id)

DEFAULT_INTERIM_S = 300.0
TICK_S = 1.0
RETRY_AFTER_S = 2.0
TRIES = 3
MAX_IN_FLIGHT = 256
"""Requests awaiting an answer, city-wide. At most 256 also means an AP can never run out
of the 256 RADIUS identifiers, whatever share of them is its own."""
MAX_QUEUE = 50_000
"""Requests waiting to be sent; beyond it new ones are dropped (a NAS's buffer is finite
too), counted, and said once a minute."""

Attribute = tuple[int, bytes]


class Status(enum.IntEnum):
    """Acct-Status-Type values."""

    START = 1
    STOP = 2
    INTERIM_UPDATE = 3
    ACCOUNTING_ON = 7
    ACCOUNTING_OFF = 8


class TerminateCause(enum.IntEnum):
    """The Acct-Terminate-Cause values a hotspot session ends with here."""

    USER_REQUEST = 1
    IDLE_TIMEOUT = 4


# --- the encoder -----------------------------------------------------------------------


def string(kind: int, value: str | bytes) -> Attribute:
    data = value.encode() if isinstance(value, str) else value
    if not 1 <= len(data) <= 253:
        raise SimulatorError(f"RADIUS attribute {kind}: {len(data)} octets (1-253 allowed)")
    return kind, data


def integer(kind: int, value: int) -> Attribute:
    if not 0 <= value < 1 << 32:
        raise SimulatorError(f"RADIUS attribute {kind}: {value} is not a 32-bit unsigned value")
    return kind, value.to_bytes(4, "big")


def address(kind: int, value: str | bytes) -> Attribute:
    packed = value if isinstance(value, bytes) else ipaddress.IPv4Address(value).packed
    if len(packed) != 4:
        raise SimulatorError(f"RADIUS attribute {kind}: an IPv4 address is 4 octets")
    return kind, packed


def vendor(vendor_id: int, kind: int, value: bytes) -> Attribute:
    """A Vendor-Specific attribute holding one sub-attribute (RFC 2865 section 5.26)."""
    if len(value) > 247:
        raise SimulatorError(f"vendor {vendor_id} attribute {kind}: value too long")
    return VENDOR_SPECIFIC, struct.pack("!IBB", vendor_id, kind, len(value) + 2) + value


def octets(kind: int, gigawords_kind: int, value: int) -> list[Attribute]:
    """A 64-bit byte count as RADIUS carries it: the low 32 bits and the gigawords."""
    return [integer(kind, value & 0xFFFF_FFFF), integer(gigawords_kind, value >> 32)]


def encode_request(identifier: int, secret: bytes, attributes: Sequence[Attribute]) -> bytes:
    """An Accounting-Request: its Request Authenticator is MD5(Code + Identifier + Length
    + 16 zero octets + attributes + secret) (RFC 2866 section 3)."""
    body = b"".join(bytes((kind, len(value) + 2)) + value for kind, value in attributes)
    length = HEADER.size + len(body)
    if length > MAX_PACKET:
        raise SimulatorError(f"RADIUS packet of {length} octets (at most {MAX_PACKET})")
    head = struct.pack("!BBH", ACCOUNTING_REQUEST, identifier, length)
    authenticator = hashlib.md5(head + bytes(16) + body + secret).digest()
    return head + authenticator + body


def response_matches(data: bytes, request: bytes, secret: bytes) -> bool:
    """Whether ``data`` is the Accounting-Response to ``request``: same identifier, and a
    Response Authenticator of MD5(Code + Identifier + Length + Request Authenticator +
    attributes + secret) (RFC 2866 section 3). Anything else is ignored, as a NAS must."""
    if len(data) < HEADER.size:
        return False
    code, identifier, length, authenticator = HEADER.unpack_from(data)
    if code != ACCOUNTING_RESPONSE or identifier != request[1] or length > len(data):
        return False
    if length < HEADER.size:
        return False
    expected = hashlib.md5(data[:4] + request[4:20] + data[20:length] + secret).digest()
    return bool(expected == authenticator)


def mac_text(mac: bytes) -> str:
    """A MAC as RouterOS writes Calling-Station-Id: ``AA:BB:CC:DD:EE:FF``."""
    return ":".join(f"{b:02X}" for b in mac)


def session_id_text(session_id: int) -> str:
    """Acct-Session-Id as RouterOS writes it: the session's number in 8 hex digits, the
    same number that indexes the SNMP hotspot table."""
    return f"{session_id:08x}"


# --- the accountant --------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One Accounting-Request to send: from which AP, with what, before encoding."""

    ap_id: str
    host: str
    secret: bytes = field(repr=False)
    status: Status
    attributes: tuple[Attribute, ...] = field(repr=False)  # user names and MACs inside


@dataclass
class _Tracked:
    session: Session
    slot: int
    last_seen: float
    last_sent: float
    sent_bytes: tuple[int, int] = (0, 0)  # what the last packet said: counters never go back


@dataclass
class _Nas:
    ap: SimAp
    secret: bytes = field(repr=False)
    boot_ms: int | None = None
    sessions: dict[int, _Tracked] = field(default_factory=dict)


class Accountant:
    """What every hotspot AP sends at an instant, from what its device shows.

    :meth:`observe` is called with the simulated time at each tick and returns the
    requests due; it keeps per AP the sessions it has announced, to notice the ones that
    appeared (Start), the ones due an update (Interim-Update) and the ones gone (Stop).
    """

    def __init__(
        self,
        aps: Iterable[SimAp],
        secrets: dict[str, str],
        *,
        faults: FaultBook | None = None,
        interim_s: float = DEFAULT_INTERIM_S,
    ) -> None:
        if interim_s <= 0:
            raise SimulatorError(f"the interim period must be positive, not {interim_s!r}")
        self.nas = [_Nas(ap, secrets[ap.id].encode()) for ap in aps]
        self.faults = faults
        self.interim_s = interim_s

    @classmethod
    def for_city(
        cls, city: City, *, faults: FaultBook | None = None, interim_s: float = DEFAULT_INTERIM_S
    ) -> Accountant:
        """The accountant of every hotspot AP of ``city``, with the secrets its inventory
        gives their credential profiles."""
        aps = [ap for ap in city.aps if ap.hotspot]
        secrets = {ap.id: radius_secret(city.seed, ap.credentials) for ap in aps}
        return cls(aps, secrets, faults=faults, interim_s=interim_s)

    def reachable(self, ap_id: str, now: float) -> bool:
        """A dead (power cut, booting) or cut-off AP reaches no server."""
        if self.faults is None:
            return True
        effect = self.faults.effect(ap_id, now)
        return effect is None or not effect.drop

    def observe(self, now: float) -> list[Request]:
        out: list[Request] = []
        for nas in self.nas:
            if self.reachable(nas.ap.id, now):
                self._observe(nas, now, out)
        return out

    def _observe(self, nas: _Nas, now: float, out: list[Request]) -> None:
        device = nas.ap.device
        boot = device.boot_ms(int(now * 1000))
        if nas.boot_ms != boot:
            # Started or rebooted: the sessions it had are gone with its memory; the
            # receiver closes whatever it still holds open for this NAS.
            nas.boot_ms = boot
            nas.sessions.clear()
            out.append(self._request(nas, Status.ACCOUNTING_ON, now, now, []))
        current = {session.id: session for session in device.sessions(now)}
        for number, gone in list(nas.sessions.items()):
            if current.get(number) != gone.session:
                del nas.sessions[number]
                out.append(self._stop(nas, gone, now))
        slot = int(now // (SLOT_MS // 1000))
        for number, session in current.items():
            tracked = nas.sessions.get(number)
            if tracked is None:
                nas.sessions[number] = _Tracked(session, slot, now, now)
                out.append(self._start(nas, session, now))
            else:
                tracked.last_seen = now
                if now - tracked.last_sent >= self.interim_s:
                    tracked.last_sent = now
                    out.append(self._update(nas, tracked, now, Status.INTERIM_UPDATE, now))

    def _stop(self, nas: _Nas, tracked: _Tracked, now: float) -> Request:
        """The Stop of a session no longer shown. When its 15-minute slot has ended since
        it was last seen, it ended exactly then; otherwise (fewer sessions now, the
        device silent) at the last instant it was seen."""
        slot_end = (tracked.slot + 1) * (SLOT_MS // 1000)
        end = slot_end - 0.001 if tracked.last_seen < slot_end <= now else tracked.last_seen
        return self._update(nas, tracked, end, Status.STOP, now)

    def _start(self, nas: _Nas, session: Session, now: float) -> Request:
        # Acct-Session-Time in a Start says when it began (the device's login time, which
        # its SNMP table and CLI show), whatever the receiver's clock says.
        return self._request(nas, Status.START, now, now, [*_session_attributes(session, now)])

    def _update(
        self, nas: _Nas, tracked: _Tracked, at: float, status: Status, now: float
    ) -> Request:
        session = tracked.session
        device = nas.ap.device
        up, down = device.session_bytes(session, at)
        up, down = max(up, tracked.sent_bytes[0]), max(down, tracked.sent_bytes[1])
        tracked.sent_bytes = (up, down)
        packets_up, packets_down = device.session_packets(session, at)
        attributes = [
            *_session_attributes(session, at),
            *octets(ACCT_INPUT_OCTETS, ACCT_INPUT_GIGAWORDS, up),
            *octets(ACCT_OUTPUT_OCTETS, ACCT_OUTPUT_GIGAWORDS, down),
            integer(ACCT_INPUT_PACKETS, packets_up & 0xFFFF_FFFF),
            integer(ACCT_OUTPUT_PACKETS, packets_down & 0xFFFF_FFFF),
        ]
        if status is Status.STOP:
            attributes.append(integer(ACCT_TERMINATE_CAUSE, terminate_cause(session)))
        return self._request(nas, status, at, now, attributes)

    @staticmethod
    def _request(
        nas: _Nas, status: Status, event: float, now: float, attributes: list[Attribute]
    ) -> Request:
        ap = nas.ap
        head = [
            integer(ACCT_STATUS_TYPE, status),
            address(NAS_IP_ADDRESS, ap.host),
            string(NAS_IDENTIFIER, ap.name),
        ]
        tail = [
            integer(EVENT_TIMESTAMP, int(event)),
            integer(ACCT_DELAY_TIME, max(0, int(now - event))),
        ]
        return Request(ap.id, ap.host, nas.secret, status, tuple(head + attributes + tail))


def terminate_cause(session: Session) -> TerminateCause:
    """About three in ten hotspot sessions time out idle; the rest log out or leave."""
    if session.share_permille % 10 < 3:
        return TerminateCause.IDLE_TIMEOUT
    return TerminateCause.USER_REQUEST


def _session_attributes(session: Session, at: float) -> list[Attribute]:
    return [
        string(ACCT_SESSION_ID, session_id_text(session.id)),
        string(USER_NAME, session.user),
        string(CALLING_STATION_ID, mac_text(session.mac)),
        string(CALLED_STATION_ID, HOTSPOT_SERVER),
        address(FRAMED_IP_ADDRESS, session.address),
        integer(NAS_PORT, session.id & 0xFFFF_FFFF),
        integer(NAS_PORT_TYPE, PORT_TYPE_WIRELESS),
        integer(ACCT_AUTHENTIC, AUTHENTIC_RADIUS),
        integer(ACCT_SESSION_TIME, max(0, int(at - session.login))),
    ]


# --- the sender ------------------------------------------------------------------------


def parse_target(text: str) -> tuple[str, int]:
    """``HOST:PORT`` of the RADIUS accounting server: an IPv4 loopback address (the APs
    send from their loopback addresses, which reach no other host) and a port."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise SimulatorError(f"RADIUS server {text!r}: expected HOST:PORT, e.g. 127.0.0.1:1813")
    try:
        parsed = ipaddress.IPv4Address(host)
    except ValueError as exc:
        raise SimulatorError(f"RADIUS server {text!r}: {host!r} is not an IPv4 address") from exc
    if not parsed.is_loopback:
        raise SimulatorError(
            f"RADIUS server {text!r}: the simulated APs send from loopback addresses, so the"
            " server must listen on one (127.0.0.0/8)"
        )
    return str(parsed), int(port_text)


@dataclass
class AccountingStats:
    sent: int = 0
    retransmitted: int = 0
    answered: int = 0
    given_up: int = 0
    dropped: int = 0  # the queue was full

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass
class _InFlight:
    request: Request
    packet: bytes = field(repr=False)
    tries: int
    timer: asyncio.TimerHandle | None = None


class _NasProtocol(asyncio.DatagramProtocol):
    def __init__(self, sender: _Sender, ap_id: str) -> None:
        self.sender = sender
        self.ap_id = ap_id

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.sender.answered(self.ap_id, data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable: no server yet. The retransmission timer carries on.
        log.debug("RADIUS send from %s: %s", self.ap_id, exc)


class _Sender:
    """Sends requests in order, at most MAX_IN_FLIGHT unanswered; retransmits each (same
    identifier and authenticator) after ``retry_after_s`` without an answer, up to
    ``tries`` sends in all.

    An Accounting-On is the exception: it is resent until answered, and the AP's further
    requests wait behind it (in the bounded queue). So nothing is lost while the server
    is not up yet (``citywifi demo`` starts it after the simulator), and no Start can
    overtake a retransmitted On, which would close it at the receiver."""

    def __init__(
        self,
        target: tuple[str, int],
        accountant: Accountant,
        clock: Callable[[], float],
        stats: AccountingStats,
        *,
        retry_after_s: float,
        tries: int,
        max_queue: int,
    ) -> None:
        self.target = target
        self.accountant = accountant
        self.clock = clock
        self.stats = stats
        self.retry_after_s = retry_after_s
        self.tries = tries
        self.max_queue = max_queue
        self.transports: dict[str, asyncio.DatagramTransport] = {}
        self.ready: deque[Request] = deque()
        self.held: dict[str, deque[Request]] = {}
        self.in_flight: dict[tuple[str, int], _InFlight] = {}
        self.next_id: dict[str, int] = {}
        self.last_drop_log = -1e9

    async def open(self, aps: Iterable[SimAp]) -> None:
        loop = asyncio.get_running_loop()
        for ap in aps:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.bind((ap.host, 0))
                sock.setblocking(False)
                transport, _ = await loop.create_datagram_endpoint(
                    functools.partial(_NasProtocol, self, ap.id), sock=sock
                )
            except OSError as exc:
                sock.close()
                raise SimulatorError(
                    f"cannot send RADIUS from {ap.host}: {exc.strerror or exc}"
                ) from exc
            except BaseException:
                sock.close()
                raise
            self.transports[ap.id] = transport

    def close(self) -> None:
        for flight in self.in_flight.values():
            if flight.timer is not None:
                flight.timer.cancel()
        for transport in self.transports.values():
            transport.close()

    def queue(self, requests: Iterable[Request]) -> None:
        for request in requests:
            if len(self.ready) + sum(map(len, self.held.values())) >= self.max_queue:
                self.stats.dropped += 1
                now = time.monotonic()
                if now - self.last_drop_log >= 60:
                    self.last_drop_log = now
                    log.warning(
                        "RADIUS queue full (%d requests): dropping new ones; is the server"
                        " at %s:%d answering?",
                        self.max_queue,
                        *self.target,
                    )
                continue
            self.ready.append(request)
        self.pump()

    def pump(self) -> None:
        while self.ready and len(self.in_flight) < MAX_IN_FLIGHT:
            request = self.ready.popleft()
            held = self.held.get(request.ap_id)
            if held is not None:
                held.append(request)
                continue
            identifier = self._identifier(request.ap_id)
            packet = encode_request(identifier, request.secret, request.attributes)
            flight = _InFlight(request, packet, 0)
            self.in_flight[(request.ap_id, identifier)] = flight
            if request.status is Status.ACCOUNTING_ON:
                self.held[request.ap_id] = deque()
            self._send(flight)

    def _identifier(self, ap_id: str) -> int:
        """The AP's next free identifier (one is always free: see MAX_IN_FLIGHT)."""
        candidate = self.next_id.get(ap_id, 0)
        while (ap_id, candidate) in self.in_flight:
            candidate = (candidate + 1) % 256
        self.next_id[ap_id] = (candidate + 1) % 256
        return candidate

    def _send(self, flight: _InFlight) -> None:
        request = flight.request
        flight.tries += 1
        if flight.tries > 1:
            self.stats.retransmitted += 1
        else:
            self.stats.sent += 1
        transport = self.transports[request.ap_id]
        # A packet sent while the AP is cut off is lost on the way: the try still counts.
        if not transport.is_closing() and self.accountant.reachable(request.ap_id, self.clock()):
            transport.sendto(flight.packet, self.target)
        flight.timer = asyncio.get_running_loop().call_later(
            self.retry_after_s, self._expired, request.ap_id, flight.packet[1]
        )

    def _expired(self, ap_id: str, identifier: int) -> None:
        flight = self.in_flight.get((ap_id, identifier))
        if flight is None:
            return
        if flight.tries < self.tries or flight.request.status is Status.ACCOUNTING_ON:
            self._send(flight)
            return
        self.stats.given_up += 1
        self._done(ap_id, identifier)

    def answered(self, ap_id: str, data: bytes, addr: tuple[str | Any, int]) -> None:
        if len(data) < 2 or (addr[0], addr[1]) != self.target:
            return
        flight = self.in_flight.get((ap_id, data[1]))
        if flight is None or not response_matches(data, flight.packet, flight.request.secret):
            return
        self.stats.answered += 1
        self._done(ap_id, data[1])

    def _done(self, ap_id: str, identifier: int) -> None:
        flight = self.in_flight.pop((ap_id, identifier))
        if flight.timer is not None:
            flight.timer.cancel()
        if flight.request.status is Status.ACCOUNTING_ON:
            self.ready.extendleft(reversed(self.held.pop(ap_id, deque())))
        self.pump()


async def serve_accounting(
    accountant: Accountant,
    target: tuple[str, int],
    *,
    stop: asyncio.Event,
    clock: Callable[[], float] = time.time,
    stats: AccountingStats | None = None,
    tick_s: float = TICK_S,
    retry_after_s: float = RETRY_AFTER_S,
    tries: int = TRIES,
    max_queue: int = MAX_QUEUE,
    ready: Callable[[], None] | None = None,
) -> None:
    """Send the accountant's requests to ``target`` every ``tick_s`` until ``stop``.

    Each AP sends from a UDP socket of its own bound to its address, so the server sees
    the packets come from the NAS they name."""
    stats = stats if stats is not None else AccountingStats()
    sender = _Sender(
        target,
        accountant,
        clock,
        stats,
        retry_after_s=retry_after_s,
        tries=tries,
        max_queue=max_queue,
    )
    try:
        await sender.open(nas.ap for nas in accountant.nas)
        log.info(
            "RADIUS accounting of %d hotspot APs to %s:%d, interim every %g s",
            len(accountant.nas),
            *target,
            accountant.interim_s,
        )
        if ready is not None:
            ready()
        while not stop.is_set():
            sender.queue(accountant.observe(clock()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), tick_s)
    finally:
        sender.close()
        log.info("RADIUS accounting stopped: %s", stats.as_dict())
