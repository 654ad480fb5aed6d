"""pysnmp's two stacks behind the scraper: v1arch for v2c (kept for comparison with the
collector's own codec) and v3arch for SNMPv3.

v3 goes through pysnmp with USM users only (never communities, which is what grows badly
there, REFERENCE.md); USM (discovery, key localisation, encryption, time windows) is not
something to hand-roll. Each stack has one socket and one dispatcher/engine shared by the
scraper: an engine per target is slow and leaks.

pysnmp says why a request failed with an ``errorIndication`` object of a class from
:mod:`pysnmp.proto.errind`; :func:`cause_of` maps that class, never its text, to a
:class:`~core.states.PollCause`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from collector.snmp.causes import cause_of_status
from collector.snmp.sockets import udp_socket
from collector.snmp.target import (
    AUTH_PROTOCOLS,
    DEFAULT_AUTH,
    DEFAULT_PRIV,
    PRIV_PROTOCOLS,
    protocol_key,
)
from collector.snmp.types import Missing, SnmpTarget, Value, VarBinds
from core.errors import PollError
from core.states import PollCause

# The USM reports of RFC 3414 (and the local checks behind them) and VACM refusals: the
# device does not accept our credentials. By class name, so that this module's import does
# not load pysnmp; :func:`cause_of` checks each name exists in pysnmp.proto.errind.
AUTH_FAILURE_INDICATIONS = (
    "UnknownUserName",
    "WrongDigest",
    "DecryptionError",
    "NotInTimeWindow",
    "UnknownEngineID",
    "UnsupportedSecurityLevel",
    "UnknownSecurityName",
    "AuthenticationError",
    "AuthenticationFailure",
    "NoAuthentication",
    "NoEncryption",
    "EncryptionError",
    "UnsupportedAuthProtocol",
    "UnsupportedPrivProtocol",
    "UnsupportedSecurityModel",
    "EngineIDMismatch",
    "NoSuchView",
    "NoAccessEntry",
    "NoGroupName",
    "NoSuchContext",
    "NotInView",
)
_auth_failure_classes: tuple[type, ...] | None = None


def _auth_failures() -> tuple[type, ...]:
    global _auth_failure_classes
    if _auth_failure_classes is None:
        from pysnmp.proto import errind

        _auth_failure_classes = tuple(getattr(errind, name) for name in AUTH_FAILURE_INDICATIONS)
    return _auth_failure_classes


def cause_of(error_indication: object) -> PollCause:
    """Why pysnmp gave up, by the indication's class: no answer in time is a timeout, a
    USM/VACM refusal an auth failure, anything else (an answer it could not parse or
    match, another report) a malformed answer."""
    from pysnmp.proto import errind

    if isinstance(error_indication, errind.RequestTimedOut):
        return PollCause.TIMEOUT
    if isinstance(error_indication, _auth_failures()):
        return PollCause.AUTH_FAILURE
    return PollCause.MALFORMED


class Stack:
    """What the v1arch and v3arch paths share: a pysnmp transport per target, requests as
    plain (OID, Null) varbinds, answers checked and converted. Subclasses say how to send."""

    def __init__(self, udp_target_class: Any) -> None:
        self._udp_target_class = udp_target_class
        self._transports: dict[tuple[str, int, float, int], Any] = {}

    async def _transport(self, target: SnmpTarget) -> Any:
        key = (target.host, target.port, target.timeout_s, target.retries)
        transport = self._transports.get(key)
        if transport is None:
            from pysnmp.error import PySnmpError

            try:
                transport = await self._udp_target_class.create(
                    (target.host, target.port), timeout=target.timeout_s, retries=target.retries
                )
            except PySnmpError as exc:  # the name does not resolve
                raise PollError(f"{target.label}: {exc}", PollCause.REFUSED) from None
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
            raise PollError(f"{target.label}: {error_indication}", cause_of(error_indication))
        if error_status and int(error_status):
            raise PollError(
                f"{target.label}: error-status {error_status.prettyPrint()}"
                f" at varbind {int(index)}",
                cause_of_status(int(error_status)),
            )
        return [convert(vb) for vb in var_binds]

    def close(self) -> None:
        raise NotImplementedError


class V1archStack(Stack):
    """pysnmp's v1arch for v2c: one dispatcher on one socket, community objects reused."""

    def __init__(self, receive_buffer_bytes: int) -> None:
        from pysnmp.carrier.asyncio.dgram import udp
        from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
        from pysnmp.hlapi.v1arch.asyncio import SnmpDispatcher, UdpTransportTarget

        super().__init__(UdpTransportTarget)
        self._transport_dispatcher = AsyncioDispatcher()
        self._transport_dispatcher.register_transport(
            udp.DOMAIN_NAME,
            udp.UdpAsyncioTransport().open_server_mode(sock=udp_socket(receive_buffer_bytes)),
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


class V3archStack(Stack):
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
            udp.UdpAsyncioTransport().open_server_mode(sock=udp_socket(receive_buffer_bytes)),
        )
        self._context = ContextData()
        self._users: dict[tuple[str, str, str, str, str], Any] = {}

    def _user(self, target: SnmpTarget) -> Any:
        from pysnmp.hlapi.v3arch.asyncio import UsmUserData

        if not target.user or not target.auth_key:  # build_target never makes one
            raise PollError(
                f"{target.label}: SNMPv3 target without user or key", PollCause.AUTH_FAILURE
            )
        auth_name = target.auth_protocol or DEFAULT_AUTH
        priv_name = target.priv_protocol or (DEFAULT_PRIV if target.priv_key else "")
        key = (target.user, auth_name, target.auth_key, priv_name, target.priv_key or "")
        user = self._users.get(key)
        if user is None:
            user = UsmUserData(
                target.user,
                authKey=target.auth_key,
                privKey=target.priv_key or None,
                authProtocol=_protocol(AUTH_PROTOCOLS, auth_name, "auth", target),
                privProtocol=(
                    _protocol(PRIV_PROTOCOLS, priv_name, "privacy", target)
                    if target.priv_key
                    else None
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


def _protocol(table: Mapping[str, str], name: str, what: str, target: SnmpTarget) -> Any:
    import pysnmp.hlapi.v3arch.asyncio as hlapi

    constant = table.get(protocol_key(name))
    if constant is None:  # build_target never makes one
        raise PollError(
            f"{target.label}: unsupported SNMPv3 {what} protocol {name!r}", PollCause.AUTH_FAILURE
        )
    return getattr(hlapi, constant)


_MISSING_BY_TAG = {
    "NoSuchObject": Missing.NO_SUCH_OBJECT,
    "NoSuchInstance": Missing.NO_SUCH_INSTANCE,
    "EndOfMibView": Missing.END_OF_MIB_VIEW,
}


def convert(var_bind: Any) -> tuple[str, Value]:
    """A pysnmp varbind as (dotted OID, plain value), as the BER codec gives them."""
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
