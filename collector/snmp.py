"""The small SNMP scraper interface, its pysnmp implementation and a fake beside it.

Everything above this module sees OIDs as dotted strings and values as plain Python
(``int``, ``str``, ``bytes``) or a :class:`Missing` marker, so the polling logic is tested
table-driven against :class:`FakeScraper` with canned device data (snmp_exporter's way),
and only this module knows pysnmp.

pysnmp's v1arch is used for v2c: it is the cheaper of pysnmp's two stacks and does not
suffer v3arch's cost growth with many distinct communities (REFERENCE.md). One dispatcher
is shared per event loop (an engine per target is slow and leaks).
"""

from __future__ import annotations

import bisect
import enum
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from citywifi.errors import PollError


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
    host: str
    port: int
    community: str
    timeout_s: float = 2.0
    retries: int = 1


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


class PysnmpScraper:
    """SNMP v2c over pysnmp's v1arch asyncio API, one dispatcher for the event loop."""

    def __init__(self, receive_buffer_bytes: int = RECEIVE_BUFFER_BYTES) -> None:
        from pysnmp.carrier.asyncio.dgram import udp
        from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
        from pysnmp.hlapi.v1arch.asyncio import SnmpDispatcher

        # Our own socket, so that its receive buffer can be sized: hundreds of answers
        # arriving together overflow the default buffer and are silently dropped.
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        self.receive_buffer_bytes = _grow_receive_buffer(sock, receive_buffer_bytes)
        self._transport_dispatcher = AsyncioDispatcher()
        self._transport_dispatcher.register_transport(
            udp.DOMAIN_NAME, udp.UdpAsyncioTransport().open_server_mode(sock=sock)
        )
        self._dispatcher = SnmpDispatcher(self._transport_dispatcher)
        self._transports: dict[tuple[str, int, float, int], Any] = {}
        self._auth: dict[str, Any] = {}

    async def _transport(self, target: SnmpTarget) -> Any:
        from pysnmp.hlapi.v1arch.asyncio import UdpTransportTarget

        key = (target.host, target.port, target.timeout_s, target.retries)
        transport = self._transports.get(key)
        if transport is None:
            transport = await UdpTransportTarget.create(
                (target.host, target.port), timeout=target.timeout_s, retries=target.retries
            )
            self._transports[key] = transport
        return transport

    def _community(self, community: str) -> Any:
        from pysnmp.hlapi.v1arch.asyncio import CommunityData

        auth = self._auth.get(community)
        if auth is None:
            auth = self._auth[community] = CommunityData(community, mpModel=1)
        return auth

    @staticmethod
    def _check(target: SnmpTarget, error_indication: Any, error_status: Any, index: Any) -> None:
        if error_indication:
            raise PollError(f"{target.host}:{target.port}: {error_indication}")
        if error_status and int(error_status):
            raise PollError(
                f"{target.host}:{target.port}: error-status {error_status.prettyPrint()}"
                f" at varbind {int(index)}"
            )

    async def get(self, target: SnmpTarget, oids: Sequence[str]) -> VarBinds:
        from pysnmp.hlapi.v1arch.asyncio import Null, get_cmd

        transport = await self._transport(target)
        err_ind, err_status, err_index, var_binds = await get_cmd(
            self._dispatcher,
            self._community(target.community),
            transport,
            *[(oid, Null()) for oid in oids],
        )
        self._check(target, err_ind, err_status, err_index)
        return [_convert(vb) for vb in var_binds]

    async def bulk(
        self,
        target: SnmpTarget,
        non_repeaters: Sequence[str],
        repeaters: Sequence[str],
        max_repetitions: int,
    ) -> VarBinds:
        from pysnmp.hlapi.v1arch.asyncio import Null, bulk_cmd

        transport = await self._transport(target)
        err_ind, err_status, err_index, var_binds = await bulk_cmd(
            self._dispatcher,
            self._community(target.community),
            transport,
            len(non_repeaters),
            max_repetitions,
            *[(oid, Null()) for oid in (*non_repeaters, *repeaters)],
        )
        self._check(target, err_ind, err_status, err_index)
        return [_convert(vb) for vb in var_binds]

    def close(self) -> None:
        self._dispatcher.close()
        self._transport_dispatcher.close_dispatcher()


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
