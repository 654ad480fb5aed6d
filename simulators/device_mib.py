"""Assemble one AP's MIB view from its vendor profile and its behaviour.

This is the only place that knows which standard objects (system, IF-MIB) an AP answers
and how vendor table columns map onto :class:`~simulators.device.Device` quantities.

The ``malformed`` fault hooks in here: the objects a collector relies on most (sysUpTime,
hrSystemUptime, ifHCInOctets, client counts) are wrapped so that, while the device is in a
malformed window, they come back with the wrong type (an OCTET STRING where TimeTicks or a
Counter64 belongs) or as noSuchObject (client counts). Every other object is untouched, and
outside such windows the wrapper costs one empty-list test.

Most objects have a fixed set of instances. A vendor's session table (MikroTik's hotspot
active users) does not: its rows are the sessions at the instant asked. It is served by
:class:`LiveMibView`, which splices those rows into the fixed view at their place in OID
order; the row structure is rebuilt only when the sessions change (per 15-minute slot or
fault condition), and a cell's value is computed only when a request reaches it.
"""

from __future__ import annotations

import hashlib
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from simulators import ber
from simulators.ber import Oid, parse_oid
from simulators.device import Device, Memory, Session
from simulators.mib import (
    MibBuilder,
    MibView,
    ValueSource,
    dynamic_integer,
    dynamic_unsigned,
    integer,
    octets,
    oid_value,
    unsigned,
)
from simulators.vendors import (
    HR_STORAGE_TYPES,
    Cell,
    InterfaceSpec,
    Model,
    RadioTable,
    SessionColumn,
    SessionTable,
    SnmpType,
    Storage,
    VendorProfile,
)

SYSTEM = parse_oid("1.3.6.1.2.1.1")
IF_NUMBER = parse_oid("1.3.6.1.2.1.2.1")
IF_ENTRY = parse_oid("1.3.6.1.2.1.2.2.1")
IFX_ENTRY = parse_oid("1.3.6.1.2.1.31.1.1.1")
HR_MEMORY_SIZE = parse_oid("1.3.6.1.2.1.25.2.2")
HR_STORAGE_ENTRY = parse_oid("1.3.6.1.2.1.25.2.3.1")
HR_STORAGE_TYPES_OID = parse_oid("1.3.6.1.2.1.25.2.1")

WRAP32 = 1 << 32
LOOPBACK_BYTES_PER_CS = 15  # ~1.5 kB/s of local chatter

Quantity = Callable[[float], int]
Text = Callable[[float], str]


@dataclass(frozen=True)
class Identity:
    """What an AP says about itself beyond its vendor profile."""

    name: str
    location: str
    ssid: str
    mac: bytes  # base MAC; interface n gets base + n


def _typed(kind: SnmpType, value: str | bytes | int | Quantity) -> ValueSource:
    if isinstance(value, str | bytes):
        if kind == "IpAddress" and isinstance(value, bytes) and len(value) == 4:
            return ber.encode_octets(value, ber.IP_ADDRESS)
        if kind != "OctetString":
            raise ValueError(f"a string cannot be a {kind}")
        return octets(value)
    if kind in ("OctetString", "IpAddress"):
        raise ValueError(f"an {kind} needs a string value")
    if kind == "Integer":
        return integer(value) if isinstance(value, int) else dynamic_integer(value)
    tag = {
        "Counter32": ber.COUNTER32,
        "Gauge32": ber.GAUGE32,
        "TimeTicks": ber.TIMETICKS,
        "Counter64": ber.COUNTER64,
    }[kind]
    modulus = None if kind == "Counter64" else WRAP32
    if isinstance(value, int):
        return unsigned(tag, value % WRAP32 if modulus else value)
    return dynamic_unsigned(tag, value, modulus)


def _malformable(device: Device, good: ValueSource, how: str) -> ValueSource:
    """``good``, or a wrongly typed value while ``device`` is malformed.

    ``how`` is ``"string"`` (the number as an OCTET STRING, as a broken agent that
    formats a counter as text would send) or ``"nosuchobject"``."""
    if isinstance(good, bytes):
        return good
    render = good
    malformed = device.is_malformed
    if how == "nosuchobject":
        bad = ber.NO_SUCH_OBJECT_TLV

        def missing(now: float) -> bytes:
            return bad if malformed(now) else render(now)

        return missing

    def as_text(now: float) -> bytes:
        tlv = render(now)
        if not malformed(now):
            return tlv
        number = int.from_bytes(tlv[2:], "big") if len(tlv) > 2 else 0
        return ber.encode_octets(str(number).encode())

    return as_text


