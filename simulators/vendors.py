"""Vendor profiles as data: identity, interfaces and vendor MIB tables of each AP family.

Nothing here computes anything. :mod:`simulators.device_mib` turns a profile plus a
:class:`~simulators.device.Device` into a MIB view, so adding a vendor (airMAX, OpenWrt)
is adding a profile, with at most a new named value source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["loopback", "uplink", "radio", "vap"]
SnmpType = Literal["Integer", "OctetString", "Counter32", "Gauge32", "TimeTicks", "Counter64"]
RowSource = Literal["const", "ssid", "if_name", "mac", "clients", "rx_bytes", "tx_bytes"]
DeviceSource = Literal["const", "cpu_load", "uptime", "clients_total"]

MBIT = 1_000_000


@dataclass(frozen=True)
class InterfaceSpec:
    name: str
    if_type: int  # IANAifType: 6 ethernetCsmacd, 24 softwareLoopback, 71 ieee80211
    role: Role
    radio: int = 0  # which radio's traffic a radio/vap interface carries
    mtu: int = 1500
    speed_bps: int = 0  # 0 on the uplink: the model's uplink speed
    overhead_permille: int = 1000  # counters relative to the client traffic they carry


@dataclass(frozen=True)
class Model:
    name: str
    sys_descr: str
    uplink_speed_bps: int


@dataclass(frozen=True)
class Column:
    """One column of a per-radio vendor table; ``values`` feeds the ``const`` source."""

    number: int
    type: SnmpType
    source: RowSource
    values: tuple[str | int, ...] = ()


@dataclass(frozen=True)
class RadioTable:
    """A vendor table with one row per radio, indexed by the radio interface's ifIndex or
    by the radio's ordinal (1..n)."""

    entry: str
    index: Literal["ifindex", "ordinal"]
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Cell:
    """A single device-wide instance (a scalar ``.0`` or a one-row table cell)."""

    oid: str
    type: SnmpType
    source: DeviceSource
    value: str | int = 0


@dataclass(frozen=True)
class VendorProfile:
    name: str
    sys_object_id: str
    models: tuple[Model, ...]
    interfaces: tuple[InterfaceSpec, ...]
    mac_prefixes: tuple[str, ...]
    radio_tables: tuple[RadioTable, ...] = ()
    cells: tuple[Cell, ...] = ()
    sys_contact: str = ""
    radios: int = field(default=2)


MIKROTIK = VendorProfile(
    name="mikrotik",
    sys_object_id="1.3.6.1.4.1.14988.1",
    models=(
        Model("RB951Ui-2HnD", "RouterOS RB951Ui-2HnD", 100 * MBIT),
        Model("RB952Ui-5ac2nD", "RouterOS RB952Ui-5ac2nD", 100 * MBIT),
        Model("cAP ac", "RouterOS cAP ac", 1000 * MBIT),
        Model("wAP ac", "RouterOS wAP ac", 1000 * MBIT),
    ),
    interfaces=(
        InterfaceSpec("ether1", 6, "uplink"),
        InterfaceSpec("wlan1", 71, "radio", radio=0, speed_bps=144_400_000),
        InterfaceSpec("wlan2", 71, "radio", radio=1, speed_bps=866_700_000),
    ),
    mac_prefixes=("4c:5e:0c", "6c:3b:6b", "b8:69:f4"),
    radio_tables=(
        RadioTable(  # MIKROTIK-MIB mtxrWlApTable
            entry="1.3.6.1.4.1.14988.1.1.1.3.1",
            index="ifindex",
            columns=(
                Column(4, "OctetString", "ssid"),  # mtxrWlApSsid
                Column(5, "OctetString", "mac"),  # mtxrWlApBssid
                Column(6, "Counter32", "clients"),  # mtxrWlApClientCount
                Column(7, "Integer", "const", (2412, 5180)),  # mtxrWlApFreq
                Column(11, "Counter32", "clients"),  # mtxrWlApAuthClientCount
            ),
        ),
    ),
    cells=(Cell("1.3.6.1.2.1.25.3.3.1.2.1", "Integer", "cpu_load"),),  # hrProcessorLoad
)

UNIFI = VendorProfile(
    name="unifi",
    # UniFi APs run net-snmp, which reports its own generic Linux sysObjectID.
    sys_object_id="1.3.6.1.4.1.8072.3.2.10",
    models=(
        Model("UAP-AC-Pro-Gen2", "UAP-AC-Pro-Gen2 6.6.77.15402", 1000 * MBIT),
        Model("UAP-AC-Lite", "UAP-AC-Lite 6.6.77.15402", 1000 * MBIT),
        Model("UAP-AC-LR", "UAP-AC-LR 6.6.77.15402", 1000 * MBIT),
        Model("U6-Lite", "U6-Lite 6.6.77.15402", 1000 * MBIT),
    ),
    interfaces=(
        InterfaceSpec("lo", 24, "loopback", mtu=65536, speed_bps=10 * MBIT),
        InterfaceSpec("eth0", 6, "uplink"),
        InterfaceSpec("wifi0", 71, "radio", radio=0, speed_bps=300 * MBIT, overhead_permille=1020),
        InterfaceSpec("wifi1", 71, "radio", radio=1, speed_bps=867 * MBIT, overhead_permille=1020),
        InterfaceSpec("ath0", 71, "vap", radio=0, speed_bps=300 * MBIT),
        InterfaceSpec("ath1", 71, "vap", radio=1, speed_bps=867 * MBIT),
    ),
    mac_prefixes=("78:8a:20", "f0:9f:c2", "24:5a:4c"),
    radio_tables=(
        RadioTable(  # UBNT-UniFi-MIB unifiVapTable
            entry="1.3.6.1.4.1.41112.1.6.1.2.1",
            index="ordinal",
            columns=(
                Column(1, "Integer", "const", (1, 2)),  # unifiVapIndex
                Column(2, "Integer", "const", (6, 44)),  # unifiVapChannel
                Column(3, "OctetString", "mac"),  # unifiVapBssId
                Column(6, "OctetString", "ssid"),  # unifiVapEssId
                Column(7, "OctetString", "if_name"),  # unifiVapName
                Column(8, "Integer", "clients"),  # unifiVapNumStations
                Column(9, "OctetString", "const", ("ng", "na")),  # unifiVapRadio
                Column(10, "Counter64", "rx_bytes"),  # unifiVapRxBytes
                Column(16, "Counter64", "tx_bytes"),  # unifiVapTxBytes
                Column(21, "Integer", "const", (20, 22)),  # unifiVapTxPower
                Column(22, "Integer", "const", (1, 1)),  # unifiVapUp (TruthValue)
                Column(23, "OctetString", "const", ("guest", "guest")),  # unifiVapUsage
            ),
        ),
    ),
    cells=(
        Cell("1.3.6.1.2.1.25.1.1.0", "TimeTicks", "uptime"),  # hrSystemUptime
        Cell("1.3.6.1.2.1.25.3.3.1.2.196608", "Integer", "cpu_load"),  # hrProcessorLoad
    ),
    sys_contact="noc@citywifi.example",
)

VENDORS: dict[str, VendorProfile] = {profile.name: profile for profile in (MIKROTIK, UNIFI)}
