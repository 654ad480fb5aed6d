"""The scraper that talks to real devices over UDP.

v2c goes through the collector's own codec (:mod:`.v2c`); with ``v2c="pysnmp"``, through
pysnmp's v1arch instead, kept so that bench/bench_collector.py can compare the two in one
run. v3 goes through pysnmp's v3arch. Stacks are made on first use, so a city without v3
APs never pays for a v3arch engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from collector.snmp.pysnmp_stacks import Stack, V1archStack, V3archStack
from collector.snmp.sockets import RECEIVE_BUFFER_BYTES
from collector.snmp.types import SnmpTarget, VarBinds
from collector.snmp.v2c import V2cClient


class NetworkScraper:
    """A :class:`~collector.snmp.types.Scraper` over the network; one per event loop."""

    def __init__(
        self,
        receive_buffer_bytes: int = RECEIVE_BUFFER_BYTES,
        *,
        v2c: Literal["ber", "pysnmp"] = "ber",
    ) -> None:
        self._receive_buffer_bytes = receive_buffer_bytes
        self._v2c: V2cClient | V1archStack = (
            V2cClient(receive_buffer_bytes) if v2c == "ber" else V1archStack(receive_buffer_bytes)
        )
        self._v3_stack: V3archStack | None = None

    def _stack(self, target: SnmpTarget) -> Stack | V2cClient:
        if not target.is_v3:
            return self._v2c
        if self._v3_stack is None:
            self._v3_stack = V3archStack(self._receive_buffer_bytes)
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
