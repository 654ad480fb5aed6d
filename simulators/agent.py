"""The UDP side of one simulated AP: a datagram protocol around a :class:`Responder`.

With a :class:`~simulators.faults.FaultBook` the agent asks it, per datagram, whether the
AP is unreachable (drop) or slow (answer later via ``loop.call_later``, never by blocking:
every other AP on the loop keeps answering at once). Without faults on the AP that is one
dict lookup; without a book it is one ``None`` test.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from simulators.responder import Responder

if TYPE_CHECKING:
    from simulators.faults import FaultBook

log = logging.getLogger("simulators")


class SnmpAgentProtocol(asyncio.DatagramProtocol):
    """Answers each datagram synchronously: a request costs well under a millisecond, so
    handing it to another task would only add overhead."""

    def __init__(
        self,
        responder: Responder,
        *,
        ap_id: str = "",
        faults: FaultBook | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.responder = responder
        self.ap_id = ap_id
        self.faults = faults
        self.clock: Callable[[], float] = clock if clock is not None else responder.clock
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A selector datagram transport, whatever its nominal base class says.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        faults = self.faults
        if faults is not None:
            effect = faults.effect(self.ap_id, self.clock())
            if effect is not None:
                if effect.drop:
                    faults.dropped += 1
                    return
                if effect.delay_s > 0:
                    faults.delayed += 1
                    asyncio.get_running_loop().call_later(effect.delay_s, self._answer, data, addr)
                    return
        self._answer(data, addr)

    def _answer(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        response = self.responder.answer(data)
        transport = self.transport
        if response is not None and transport is not None and not transport.is_closing():
            transport.sendto(response, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a manager that went away: nothing to do.
        log.debug("socket error on simulated agent: %s", exc)
