"""The small SNMP scraper interface, its pysnmp implementation and a fake beside it.

Everything above this module sees OIDs as dotted strings and values as plain Python
(``int``, ``str``, ``bytes``) or a :class:`Missing` marker, so the polling logic is tested
table-driven against :class:`FakeScraper` with canned device data (snmp_exporter's way),
and only this module knows pysnmp.

v2c goes through the collector's own small codec (collector/ber.py) and one asyncio UDP
socket: measured in bench/bench_collector.py, pysnmp spends most of a v2c poll's CPU in
pyasn1's generic ASN.1 machinery, and the codec does the same job for a fraction of it.
pysnmp's v1arch stack stays selectable (``PysnmpScraper(v2c="pysnmp")``) so the benchmark
can compare the two in one run. v3 targets go through pysnmp's v3arch, with USM users only
(never communities, which is what grows badly there, REFERENCE.md); USM is not something
to hand-roll. Each stack has one socket and one dispatcher/engine shared by the scraper (an
engine per target is slow and leaks).
"""

from __future__ import annotations

import asyncio
import bisect
import enum
import ipaddress
import random
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from core.errors import PollError


class Missing(enum.Enum):
    """SNMPv2 exception values: the device has no such thing."""

    NO_SUCH_OBJECT = "noSuchObject"
    NO_SUCH_INSTANCE = "noSuchInstance"
    END_OF_MIB_VIEW = "endOfMibView"


Value = int | str | bytes | Missing

# Room for a few thousand answers in flight (the kernel doubles the figure for overhead).
RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024
VarBinds = list[tuple[str, Value]]


@dataclass(frozen=True, slots=True)
class SnmpTarget:
    """Where and how to poll. v2c: ``community``. v3 (``user`` set): USM authPriv or
    authNoPriv, ``community`` empty. Protocol names are the inventory's (SHA, AES, ...)."""

    host: str
    port: int
    community: str = field(default="", repr=False)
    timeout_s: float = 2.0
    retries: int = 1
    user: str | None = None
    auth_protocol: str | None = None
    auth_key: str | None = field(default=None, repr=False)
    priv_protocol: str | None = None
    priv_key: str | None = field(default=None, repr=False)

    @property
    def is_v3(self) -> bool:
        return self.user is not None


class Scraper(Protocol):
    async def get(self, target: SnmpTarget, oids: Sequence[str]) -> VarBinds:
        """GET; raises PollError on timeout or an error-status."""
        ...

    async def bulk(
        self,
        target: SnmpTarget,
        non_repeaters: Sequence[str],
        repeaters: Sequence[str],
        max_repetitions: int,
    ) -> VarBinds:
        """GETBULK; the answer lists the non-repeaters, then rows of the repeaters."""
        ...

    def close(self) -> None: ...


def oid_in(oid: str, prefix: str) -> bool:
    return oid.startswith(prefix) and (len(oid) == len(prefix) or oid[len(prefix)] == ".")


def _oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(arc) for arc in oid.strip(".").split("."))


class FakeScraper:
    """A device from a table of OID → value, with real GET/GETNEXT/GETBULK semantics.

    ``unreachable`` makes every request time out, like a dead AP.
    """

    def __init__(self, devices: Mapping[tuple[str, int], Mapping[str, Value]]) -> None:
        self._devices = {
            addr: sorted(((_oid_key(o), o, v) for o, v in table.items()), key=lambda r: r[0])
            for addr, table in devices.items()
        }
        self.unreachable: set[tuple[str, int]] = set()
        self.requests = 0

    def _table(self, target: SnmpTarget) -> list[tuple[tuple[int, ...], str, Value]]:
        self.requests += 1
        addr = (target.host, target.port)
        if addr in self.unreachable or addr not in self._devices:
            raise PollError(f"{target.host}:{target.port}: no answer (timeout)")
        return self._devices[addr]

    async def get(self, target: SnmpTarget, oids: Sequence[str]) -> VarBinds:
        table = self._table(target)
        by_oid = {o: v for _k, o, v in table}
        out: VarBinds = []
        for oid in oids:
            if oid in by_oid:
                out.append((oid, by_oid[oid]))
            else:
                parent = any(oid_in(o, oid.rsplit(".", 1)[0]) for _k, o, _v in table)
                out.append((oid, Missing.NO_SUCH_INSTANCE if parent else Missing.NO_SUCH_OBJECT))
        return out

    @staticmethod
    def _next(table: list[tuple[tuple[int, ...], str, Value]], oid: str) -> tuple[str, Value]:
        keys = [k for k, _o, _v in table]
        i = bisect.bisect_right(keys, _oid_key(oid))
        if i >= len(table):
            return oid, Missing.END_OF_MIB_VIEW
        return table[i][1], table[i][2]

    async def bulk(
        self,
        target: SnmpTarget,
        non_repeaters: Sequence[str],
        repeaters: Sequence[str],
        max_repetitions: int,
    ) -> VarBinds:
        table = self._table(target)
        out: VarBinds = [self._next(table, oid) for oid in non_repeaters]
        cursors = list(repeaters)
        for _ in range(max_repetitions):
            row = [self._next(table, oid) for oid in cursors]
            out.extend(row)
            cursors = [oid for oid, _v in row]
            if all(v is Missing.END_OF_MIB_VIEW for _o, v in row):
                break
        return out

    def close(self) -> None:
        pass


