"""SNMP command responder: request bytes in, response bytes (or silence) out.

Kept free of sockets so the same code is timed by the benchmark, driven by unit tests and
served by the asyncio agent. Like a real agent it stays silent on anything it will not
answer (wrong community, other versions, garbage) and only counts it.

An AP speaks either v2c (a community) or, once migrated, SNMPv3 only (a
:class:`~simulators.usm.UsmAgent`), as real migrated devices have v2c switched off. Both
share the PDU handling below; v3 only changes the framing and security around it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, fields

from simulators import ber
from simulators.mib import MibView
from simulators.usm import UsmAgent

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
    usm_reports: int = 0  # v3 discovery and USM failures, answered with a Report PDU

    @property
    def dropped(self) -> int:
        return self.malformed + self.bad_community + self.bad_version + self.unsupported_pdu

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"dropped": self.dropped}


class Responder:
    __slots__ = ("clock", "community", "max_size", "mib", "stats", "usm")

    def __init__(
        self,
        mib: MibView,
        community: bytes,
        *,
        clock: Callable[[], float] = time.time,
        stats: AgentStats | None = None,
        max_size: int = DEFAULT_MAX_SIZE,
        usm: UsmAgent | None = None,
    ) -> None:
        """With ``usm`` the agent answers SNMPv3 only and ``community`` is ignored."""
        self.mib = mib
        self.community = community
        self.usm = usm
        self.clock = clock
        self.stats = stats if stats is not None else AgentStats()
        self.max_size = max_size

    def answer(self, data: bytes) -> bytes | None:
        stats = self.stats
        stats.received += 1
        try:
            request = ber.decode_request(data)
            if self.usm is not None and request.version == ber.VERSION_3:
                return self._answer_v3(data)
            if request.version != ber.VERSION_2C or self.usm is not None:
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

    def _answer_v3(self, data: bytes) -> bytes | None:
        """Hand a v3 message to USM; ``BerError`` propagates to the malformed count."""
        assert self.usm is not None
        stats = self.stats
        reports = sum(self.usm.counters.values())
        response = self.usm.answer(data, self.clock(), self._handle, self.max_size)
        if sum(self.usm.counters.values()) != reports:
            stats.usm_reports += 1
        if response is not None:
            stats.answered += 1
        return response

    def _respond(self, request: ber.Request) -> bytes | None:
        budget = self.max_size - ber.message_overhead(request.community, request.request_id)
        result = self._handle(request, budget)
        if result is None:
            return None
        status, index, varbinds = result
        response = self._encode(request, status, index, varbinds)
        if len(response) > self.max_size:
            return self._encode(request, ber.TOO_BIG, 0, [])
        return response

    def _handle(
        self, request: ber.Request, budget: int
    ) -> tuple[int, int, list[tuple[bytes, bytes]]] | None:
        """The PDU work shared by v2c and v3: (error-status, error-index, varbinds), or
        None for PDUs an agent does not answer. ``budget`` bounds a GETBULK's varbinds."""
        tag = request.pdu_tag
        mib, now = self.mib, self.clock()
        try:
            if tag == ber.GET_REQUEST:
                varbinds = [(oid, mib.get(oid, now)) for oid in request.oids]
            elif tag == ber.GET_NEXT_REQUEST:
                varbinds = [mib.get_next(oid, now) for oid in request.oids]
            elif tag == ber.GET_BULK_REQUEST:
                varbinds = mib.get_bulk(
                    request.oids,
                    request.non_repeaters,
                    request.max_repetitions,
                    now,
                    budget,
                )
            elif tag == ber.SET_REQUEST:
                # The simulated city is read-only, as a monitoring community would be.
                return ber.NOT_WRITABLE, 1 if request.oids else 0, _echo(request)
            else:
                self.stats.unsupported_pdu += 1
                return None
        except ber.BerError:
            raise
        except Exception:
            self.stats.errors += 1
            log.exception("failed to answer a request")
            return ber.GEN_ERR, 0, _echo(request)
        return ber.NO_ERROR, 0, varbinds

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
