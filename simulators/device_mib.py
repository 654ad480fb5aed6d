"""Assemble one AP's MIB view from its vendor profile and its behaviour.

This is the only place that knows which standard objects (system, IF-MIB) an AP answers
and how vendor table columns map onto :class:`~simulators.device.Device` quantities.

The ``malformed`` fault hooks in here: the objects a collector relies on most (sysUpTime,
hrSystemUptime, ifHCInOctets, client counts) are wrapped so that, while the device is in a
malformed window, they come back with the wrong type (an OCTET STRING where TimeTicks or a
Counter64 belongs) or as noSuchObject (client counts). Every other object is untouched, and
outside such windows the wrapper costs one empty-list test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simulators import ber
from simulators.ber import Oid, parse_oid
from simulators.device import Device
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
from simulators.vendors import Cell, InterfaceSpec, Model, RadioTable, SnmpType, VendorProfile

SYSTEM = parse_oid("1.3.6.1.2.1.1")
IF_NUMBER = parse_oid("1.3.6.1.2.1.2.1")
IF_ENTRY = parse_oid("1.3.6.1.2.1.2.2.1")
IFX_ENTRY = parse_oid("1.3.6.1.2.1.31.1.1.1")

WRAP32 = 1 << 32
LOOPBACK_BYTES_PER_CS = 15  # ~1.5 kB/s of local chatter

Quantity = Callable[[float], int]


@dataclass(frozen=True)
class Identity:
    """What an AP says about itself beyond its vendor profile."""

    name: str
    location: str
    ssid: str
    mac: bytes  # base MAC; interface n gets base + n


def _typed(kind: SnmpType, value: str | bytes | int | Quantity) -> ValueSource:
    if isinstance(value, str | bytes):
        if kind != "OctetString":
            raise ValueError(f"a string cannot be a {kind}")
        return octets(value)
    if kind == "OctetString":
        raise ValueError("an OctetString needs a string value")
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
    raise ValueError(f"unknown row source {source!r}")


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


def _cell_value(cell: Cell, device: Device) -> str | int | Quantity:
    if cell.source == "const":
        return cell.value
    if cell.source == "cpu_load":
        return device.cpu_load
    if cell.source == "uptime":
        return device.uptime_cs
    if cell.source == "clients_total":
        return device.total_clients
    raise ValueError(f"unknown cell source {cell.source!r}")


def build_mib(device: Device, profile: VendorProfile, model: Model, identity: Identity) -> MibView:
    mib = MibBuilder()
    _add_system(mib, device, profile, model, identity)
    _add_interfaces(mib, device, profile, model, identity)
    for table in profile.radio_tables:
        _add_radio_table(mib, table, device, profile, identity)
    for cell in profile.cells:
        oid: Oid = parse_oid(cell.oid)
        source = _typed(cell.type, _cell_value(cell, device))
        if cell.source == "uptime":
            source = _malformable(device, source, "string")
        elif cell.source == "clients_total":
            source = _malformable(device, source, "nosuchobject")
        mib.cell(oid[:-1], oid[-1:], source)
    return mib.build()