def _udp_socket(receive_buffer_bytes: int) -> socket.socket:
    """Our own socket, so that its receive buffer can be sized: hundreds of answers
    arriving together overflow the default buffer and are silently dropped."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    _grow_receive_buffer(sock, receive_buffer_bytes)
    return sock


class _Stack:
    """What the v2c and v3 paths share: a pysnmp transport per target, requests as plain
    (OID, Null) varbinds, answers checked and converted. Subclasses say how to send."""

    def __init__(self, udp_target_class: Any) -> None:
        self._udp_target_class = udp_target_class
        self._transports: dict[tuple[str, int, float, int], Any] = {}

    async def _transport(self, target: SnmpTarget) -> Any:
        key = (target.host, target.port, target.timeout_s, target.retries)
        transport = self._transports.get(key)
        if transport is None:
            transport = await self._udp_target_class.create(
                (target.host, target.port), timeout=target.timeout_s, retries=target.retries
            )
            self._transports[key] = transport
        return transport

    async def _send(
        self, bulk: bool, target: SnmpTarget, transport: Any, head: tuple[int, ...],
        var_binds: list[tuple[str, Any]],
    ) -> tuple[Any, Any, Any, Any]:  # fmt: skip
        raise NotImplementedError

    async def request(
        self, target: SnmpTarget, oids: Sequence[str], bulk_head: tuple[int, int] | None = None
    ) -> VarBinds:
        """GET ``oids``, or GETBULK when ``bulk_head`` is (non-repeaters, max-repetitions)."""
        from pysnmp.proto.rfc1902 import Null

        transport = await self._transport(target)
        error_indication, error_status, index, var_binds = await self._send(
            bulk_head is not None, target, transport, bulk_head or (), [(o, Null()) for o in oids]
        )
        if error_indication:
            raise PollError(f"{target.host}:{target.port}: {error_indication}")
        if error_status and int(error_status):
            raise PollError(
                f"{target.host}:{target.port}: error-status {error_status.prettyPrint()}"
                f" at varbind {int(index)}"
            )
        return [_convert(vb) for vb in var_binds]

    def close(self) -> None:
        raise NotImplementedError


class _V2cStack(_Stack):
    """pysnmp's v1arch: one dispatcher on one socket, community objects reused."""

    def __init__(self, receive_buffer_bytes: int) -> None:
        from pysnmp.carrier.asyncio.dgram import udp
        from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
        from pysnmp.hlapi.v1arch.asyncio import SnmpDispatcher, UdpTransportTarget

        super().__init__(UdpTransportTarget)
        self._transport_dispatcher = AsyncioDispatcher()
        self._transport_dispatcher.register_transport(
            udp.DOMAIN_NAME,
            udp.UdpAsyncioTransport().open_server_mode(sock=_udp_socket(receive_buffer_bytes)),
        )
        self._dispatcher = SnmpDispatcher(self._transport_dispatcher)
        self._auth: dict[str, Any] = {}

    def _community(self, community: str) -> Any:
        from pysnmp.hlapi.v1arch.asyncio import CommunityData

        auth = self._auth.get(community)
        if auth is None:
            auth = self._auth[community] = CommunityData(community, mpModel=1)
        return auth

    async def _send(
        self, bulk: bool, target: SnmpTarget, transport: Any, head: tuple[int, ...],
        var_binds: list[tuple[str, Any]],
    ) -> tuple[Any, Any, Any, Any]:  # fmt: skip
        from pysnmp.hlapi.v1arch.asyncio import bulk_cmd, get_cmd

        command = bulk_cmd if bulk else get_cmd
        auth = self._community(target.community)
        result: tuple[Any, Any, Any, Any] = await command(
            self._dispatcher, auth, transport, *head, *var_binds
        )
        return result

    def close(self) -> None:
        self._dispatcher.close()
        self._transport_dispatcher.close_dispatcher()