def _text(fn: Text) -> ValueSource:
    """An OCTET STRING that changes with time (UCD's load averages are text)."""
    return lambda now: ber.encode_octets(fn(now).encode())


def _scaled(fn: Quantity, permille: int) -> Quantity:
    if permille == 1000:
        return fn
    return lambda now: fn(now) * permille // 1000


def _interface_counters(spec: InterfaceSpec, device: Device) -> tuple[Quantity, Quantity, Quantity]:
    """(in octets, out octets, in errors) of an interface: client traffic seen from it."""
    radio = spec.radio
    if spec.role in ("radio", "vap"):
        return (
            _scaled(lambda now: device.rx_bytes(radio, now), spec.overhead_permille),
            _scaled(lambda now: device.tx_bytes(radio, now), spec.overhead_permille),
            lambda now: device.rx_errors(radio, now),
        )
    if spec.role == "bridge":  # the LAN bridge carries every radio's client traffic
        bridged = range(device.radios)
        return (
            lambda now: sum(device.rx_bytes(r, now) for r in bridged),
            lambda now: sum(device.tx_bytes(r, now) for r in bridged),
            lambda now: 0,
        )
    if spec.role == "uplink":
        radios = range(device.radios)
        # Downstream client traffic enters through the uplink, plus ~3 % of tunnel/headers.
        return (
            lambda now: sum(device.tx_bytes(r, now) for r in radios) * 1030 // 1000,
            lambda now: sum(device.rx_bytes(r, now) for r in radios) * 1030 // 1000,
            lambda now: 0,
        )

    def chatter(now: float) -> int:
        return device.uptime_cs(now) * LOOPBACK_BYTES_PER_CS

    return chatter, chatter, lambda now: 0


def _row_interface(profile: VendorProfile, radio: int) -> tuple[int, InterfaceSpec]:
    """The interface a per-radio vendor row describes: its VAP if any, else the radio."""
    for role in ("vap", "radio"):
        for if_index, spec in enumerate(profile.interfaces, start=1):
            if spec.role == role and spec.radio == radio:
                return if_index, spec
    raise ValueError(f"{profile.name} has no interface for radio {radio}")


def _mac(identity: Identity, if_index: int) -> bytes:
    value = int.from_bytes(identity.mac, "big") + if_index
    return (value % (1 << 48)).to_bytes(6, "big")


def _add_system(
    mib: MibBuilder, device: Device, profile: VendorProfile, model: Model, who: Identity
) -> None:
    mib.scalar((*SYSTEM, 1), octets(model.sys_descr))
    mib.scalar((*SYSTEM, 2), oid_value(parse_oid(profile.sys_object_id)))
    mib.scalar((*SYSTEM, 3), _malformable(device, _typed("TimeTicks", device.uptime_cs), "string"))
    mib.scalar((*SYSTEM, 4), octets(profile.sys_contact))
    mib.scalar((*SYSTEM, 5), octets(who.name))
    mib.scalar((*SYSTEM, 6), octets(who.location))
    mib.scalar((*SYSTEM, 7), integer(78))  # sysServices: layers 2, 3, 4 and 7


