"""The scraper interface every layer above the transports sees.

OIDs are dotted strings and values plain Python (``int``, ``str``, ``bytes``) or a
:class:`Missing` marker, so the polling logic is tested table-driven against the fake with
canned device data (snmp_exporter's way), and only the transport modules know pysnmp or BER.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


class Missing(enum.Enum):
    """SNMPv2 exception values: the device has no such thing."""

    NO_SUCH_OBJECT = "noSuchObject"
    NO_SUCH_INSTANCE = "noSuchInstance"
    END_OF_MIB_VIEW = "endOfMibView"


Value = int | str | bytes | Missing
VarBinds = list[tuple[str, Value]]


@dataclass(frozen=True, slots=True)
class SnmpTarget:
    """Where and how to poll. v2c: ``community``. v3 (``user`` set): USM authPriv or
    authNoPriv, ``community`` empty. Protocol names are the inventory's (SHA, AES, ...).

    Made from credentials by :func:`collector.snmp.build_target`, which refuses
    credentials that cannot work; secrets stay out of ``repr``."""

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

    @property
    def label(self) -> str:
        """``host:port``, how every error message names the device."""
        return f"{self.host}:{self.port}"


class Scraper(Protocol):
    """What the poller needs of SNMP. Every failure is a :class:`core.errors.PollError`
    whose ``cause`` (:class:`core.states.PollCause`) says why, as data."""

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
    """Whether ``oid`` is ``prefix`` or below it (at an arc boundary)."""
    return oid.startswith(prefix) and (len(oid) == len(prefix) or oid[len(prefix)] == ".")
