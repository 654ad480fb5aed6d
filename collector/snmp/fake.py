"""A device from a table, for tests and benchmarks: no sockets, real SNMP semantics."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence

from collector.snmp.types import Missing, SnmpTarget, Value, VarBinds, oid_in
from core.errors import PollError
from core.states import PollCause

Row = tuple[tuple[int, ...], str, Value]


def _oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(arc) for arc in oid.strip(".").split("."))


class FakeScraper:
    """Devices from tables of OID → value, with real GET/GETNEXT/GETBULK semantics.

    ``unreachable`` makes every request to an address time out, like a dead AP;
    ``failing`` makes an address fail with the given cause (refused, auth failure, ...),
    so that what the collector does with each cause can be tested without a network.
    """

    def __init__(self, devices: Mapping[tuple[str, int], Mapping[str, Value]]) -> None:
        self._devices = {
            addr: sorted(((_oid_key(o), o, v) for o, v in table.items()), key=lambda r: r[0])
            for addr, table in devices.items()
        }
        self.unreachable: set[tuple[str, int]] = set()
        self.failing: dict[tuple[str, int], PollCause] = {}
        self.requests = 0

    def _table(self, target: SnmpTarget) -> list[Row]:
        self.requests += 1
        addr = (target.host, target.port)
        cause = self.failing.get(addr)
        if cause is not None:
            raise PollError(f"{target.label}: failing as told ({cause})", cause)
        if addr in self.unreachable or addr not in self._devices:
            raise PollError(f"{target.label}: no answer (timeout)", PollCause.TIMEOUT)
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
    def _next(table: list[Row], oid: str) -> tuple[str, Value]:
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