class _V3Stack(_Stack):
    """pysnmp's v3arch with USM users only: one SnmpEngine for all targets.

    The engine discovers each AP's engine id and clock on first contact and localises the
    keys per AP itself; users are configured once per (user, keys). Answers come back with
    ``lookupMib=False``: no MIB resolution.
    """

    def __init__(self, receive_buffer_bytes: int) -> None:
        from pysnmp.carrier.asyncio.dgram import udp
        from pysnmp.entity import config
        from pysnmp.hlapi.v3arch.asyncio import ContextData, SnmpEngine, UdpTransportTarget

        super().__init__(UdpTransportTarget)
        self._engine = SnmpEngine()
        config.add_transport(
            self._engine,
            udp.DOMAIN_NAME,
            udp.UdpAsyncioTransport().open_server_mode(sock=_udp_socket(receive_buffer_bytes)),
        )
        self._context = ContextData()
        self._users: dict[tuple[str, str, str, str, str], Any] = {}

    def _user(self, target: SnmpTarget) -> Any:
        from pysnmp.hlapi.v3arch.asyncio import UsmUserData

        if not target.user or not target.auth_key:
            raise PollError(f"{target.host}:{target.port}: SNMPv3 target without user or key")
        auth_name = target.auth_protocol or "SHA"
        priv_name = target.priv_protocol or ("AES" if target.priv_key else "")
        key = (target.user, auth_name, target.auth_key, priv_name, target.priv_key or "")
        user = self._users.get(key)
        if user is None:
            user = UsmUserData(
                target.user,
                authKey=target.auth_key,
                privKey=target.priv_key or None,
                authProtocol=_protocol(AUTH_PROTOCOLS, auth_name, "auth"),
                privProtocol=(
                    _protocol(PRIV_PROTOCOLS, priv_name, "privacy") if target.priv_key else None
                ),
            )
            self._users[key] = user
        return user

    async def _send(
        self, bulk: bool, target: SnmpTarget, transport: Any, head: tuple[int, ...],
        var_binds: list[tuple[str, Any]],
    ) -> tuple[Any, Any, Any, Any]:  # fmt: skip
        from pysnmp.hlapi.v3arch.asyncio import bulk_cmd, get_cmd

        command = bulk_cmd if bulk else get_cmd
        user = self._user(target)
        result: tuple[Any, Any, Any, Any] = await command(
            self._engine, user, transport, self._context, *head, *var_binds, lookupMib=False
        )
        return result

    def close(self) -> None:
        self._engine.close_dispatcher()


TIMEOUT_TEXT = "No SNMP response received before timeout"  # pysnmp's words, kept


