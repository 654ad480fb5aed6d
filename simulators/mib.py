"""A device's MIB view: its OIDs in order, each with a static or time-dependent value.

The view knows SNMP's retrieval semantics (GET, GETNEXT, GETBULK and the v2c exceptions)
and nothing about the wire or sockets, so the same view can later sit behind v3/USM or be
walked directly by tests. Values are kept as ready-encoded BER (or as functions of time
returning BER), so answering a request is lookups and concatenation.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from simulators import ber
from simulators.ber import Oid

Dynamic = Callable[[float], bytes]
ValueSource = bytes | Dynamic

MAX_BULK_VARBINDS = 2000
"""Upper bound on varbinds in one GETBULK answer, whatever max-repetitions asks for."""


@lru_cache(maxsize=1 << 16)
def _oid_tlv(oid: Oid) -> bytes:
    """Shared across devices: every AP has the same ifTable OIDs, so encode them once."""
    return ber.encode_oid(oid)


def _render(value: ValueSource, now: float) -> bytes:
    return value if type(value) is bytes else value(now)  # type: ignore[operator]


class MibView:
    """An immutable, sorted view over one device's objects."""

    __slots__ = ("_by_tlv", "_objects", "_oids", "_tlvs", "_values")

    def __init__(self, instances: Iterable[tuple[Oid, ValueSource]], objects: Iterable[Oid]):
        rows = sorted(instances, key=lambda row: row[0])
        for before, after in itertools.pairwise(rows):
            if before[0] == after[0]:
                raise ValueError(f"duplicate OID {'.'.join(map(str, before[0]))}")
        self._oids: list[Oid] = [oid for oid, _ in rows]
        self._tlvs: list[bytes] = [_oid_tlv(oid) for oid in self._oids]
        self._values: list[ValueSource] = [value for _, value in rows]
        self._by_tlv: dict[bytes, int] = {tlv: i for i, tlv in enumerate(self._tlvs)}
        self._objects: frozenset[Oid] = frozenset(objects)

    def __len__(self) -> int:
        return len(self._oids)

    @property
    def oids(self) -> Sequence[Oid]:
        return self._oids

    def get(self, oid_tlv: bytes, now: float) -> bytes:
        """The value TLV for an exact OID, or noSuchInstance/noSuchObject."""
        i = self._by_tlv.get(oid_tlv)
        if i is not None:
            return _render(self._values[i], now)
        oid = ber.decode_oid_tlv(oid_tlv)
        for cut in range(len(oid) - 1, 0, -1):
            if oid[:cut] in self._objects:
                return ber.NO_SUCH_INSTANCE_TLV
        return ber.NO_SUCH_OBJECT_TLV

    def _after(self, oid_tlv: bytes) -> int:
        """Index of the first instance strictly after the given OID."""
        i = self._by_tlv.get(oid_tlv)
        if i is not None:
            return i + 1
        return bisect_right(self._oids, ber.decode_oid_tlv(oid_tlv))

    def get_next(self, oid_tlv: bytes, now: float) -> tuple[bytes, bytes]:
        i = self._after(oid_tlv)
        if i >= len(self._oids):
            return oid_tlv, ber.END_OF_MIB_VIEW_TLV
        return self._tlvs[i], _render(self._values[i], now)

    def get_bulk(
        self,
        oid_tlvs: Sequence[bytes],
        non_repeaters: int,
        max_repetitions: int,
        now: float,
        budget: int,
    ) -> list[tuple[bytes, bytes]]:
        """RFC 3416 §4.2.3, stopping early once every repeater has hit endOfMibView or the
        encoded varbinds would exceed ``budget`` bytes (GETBULK truncates, never tooBig)."""
        n = min(max(non_repeaters, 0), len(oid_tlvs))
        out: list[tuple[bytes, bytes]] = []
        for oid_tlv in oid_tlvs[:n]:
            vb = self.get_next(oid_tlv, now)
            budget -= ber.varbind_size(*vb)
            if budget < 0:
                return out
            out.append(vb)
        repeaters = list(oid_tlvs[n:])
        if not repeaters:
            return out
        after, size, at = self._cursor(now)
        positions = [after(oid_tlv) for oid_tlv in repeaters]
        names = list(repeaters)
        limit = min(max(max_repetitions, 0), MAX_BULK_VARBINDS // len(repeaters))
        for _ in range(limit):
            finished = True
            for col, pos in enumerate(positions):
                if pos < size:
                    vb = at(pos)
                    names[col] = vb[0]
                    positions[col] = pos + 1
                    finished = False
                else:
                    vb = (names[col], ber.END_OF_MIB_VIEW_TLV)
                budget -= ber.varbind_size(*vb)
                if budget < 0:
                    return out
                out.append(vb)
            if finished:
                break
        return out

    def _cursor(
        self, now: float
    ) -> tuple[Callable[[bytes], int], int, Callable[[int], tuple[bytes, bytes]]]:
        """Positions over the view at ``now``: the one after an OID, how many there are,
        and the varbind at one. A view with rows that come and go (see device_mib's
        LiveMibView) overrides this alone, and GETBULK works over it unchanged."""
        tlvs, values = self._tlvs, self._values
        return self._after, len(self._oids), lambda pos: (tlvs[pos], _render(values[pos], now))


@dataclass
class MibBuilder:
    """Collects scalars and table cells, remembering which object types exist so that
    GET can tell noSuchInstance (known object, missing row) from noSuchObject."""

    instances: list[tuple[Oid, ValueSource]] = field(default_factory=list)
    objects: set[Oid] = field(default_factory=set)

    def scalar(self, oid: Oid, value: ValueSource) -> None:
        self.objects.add(oid)
        self.instances.append(((*oid, 0), value))

    def cell(self, column: Oid, index: Oid, value: ValueSource) -> None:
        self.objects.add(column)
        self.instances.append(((*column, *index), value))

    def build(self) -> MibView:
        return MibView(self.instances, self.objects)


# --- value helpers: static values encode once, dynamic ones per request -----------------


def integer(value: int) -> bytes:
    return ber.encode_integer(value)


def octets(value: str | bytes) -> bytes:
    return ber.encode_octets(value.encode() if isinstance(value, str) else value)


def oid_value(value: Oid) -> bytes:
    return ber.encode_oid(value)


def unsigned(tag: int, value: int) -> bytes:
    return ber.encode_unsigned(tag, value)


def dynamic_integer(fn: Callable[[float], int]) -> Dynamic:
    encode = ber.encode_integer
    return lambda now: encode(fn(now))


def dynamic_unsigned(tag: int, fn: Callable[[float], int], modulus: int | None = None) -> Dynamic:
    """``modulus`` wraps the value, as a 32-bit counter or TimeTicks does on a real agent."""
    encode = ber.encode_unsigned
    if modulus is None:
        return lambda now: encode(tag, fn(now))
    return lambda now: encode(tag, fn(now) % modulus)