def _add_interfaces(
    mib: MibBuilder, device: Device, profile: VendorProfile, model: Model, who: Identity
) -> None:
    mib.scalar(IF_NUMBER, integer(len(profile.interfaces)))
    for if_index, spec in enumerate(profile.interfaces, start=1):
        row = (if_index,)
        speed = spec.speed_bps or model.uplink_speed_bps
        in_octets, out_octets, in_errors = _interface_counters(spec, device)
        phys = b"" if spec.role == "loopback" else _mac(who, if_index)
        for column, value in (
            (1, integer(if_index)),
            (2, octets(spec.name)),
            (3, integer(spec.if_type)),
            (4, integer(spec.mtu)),
            (5, unsigned(ber.GAUGE32, min(speed, WRAP32 - 1))),
            (6, octets(phys)),
            (7, integer(1)),
            (8, integer(1)),
            (10, _typed("Counter32", in_octets)),
            (13, unsigned(ber.COUNTER32, 0)),
            (14, _typed("Counter32", in_errors)),
            (16, _typed("Counter32", out_octets)),
            (20, unsigned(ber.COUNTER32, 0)),
        ):
            mib.cell((*IF_ENTRY, column), row, value)
        if not profile.if_x_table:
            continue
        for column, value in (
            (1, octets(spec.name)),
            (6, _malformable(device, _typed("Counter64", in_octets), "string")),
            (10, _typed("Counter64", out_octets)),
            (15, unsigned(ber.GAUGE32, speed // 1_000_000)),
            (18, octets("")),
        ):
            mib.cell((*IFX_ENTRY, column), row, value)


def _row_value(
    source: str,
    values: tuple[str | int, ...],
    radio: int,
    spec: InterfaceSpec,
    mac: bytes,
    device: Device,
    who: Identity,
) -> str | bytes | int | Quantity:
    if source == "const":
        return values[radio]
    if source == "ssid":
        return who.ssid
    if source == "if_name":
        return spec.name
    if source == "mac":
        return mac
    if source == "clients":
        return lambda now: device.clients(radio, now)
    if source == "rx_bytes":
        return lambda now: device.rx_bytes(radio, now)
    if source == "tx_bytes":
        return lambda now: device.tx_bytes(radio, now)
    if source == "pick":
        return values[_seeded_index(device.seed, values)]
    link: dict[str, Callable[[int, float], int]] = {
        "signal": device.signal_dbm,
        "noise": device.noise_dbm,
        "ccq": device.ccq_pct,
        "tx_rate": device.tx_rate_kbps,
        "rx_rate": device.rx_rate_kbps,
    }
    if source in link:
        fn = link[source]
        return lambda now: fn(radio, now)
    if source == "rssi":
        return lambda now: device.signal_dbm(radio, now) - device.noise_dbm(radio, now)
    raise ValueError(f"unknown row source {source!r}")


def _seeded_index(seed: str, values: tuple[str | int, ...]) -> int:
    """Which of ``values`` a device has, fixed by its seed (its channel, its distance)."""
    digest = hashlib.blake2b(f"{seed}:{values}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % len(values)


def _add_radio_table(
    mib: MibBuilder, table: RadioTable, device: Device, profile: VendorProfile, who: Identity
) -> None:
    entry = parse_oid(table.entry)
    for radio in range(device.radios):
        if_index, spec = _row_interface(profile, radio)
        index = if_index if table.index == "ifindex" else radio + 1
        mac = _mac(who, if_index)
        for column in table.columns:
            value = _row_value(column.source, column.values, radio, spec, mac, device, who)
            source = _typed(column.type, value)
            if column.source == "clients":
                source = _malformable(device, source, "nosuchobject")
            mib.cell((*entry, column.number), (index,), source)


def _memory_of(device: Device, profile: VendorProfile, total: int) -> Callable[[float], Memory]:
    buffers, cached = profile.buffers_permille, profile.cached_permille

    def memory(now: float) -> Memory:
        return device.memory(now, total, buffers_permille=buffers, cached_permille=cached)

    return memory


def _cell_value(
    cell: Cell, device: Device, memory: Callable[[float], Memory]
) -> str | int | Quantity | Text:
    source = cell.source
    if source == "const":
        return cell.value
    if source == "cpu_load":
        return device.cpu_load
    if source == "cpu_idle":
        return lambda now: 100 - device.cpu_load(now)
    if source == "uptime":
        return device.uptime_cs
    if source == "clients_total":
        return device.total_clients
    if source == "dhcp_leases":
        return device.dhcp_leases
    if source.startswith("load_"):
        which = {"1": 0, "5": 1, "15": 2}[source.rsplit("_", 1)[1]]
        if source.startswith("load_int_"):
            return lambda now: round(device.load_average(now)[which] * 100)
        return lambda now: f"{device.load_average(now)[which]:.2f}"
    kib: dict[str, Callable[[Memory], int]] = {
        "mem_total_kib": lambda m: m.total,
        "mem_free_kib": lambda m: m.free,
        "mem_buffer_kib": lambda m: m.buffers,
        "mem_cached_kib": lambda m: m.cached,
    }
    if source in kib:
        part = kib[source]
        return lambda now: part(memory(now)) // 1024
    raise ValueError(f"unknown cell source {source!r}")


def _storage_used(row: Storage, memory: Callable[[float], Memory]) -> int | Quantity:
    """hrStorageUsed in allocation units; net-snmp counts caches apart from used RAM."""
    units = row.units
    parts: dict[str, Callable[[Memory], int]] = {
        "ram": lambda m: m.used,
        "virtual": lambda m: m.total - m.free,
        "buffers": lambda m: m.buffers,
        "cached": lambda m: m.cached,
    }
    if row.source == "fixed":
        return row.used // units
    part = parts[row.source]
    return lambda now: part(memory(now)) // units


def _add_storage(
    mib: MibBuilder, profile: VendorProfile, total: int, memory: Callable[[float], Memory]
) -> None:
    if not profile.storage:
        return
    mib.scalar(HR_MEMORY_SIZE, integer(total // 1024))  # hrMemorySize, KiB
    for row in profile.storage:
        size = row.size if row.source == "fixed" else total
        kind = (*HR_STORAGE_TYPES_OID, HR_STORAGE_TYPES[row.kind])
        for column, value in (
            (1, integer(row.index)),
            (2, oid_value(kind)),
            (3, octets(row.descr)),
            (4, integer(row.units)),
            (5, integer(size // row.units)),
            (6, _typed("Integer", _storage_used(row, memory))),
            (7, unsigned(ber.COUNTER32, 0)),  # hrStorageAllocationFailures
        ):
            mib.cell((*HR_STORAGE_ENTRY, column), (row.index,), value)


# --- session tables: rows that come and go ------------------------------------------------


def _fixed(value: ValueSource, now: float) -> bytes:
    return value if isinstance(value, bytes) else value(now)


@lru_cache(maxsize=1 << 14)
def _encoded(oid: Oid) -> bytes:
    return ber.encode_oid(oid)


SessionValue = Callable[[Session, float], bytes]


def _session_value(column: SessionColumn, device: Device) -> SessionValue:
    """How to render one column of a session row at an instant."""
    kind, source = column.type, column.source
    if source == "const":
        fixed = _typed(kind, column.value)
        assert isinstance(fixed, bytes)
        return lambda session, now: fixed
    if source in ("user", "address", "mac"):
        tag = ber.IP_ADDRESS if kind == "IpAddress" else ber.OCTET_STRING

        def text(session: Session, now: float) -> bytes:
            value = getattr(session, source)
            return ber.encode_octets(value.encode() if isinstance(value, str) else value, tag)

        return text
    if source == "uptime":
        return lambda session, now: ber.encode_unsigned(
            ber.TIMETICKS, int(max(0.0, now - session.login) * 100) % WRAP32
        )
    counters: dict[str, Callable[[Session, float], int]] = {
        "bytes_in": lambda session, now: device.session_bytes(session, now)[0],
        "bytes_out": lambda session, now: device.session_bytes(session, now)[1],
        "packets_in": lambda session, now: device.session_packets(session, now)[0],
        "packets_out": lambda session, now: device.session_packets(session, now)[1],
    }
    count = counters[source]
    tag = ber.COUNTER64 if kind == "Counter64" else ber.COUNTER32
    modulus = 1 << 64 if kind == "Counter64" else WRAP32
    return lambda session, now: ber.encode_unsigned(tag, count(session, now) % modulus)


@dataclass(frozen=True)
class _Rows:
    """A session table's instances for one set of sessions, in OID order."""

    oids: list[Oid]
    tlvs: list[bytes]
    by_tlv: dict[bytes, int]
    cells: list[tuple[SessionValue, Session]]


class LiveTable:
    """A table whose rows are the device's sessions at the instant asked."""

    def __init__(self, table: SessionTable, device: Device) -> None:
        self.entry: Oid = parse_oid(table.entry)
        self.device = device
        self.columns = sorted(
            ((c.number, _session_value(c, device)) for c in table.columns), key=lambda c: c[0]
        )
        self._key: tuple[Session, ...] | None = None
        self._rows = _Rows([], [], {}, [])

    def rows(self, now: float) -> _Rows:
        """Rebuilt only when the sessions change; values stay lazy (see ``cells``)."""
        sessions = self.device.sessions(now)
        if sessions is self._key:
            return self._rows
        oids: list[Oid] = []
        cells: list[tuple[SessionValue, Session]] = []
        for number, render in self.columns:
            for session in sessions:
                oids.append((*self.entry, number, session.id))
                cells.append((render, session))
        tlvs = [_encoded(oid) for oid in oids]
        self._rows = _Rows(oids, tlvs, {t: i for i, t in enumerate(tlvs)}, cells)
        self._key = sessions
        return self._rows


class LiveMibView(MibView):
    """A fixed view with one :class:`LiveTable` spliced in at its place in OID order.

    Merged positions: fixed instances ``[0, split)``, then the table's current rows, then
    the remaining fixed instances (no fixed instance lies inside the table's subtree).
    ``oids`` and ``len`` answer for the current wall-clock time.
    """

    __slots__ = ("_live", "_prefix", "_split")

    def __init__(
        self, instances: list[tuple[Oid, ValueSource]], objects: set[Oid], live: LiveTable
    ):
        entry = live.entry
        if any(oid[: len(entry)] == entry for oid, _ in instances):
            raise ValueError("a fixed instance lies inside the live table")
        columns = {(*entry, number) for number, _ in live.columns}
        super().__init__(instances, objects | columns)
        self._live = live
        self._prefix = ber.encode_oid_content(entry)
        self._split = bisect_right(self._oids, entry)

    @property
    def live(self) -> LiveTable:
        return self._live

    def _inside(self, oid_tlv: bytes) -> bool:
        if len(oid_tlv) > 1 and oid_tlv[1] < 0x80:
            return oid_tlv.startswith(self._prefix, 2)
        oid = ber.decode_oid_tlv(oid_tlv)
        return oid[: len(self._live.entry)] == self._live.entry

    @property
    def oids(self) -> Sequence[Oid]:
        split = self._split
        return [*self._oids[:split], *self._live.rows(time.time()).oids, *self._oids[split:]]

    def __len__(self) -> int:
        return len(self._oids) + len(self._live.rows(time.time()).oids)

    def get(self, oid_tlv: bytes, now: float) -> bytes:
        # The common case (a short OID outside the table) in one C-level test.
        if oid_tlv[1] < 0x80 and not oid_tlv.startswith(self._prefix, 2):
            return MibView.get(self, oid_tlv, now)
        if not self._inside(oid_tlv):
            return MibView.get(self, oid_tlv, now)
        rows = self._live.rows(now)
        i = rows.by_tlv.get(oid_tlv)
        if i is not None:
            render, session = rows.cells[i]
            return render(session, now)
        return super().get(oid_tlv, now)  # noSuchInstance under a known column

    # Merged positions m: fixed [0, split), live [split, split + n), fixed shifted by n.

    def _merged_after(self, oid_tlv: bytes, rows: _Rows) -> int:
        n = len(rows.oids)
        if self._inside(oid_tlv):
            return self._split + bisect_right(rows.oids, ber.decode_oid_tlv(oid_tlv))
        i = self._after(oid_tlv)
        if i < self._split:
            return i
        if i > self._split or ber.decode_oid_tlv(oid_tlv) > self._live.entry:
            return i + n
        return i  # before the table: its first row comes next

    def _at(self, m: int, rows: _Rows, now: float) -> tuple[bytes, bytes]:
        split, n = self._split, len(rows.oids)
        if m < split:
            return self._tlvs[m], _fixed(self._values[m], now)
        if m < split + n:
            render, session = rows.cells[m - split]
            return rows.tlvs[m - split], render(session, now)
        return self._tlvs[m - n], _fixed(self._values[m - n], now)

    def get_next(self, oid_tlv: bytes, now: float) -> tuple[bytes, bytes]:
        rows = self._live.rows(now)
        m = self._merged_after(oid_tlv, rows)
        if m >= len(self._oids) + len(rows.oids):
            return oid_tlv, ber.END_OF_MIB_VIEW_TLV
        return self._at(m, rows, now)

    def _cursor(
        self, now: float
    ) -> tuple[Callable[[bytes], int], int, Callable[[int], tuple[bytes, bytes]]]:
        rows = self._live.rows(now)
        return (
            lambda oid_tlv: self._merged_after(oid_tlv, rows),
            len(self._oids) + len(rows.oids),
            lambda m: self._at(m, rows, now),
        )


def build_mib(device: Device, profile: VendorProfile, model: Model, identity: Identity) -> MibView:
    mib = MibBuilder()
    _add_system(mib, device, profile, model, identity)
    _add_interfaces(mib, device, profile, model, identity)
    for table in profile.radio_tables:
        _add_radio_table(mib, table, device, profile, identity)
    total = device.memory_bytes or model.memory_kib * 1024
    memory = _memory_of(device, profile, total)
    for cell in profile.cells:
        oid: Oid = parse_oid(cell.oid)
        value = _cell_value(cell, device, memory)
        if cell.type == "OctetString" and callable(value):
            source = _text(value)  # type: ignore[arg-type]
        else:
            source = _typed(cell.type, value)  # type: ignore[arg-type]
        if cell.source == "uptime":
            source = _malformable(device, source, "string")
        elif cell.source == "clients_total":
            source = _malformable(device, source, "nosuchobject")
        mib.cell(oid[:-1], oid[-1:], source)
    if total:
        _add_storage(mib, profile, total, memory)
    if profile.session_table is None:
        return mib.build()
    live = LiveTable(profile.session_table, device)
    return LiveMibView(mib.instances, mib.objects, live)