class _Pending:
    """One request in flight: where it went, what to resend, who waits for the answer."""

    __slots__ = ("address", "future", "label", "packet", "retries_left", "timeout_s", "timer")

    def __init__(
        self,
        address: tuple[str, int],
        packet: bytes,
        future: asyncio.Future[Any],
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


class _V2cClient(asyncio.DatagramProtocol):
    """SNMPv2c over one asyncio UDP socket with the collector's own codec.

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
        self._transport: asyncio.DatagramTransport | None = None
        self._opening: asyncio.Future[asyncio.DatagramTransport] | None = None
        self._pending: dict[int, _Pending] = {}
        self._next_id = random.randrange(1, 1 << 30)
        self._communities: dict[str, bytes] = {}
        self._addresses: dict[tuple[str, int], tuple[str, int]] = {}
        self.dropped = 0  # datagrams ignored: stray, late, duplicate or unmatched garbage

    async def _open(self) -> asyncio.DatagramTransport:
        if self._transport is not None:
            return self._transport
        if self._opening is None:
            loop = asyncio.get_running_loop()
            self._opening = loop.create_future()
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: self, sock=_udp_socket(self._receive_buffer_bytes)
                )
            except BaseException as exc:
                self._opening.set_exception(exc)
                self._opening = None
                raise
            self._transport = transport
            self._opening.set_result(transport)
            return transport
        return await asyncio.shield(self._opening)

    async def _address(self, target: SnmpTarget) -> tuple[str, int]:
        """The target as the (IPv4 address, port) its answers come from; names resolved
        once, as pysnmp's transport target did."""
        key = (target.host, target.port)
        address = self._addresses.get(key)
        if address is None:
            try:
                ipaddress.IPv4Address(target.host)
                address = key
            except ValueError:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    target.host, target.port, family=socket.AF_INET, type=socket.SOCK_DGRAM
                )
                if not infos:
                    raise PollError(f"{target.host}:{target.port}: cannot resolve") from None
                address = (str(infos[0][4][0]), target.port)
            self._addresses[key] = address
        return address

    def _request_id(self) -> int:
        request_id = self._next_id
        while request_id in self._pending:
            request_id = request_id % 0x7FFFFFFF + 1
        self._next_id = request_id % 0x7FFFFFFF + 1
        return request_id

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        from collector import ber

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
            pending.future.set_exception(
                PollError(f"{pending.label}: malformed response ({response})")
            )
        else:
            pending.future.set_result(response)

    def error_received(self, exc: Exception) -> None:
        """ICMP errors (port unreachable) cannot be tied to one request on a shared
        socket; like pysnmp, the request runs into its timeout."""

    def _expire(self, pending: _Pending) -> None:
        if pending.future.done():
            return
        if pending.retries_left > 0 and self._transport is not None:
            pending.retries_left -= 1
            self._transport.sendto(pending.packet, pending.address)
            pending.timer = asyncio.get_running_loop().call_later(
                pending.timeout_s, self._expire, pending
            )
            return
        pending.future.set_exception(PollError(f"{pending.label}: {TIMEOUT_TEXT}"))

    async def request(
        self, target: SnmpTarget, oids: Sequence[str], bulk_head: tuple[int, int] | None = None
    ) -> VarBinds:
        """GET ``oids``, or GETBULK when ``bulk_head`` is (non-repeaters, max-repetitions)."""
        from collector import ber

        transport = self._transport or await self._open()
        address = await self._address(target)
        community = self._communities.get(target.community)
        if community is None:
            community = self._communities[target.community] = target.community.encode()
        request_id = self._request_id()
        label = f"{target.host}:{target.port}"
        try:
            if bulk_head is None:
                packet = ber.encode_request(community, ber.GET_REQUEST, request_id, list(oids))
            else:
                packet = ber.encode_request(
                    community, ber.GET_BULK_REQUEST, request_id, list(oids), *bulk_head
                )
        except ValueError as exc:
            raise PollError(f"{label}: {exc}") from None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ber.Response] = loop.create_future()
        pending = _Pending(address, packet, future, target.retries, target.timeout_s, label)
        self._pending[request_id] = pending
        try:
            transport.sendto(packet, address)
            pending.timer = loop.call_later(target.timeout_s, self._expire, pending)
            response = await future
        finally:
            if pending.timer is not None:
                pending.timer.cancel()
            del self._pending[request_id]
        if response.error_status:
            raise PollError(
                f"{label}: error-status {ber.error_status_name(response.error_status)}"
                f" at varbind {response.error_index}"
            )
        return response.var_binds

    def close(self) -> None:
        for pending in self._pending.values():
            if pending.timer is not None:
                pending.timer.cancel()
            if not pending.future.done():
                pending.future.set_exception(PollError(f"{pending.label}: scraper closed"))
        if self._transport is not None:
            self._transport.close()
            self._transport = None


