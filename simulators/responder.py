"""SNMP v2c command responder: request bytes in, response bytes (or silence) out.

Kept free of sockets so the same code is timed by the benchmark, driven by unit tests and
served by the asyncio agent. Like a real agent it stays silent on anything it will not
answer (wrong community, other versions, garbage) and only counts it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, fields

from simulators import ber
from simulators.mib import MibView

log = logging.getLogger("simulators")

DEFAULT_MAX_SIZE = 4096
"""Largest response the agent sends; GETBULK answers are truncated to fit."""


@dataclass
class AgentStats:
    """Packet counters, shared by all agents of a city or kept per agent."""

    received: int = 0
    answered: int = 0
    malformed: int = 0
    bad_community: int = 0
    bad_version: int = 0
    unsupported_pdu: int = 0
    errors: int = 0

    @property
    def dropped(self) -> int:
        return self.malformed + self.bad_community + self.bad_version + self.unsupported_pdu

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"dropped": self.dropped}


class Responder:
    __slots__ = ("clock", "community", "max_size", "mib", "stats")

    def __init__(
        self,
        mib: MibView,
        community: bytes,
        *,
        clock: Callable[[], float] = time.time,
        stats: AgentStats | None = None,
        max_size: int = DEFAULT_MAX_SIZE,
    ) -> None:
        self.mib = mib
        self.community = community
        self.clock = clock
        self.stats = stats if stats is not None else AgentStats()
        self.max_size = max_size

    def answer(self, data: bytes) -> bytes | None:
        stats = self.stats
        stats.received += 1
        try:
            request = ber.decode_request(data)
            if request.version != ber.VERSION_2C:
                stats.bad_version += 1
                log.debug("dropped SNMP version %d packet", request.version)
                return None
            if request.community != self.community:
                stats.bad_community += 1
                return None
            response = self._respond(request)
        except ber.BerError as exc:
            stats.malformed += 1
            log.debug("dropped malformed packet: %s", exc)
            return None
        if response is not None:
            stats.answered += 1
        return response

    def _respond(self, request: ber.Request) -> bytes | None:
        tag = request.pdu_tag
        mib, now = self.mib, self.clock()
        try:
            if tag == ber.GET_REQUEST:
                varbinds = [(oid, mib.get(oid, now)) for oid in request.oids]
            elif tag == ber.GET_NEXT_REQUEST:
                varbinds = [mib.get_next(oid, now) for oid in request.oids]
            elif tag == ber.GET_BULK_REQUEST:
                budget = self.max_size - ber.message_overhead(request.community, request.request_id)
                varbinds = mib.get_bulk(
                    request.oids,
                    request.non_repeaters,
                    request.max_repetitions,
                    now,
                    budget,
                )
            elif tag == ber.SET_REQUEST:
                # The simulated city is read-only, as a monitoring community would be.
                index = 1 if request.oids else 0
                return self._encode(request, ber.NOT_WRITABLE, index, _echo(request))
            else:
                self.stats.unsupported_pdu += 1
                return None
        except ber.BerError:
            raise
        except Exception:
            self.stats.errors += 1
            log.exception("failed to answer a request")
            return self._encode(request, ber.GEN_ERR, 0, _echo(request))
        response = self._encode(request, ber.NO_ERROR, 0, varbinds)
        if len(response) > self.max_size:
            return self._encode(request, ber.TOO_BIG, 0, [])
        return response

    @staticmethod
    def _encode(
        request: ber.Request, status: int, index: int, varbinds: list[tuple[bytes, bytes]]
    ) -> bytes:
        return ber.encode_message(
            request.community, ber.RESPONSE, request.request_id, status, index, varbinds
        )


def _echo(request: ber.Request) -> list[tuple[bytes, bytes]]:
    return [
        (oid, ber.tlv(tag, content))
        for oid, (tag, content) in zip(request.oids, request.values, strict=True)
    ]
