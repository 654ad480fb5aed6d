"""The UDP side of one simulated AP: a datagram protocol around a :class:`Responder`."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from simulators.responder import Responder

log = logging.getLogger("simulators")


class SnmpAgentProtocol(asyncio.DatagramProtocol):
    """Answers each datagram synchronously: a request costs well under a millisecond, so
    handing it to another task would only add overhead."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A selector datagram transport, whatever its nominal base class says.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        response = self.responder.answer(data)
        if response is not None and self.transport is not None:
            self.transport.sendto(response, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a manager that went away: nothing to do.
        log.debug("socket error on simulated agent: %s", exc)