class PysnmpScraper:
    """The Scraper: v2c through the collector's own codec (or, with ``v2c="pysnmp"``,
    pysnmp's v1arch, kept for comparison), v3 through pysnmp's v3arch. Stacks are made on
    first use, so a city without v3 APs never pays for a v3arch engine."""

    def __init__(
        self,
        receive_buffer_bytes: int = RECEIVE_BUFFER_BYTES,
        *,
        v2c: Literal["ber", "pysnmp"] = "ber",
    ) -> None:
        self._receive_buffer_bytes = receive_buffer_bytes
        self._v2c: _V2cClient | _V2cStack = (
            _V2cClient(receive_buffer_bytes) if v2c == "ber" else _V2cStack(receive_buffer_bytes)
        )
        self._v3_stack: _V3Stack | None = None

    def _stack(self, target: SnmpTarget) -> _Stack | _V2cClient:
        if not target.is_v3:
            return self._v2c
        if self._v3_stack is None:
            self._v3_stack = _V3Stack(self._receive_buffer_bytes)
        return self._v3_stack

    async def get(self, target: SnmpTarget, oids: Sequence[str]) -> VarBinds:
        return await self._stack(target).request(target, oids)

    async def bulk(
        self,
        target: SnmpTarget,
        non_repeaters: Sequence[str],
        repeaters: Sequence[str],
        max_repetitions: int,
    ) -> VarBinds:
        return await self._stack(target).request(
            target, [*non_repeaters, *repeaters], (len(non_repeaters), max_repetitions)
        )

    def close(self) -> None:
        self._v2c.close()
        if self._v3_stack is not None:
            self._v3_stack.close()


# Inventory protocol names → names of pysnmp's protocol constants (looked up lazily so
# that importing this module does not import pysnmp).
AUTH_PROTOCOLS = {
    "MD5": "usmHMACMD5AuthProtocol",
    "SHA": "usmHMACSHAAuthProtocol",
    "SHA224": "usmHMAC128SHA224AuthProtocol",
    "SHA256": "usmHMAC192SHA256AuthProtocol",
    "SHA384": "usmHMAC256SHA384AuthProtocol",
    "SHA512": "usmHMAC384SHA512AuthProtocol",
}
PRIV_PROTOCOLS = {
    "DES": "usmDESPrivProtocol",
    "3DES": "usm3DESEDEPrivProtocol",
    "AES": "usmAesCfb128Protocol",
    "AES128": "usmAesCfb128Protocol",
    "AES192": "usmAesCfb192Protocol",
    "AES256": "usmAesCfb256Protocol",
}


def _protocol(table: Mapping[str, str], name: str, what: str) -> Any:
    import pysnmp.hlapi.v3arch.asyncio as hlapi

    constant = table.get(name.upper().replace("-", ""))
    if constant is None:
        raise PollError(f"unsupported SNMPv3 {what} protocol {name!r}")
    return getattr(hlapi, constant)


def _grow_receive_buffer(sock: socket.socket, wanted: int) -> int:
    """Ask for ``wanted`` bytes; root may exceed net.core.rmem_max, others are capped."""
    force = getattr(socket, "SO_RCVBUFFORCE", None)
    try:
        if force is None:
            raise PermissionError
        sock.setsockopt(socket.SOL_SOCKET, force, wanted)
    except PermissionError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, wanted)
    got: int = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    return got


_MISSING_BY_TAG = {
    "NoSuchObject": Missing.NO_SUCH_OBJECT,
    "NoSuchInstance": Missing.NO_SUCH_INSTANCE,
    "EndOfMibView": Missing.END_OF_MIB_VIEW,
}


def _convert(var_bind: Any) -> tuple[str, Value]:
    """A pysnmp varbind as (dotted OID, plain value)."""
    name, value = var_bind[0], var_bind[1]
    oid = ".".join(map(str, name.asTuple()))
    type_name = type(value).__name__
    missing = _MISSING_BY_TAG.get(type_name)
    if missing is not None:
        return oid, missing
    if type_name in ("OctetString", "Opaque", "Bits"):
        return oid, bytes(value)
    if type_name in ("ObjectIdentifier", "ObjectName"):
        return oid, ".".join(map(str, value.asTuple()))
    if type_name == "IpAddress":
        return oid, ".".join(str(b) for b in bytes(value))
    try:
        return oid, int(value)
    except (TypeError, ValueError):
        return oid, str(value)
