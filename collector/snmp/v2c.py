"""SNMPv2c over one asyncio UDP socket with the collector's own codec (:mod:`.ber`).

Measured in bench/bench_collector.py, pysnmp spends most of a v2c poll's CPU in pyasn1's
generic ASN.1 machinery; the codec does the same job for a fraction of it.

Why a request failed is decided here from evidence, never from text: no answer within
its attempts is a timeout (a wrong community too: agents drop those silently); an ICMP
port/host unreachable for it is a refusal, known at once; an answer naming it that cannot
be decoded is malformed. ICMP errors reach an unconnected socket only with ``IP_RECVERR``
(Linux): the kernel then queues each error with the datagram it answers, and the
request-id in that echoed datagram, with the address it went to, names the one request to
fail. Without ``IP_RECVERR`` a refused request simply runs into its timeout.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import random
import socket
import struct
import sys
from collections.abc import Sequence
from typing import Any

from collector.snmp import ber
from collector.snmp.causes import cause_of_status
from collector.snmp.sockets import udp_socket
from collector.snmp.types import SnmpTarget, VarBinds
from core.errors import PollError
from core.states import PollCause

TIMEOUT_TEXT = "No SNMP response received before timeout"  # pysnmp's words, kept

# Linux's IP_RECVERR (not exported by Python's socket module) and what a queued error
# carries: struct sock_extended_err {u32 errno; u8 origin, type, code, pad; u32 info, data}.
IP_RECVERR: int | None = getattr(socket, "IP_RECVERR", 11 if sys.platform == "linux" else None)
_EXTENDED_ERR = struct.Struct("=IBBB")
_ORIGIN_ICMP = 2
_ICMP_DEST_UNREACH = 3
_ERRORS_PER_DRAIN = 1024  # bounds one drain of the error queue
_ECHO_BYTES = 2048  # of the echoed datagram; the request-id is near its start
_ANCILLARY_BYTES = 512
# What a send may report when an earlier datagram's ICMP error is pending on the socket.
_UNREACHABLE = frozenset((errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH))


class _Pending:
    """One request in flight: where it went, what to resend, who waits for the answer."""

    __slots__ = ("address", "future", "label", "packet", "retries_left", "timeout_s", "timer")

    def __init__(
        self,
        address: tuple[str, int],
        packet: bytes,
        future: asyncio.Future[ber.Response],
        retries: int,
        timeout_s: float,
        label: str,
    ) -> None:
        self.address = address
        self.packet = packet
        self.future = future
        self.retries_left = retries
        self.timeout_s = timeout_s
        self.timer: asyncio.TimerHandle | None = None
        self.label = label

    def fail(self, message: str, cause: PollCause) -> None:
        if not self.future.done():
            self.future.set_exception(PollError(f"{self.label}: {message}", cause))


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


async def _resolve(target: SnmpTarget) -> tuple[str, int]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            target.host, target.port, family=socket.AF_INET, type=socket.SOCK_DGRAM
        )
    except OSError as exc:
        infos, why = [], exc.strerror or str(exc)
    else:
        why = "no IPv4 address"
    if not infos:
        message = f"{target.label}: cannot resolve {target.host!r} ({why})"
        raise PollError(message, PollCause.REFUSED)
    return str(infos[0][4][0]), target.port


def _listen_for_icmp(sock: socket.socket) -> bool:
    """Ask for ICMP errors on this unconnected socket; False where that is unavailable."""
    if IP_RECVERR is None:
        return False
    try:
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    except OSError:
        return False
    return True


class V2cClient(asyncio.DatagramProtocol):
    """SNMPv2c requests over one socket, matched to answers by request-id.

    Semantics as pysnmp's: each request waits ``timeout_s`` per attempt and is resent up to
    ``retries`` times with the same request-id (so a late answer to an earlier attempt still
    counts); an answer is accepted only with a pending request-id and from the address the
    request went to, so stray, duplicate and late datagrams are dropped. A datagram that
    names a pending request but is otherwise malformed fails that request at once (retrying
    a device that answers garbage only wastes its timeout); one that cannot even be matched
    is dropped. Timers are plain ``call_later`` callbacks: no task per request.
    """

    def __init__(self, receive_buffer_bytes: int) -> None:
        self._receive_buffer_bytes = receive_buffer_bytes
        self._sock: socket.socket | None = None
        self._icmp = False  # whether ICMP errors reach us (IP_RECVERR is on)
        self._transport: asyncio.DatagramTransport | None = None
        self._opening: asyncio.Future[asyncio.DatagramTransport] | None = None
        self._pending: dict[int, _Pending] = {}
        self._next_id = random.randrange(1, 1 << 30)
        self._communities: dict[str, bytes] = {}
        self._addresses: dict[tuple[str, int], tuple[str, int]] = {}
        self.dropped = 0  # datagrams ignored: stray, late, duplicate or unmatched garbage
        self.refused = 0  # requests failed at once by an ICMP unreachable

    async def _open(self) -> asyncio.DatagramTransport:
        if self._transport is not None:
            return self._transport
        if self._opening is None:
            loop = asyncio.get_running_loop()
            self._opening = loop.create_future()
            sock = udp_socket(self._receive_buffer_bytes)
            try:
                transport, _ = await loop.create_datagram_endpoint(lambda: self, sock=sock)
            except BaseException as exc:
                sock.close()
                self._opening.set_exception(exc)
                self._opening = None
                raise
            self._sock, self._icmp = sock, _listen_for_icmp(sock)
            self._transport = transport
            self._opening.set_result(transport)
            return transport
        return await asyncio.shield(self._opening)

    async def _address(self, target: SnmpTarget) -> tuple[str, int]:
        """The target as the (IPv4 address, port) its answers come from; names resolved
        once, as pysnmp's transport target did. A name that does not resolve is refused:
        nothing could ever answer it."""
        key = (target.host, target.port)
        address = self._addresses.get(key)
        if address is None:
            address = key if _is_ipv4(target.host) else await _resolve(target)
            self._addresses[key] = address
        return address

    def _request_id(self) -> int:
        request_id = self._next_id
        while request_id in self._pending:
            request_id = request_id % 0x7FFFFFFF + 1
        self._next_id = request_id % 0x7FFFFFFF + 1
        return request_id

    # --- answers ---------------------------------------------------------------------------

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        response: ber.Response | ber.BerError
        try:
            response = ber.decode_response(data)
            request_id = response.request_id
        except ber.BerError as exc:
            if exc.request_id is None:
                self.dropped += 1
                return
            response, request_id = exc, exc.request_id
        pending = self._pending.get(request_id)
        if pending is None or pending.future.done() or (addr[0], addr[1]) != pending.address:
            self.dropped += 1
            return
        if isinstance(response, ber.BerError):
            pending.fail(f"malformed response ({response})", PollCause.MALFORMED)
        else:
            pending.future.set_result(response)

    # --- ICMP errors -----------------------------------------------------------------------

    def error_received(self, exc: Exception) -> None:
        """The socket has an error pending: with IP_RECVERR, an ICMP error queued with the
        datagram it answers. Read them all (the queue must be emptied, or the socket stays
        readable for ever)."""
        self._read_icmp_errors()

    def _read_icmp_errors(self) -> int:
        """Fail the request each queued ICMP unreachable answers; how many were read."""
        sock = self._sock
        if sock is None or not self._icmp:
            return 0
        for count in range(_ERRORS_PER_DRAIN):
            try:
                echoed, ancillary, _flags, address = sock.recvmsg(
                    _ECHO_BYTES, _ANCILLARY_BYTES, socket.MSG_ERRQUEUE
                )
            except OSError:  # BlockingIOError: the queue is empty
                return count
            for level, kind, data in ancillary:
                if level == socket.IPPROTO_IP and kind == IP_RECVERR and len(data) >= 7:
                    code, origin, icmp_type, _icmp_code = _EXTENDED_ERR.unpack_from(data)
                    if origin == _ORIGIN_ICMP and icmp_type == _ICMP_DEST_UNREACH:
                        self._refuse(echoed, address, code)
        return _ERRORS_PER_DRAIN

    def _refuse(self, echoed: bytes, address: Any, code: int) -> None:
        request_id = ber.request_id_of(echoed)
        pending = self._pending.get(request_id) if request_id is not None else None
        if pending is None or not isinstance(address, tuple):
            return
        if (address[0], address[1]) != pending.address or pending.future.done():
            return
        self.refused += 1
        pending.fail(f"refused ({os.strerror(code) if code else 'unreachable'})", PollCause.REFUSED)

    # --- requests --------------------------------------------------------------------------

    def _send(self, transport: asyncio.DatagramTransport, pending: _Pending) -> None:
        """Send (or resend) a request. A pending ICMP error of an earlier datagram makes
        the kernel refuse this send instead: read that error (it fails its own request),
        then send this one again."""
        sock = self._sock
        if sock is None:
            transport.sendto(pending.packet, pending.address)
            return
        for _attempt in range(2):
            try:
                sock.sendto(pending.packet, pending.address)
                return
            except (BlockingIOError, InterruptedError):
                transport.sendto(pending.packet, pending.address)  # asyncio queues it
                return
            except OSError as exc:
                if exc.errno not in _UNREACHABLE or not self._read_icmp_errors():
                    pending.fail(f"cannot send ({exc.strerror or exc})", PollCause.REFUSED)
                    return
        # Still refused: leave it to the timer (a retry, or the timeout).

    def _expire(self, pending: _Pending) -> None:
        if pending.future.done():
            return
        if pending.retries_left > 0 and self._transport is not None:
            pending.retries_left -= 1
            self._send(self._transport, pending)
            pending.timer = asyncio.get_running_loop().call_later(
                pending.timeout_s, self._expire, pending
            )
            return
        pending.fail(TIMEOUT_TEXT, PollCause.TIMEOUT)

    async def request(
        self, target: SnmpTarget, oids: Sequence[str], bulk_head: tuple[int, int] | None = None
    ) -> VarBinds:
        """GET ``oids``, or GETBULK when ``bulk_head`` is (non-repeaters, max-repetitions)."""
        transport = self._transport or await self._open()
        address = await self._address(target)
        community = self._communities.get(target.community)
        if community is None:
            community = self._communities[target.community] = target.community.encode()
        request_id = self._request_id()
        label = target.label
        try:
            if bulk_head is None:
                packet = ber.encode_request(community, ber.GET_REQUEST, request_id, list(oids))
            else:
                packet = ber.encode_request(
                    community, ber.GET_BULK_REQUEST, request_id, list(oids), *bulk_head
                )
        except ValueError as exc:  # an OID that is not one: nothing a device could read
            raise PollError(f"{label}: {exc}", PollCause.MALFORMED) from None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ber.Response] = loop.create_future()
        pending = _Pending(address, packet, future, target.retries, target.timeout_s, label)
        self._pending[request_id] = pending
        try:
            self._send(transport, pending)
            pending.timer = loop.call_later(target.timeout_s, self._expire, pending)
            response = await future
        finally:
            if pending.timer is not None:
                pending.timer.cancel()
            del self._pending[request_id]
        if response.error_status:
            raise PollError(
                f"{label}: error-status {ber.error_status_name(response.error_status)}"
                f" at varbind {response.error_index}",
                cause_of_status(response.error_status),
            )
        return response.var_binds

    def close(self) -> None:
        for pending in self._pending.values():
            if pending.timer is not None:
                pending.timer.cancel()
            pending.fail("scraper closed", PollCause.TIMEOUT)
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        self._sock = None
