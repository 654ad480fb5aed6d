"""Vendor profiles as data: identity, interfaces and vendor MIB tables of each AP family.

Nothing here computes anything. :mod:`simulators.device_mib` turns a profile plus a
:class:`~simulators.device.Device` into a MIB view, so adding a vendor is adding a profile,
with at most a new named value source. The four profiles differ where real devices do:
MikroTik and UniFi have ifXTable and a vendor client count; airMAX (airOS) has no
ifXTable, so its only traffic counters are 32-bit and wrap; OpenWrt's net-snmp has
HOST-RESOURCES and UCD-SNMP-MIB but no wireless client count at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["loopback", "uplink", "radio", "vap", "bridge"]
SnmpType = Literal[
    "Integer", "OctetString", "Counter32", "Gauge32", "TimeTicks", "Counter64", "IpAddress"
]
RowSource = Literal[
    "const",  # values[radio]
    "pick",  # one of values, chosen once per device by its seed (a channel, a distance)
    "ssid",
    "if_name",
    "mac",
    "clients",
    "rx_bytes",
    "tx_bytes",
    "signal",  # dBm, negative
    "rssi",  # dB above the noise floor
    "noise",  # dBm, negative
    "ccq",  # %
    "tx_rate",  # kbit/s
    "rx_rate",  # kbit/s
]
DeviceSource = Literal[
    "const",
    "cpu_load",
    "cpu_idle",
    "uptime",
    "clients_total",
    "dhcp_leases",
    "load_1",  # UCD laLoad: text such as "0.42"
    "load_5",
    "load_15",
    "load_int_1",  # UCD laLoadInt: the load times 100
    "load_int_5",
    "load_int_15",
    "mem_total_kib",
    "mem_free_kib",
    "mem_buffer_kib",
    "mem_cached_kib",
]
StorageSource = Literal["ram", "virtual", "buffers", "cached", "fixed"]
SessionSource = Literal[
    "const", "user", "address", "mac", "uptime", "bytes_in", "bytes_out", "packets_in",
    "packets_out",
]  # fmt: skip

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
    memory_kib: int = 0  # RAM as the OS reports its total; 0: no memory objects


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


HR_STORAGE_TYPES = {
    "other": 1,
    "ram": 2,
    "virtualMemory": 3,
    "fixedDisk": 4,
    "flashMemory": 9,
}
"""HOST-RESOURCES-TYPES hrStorageTypes arcs under 1.3.6.1.2.1.25.2.1."""


@dataclass(frozen=True)
class Storage:
    """One hrStorageTable row. ``ram``/``virtual``/``buffers``/``cached`` rows follow the
    device's memory over time; a ``fixed`` row (a flash filesystem) holds ``size``/``used``
    bytes."""

    index: int
    kind: Literal["other", "ram", "virtualMemory", "fixedDisk", "flashMemory"]
    descr: str
    units: int
    source: StorageSource
    size: int = 0
    used: int = 0


@dataclass(frozen=True)
class SessionColumn:
    number: int
    type: SnmpType
    source: SessionSource
    value: str | int = 0


@dataclass(frozen=True)
class SessionTable:
    """A table with one row per logged-in user session (MikroTik's hotspot active users):
    its rows come and go with the device's sessions, indexed by session id."""

    entry: str
    columns: tuple[SessionColumn, ...]


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
    if_x_table: bool = True  # False: IF-MIB's 32-bit counters only (they wrap at 2^32)
    storage: tuple[Storage, ...] = ()
    session_table: SessionTable | None = None
    # How the OS splits memory it does not use: buffers and page cache, per mille of RAM.
    buffers_permille: int = 0
    cached_permille: int = 0


# hrStorageTable rows as net-snmp's Linux agent numbers them (UniFi, OpenWrt).
_NET_SNMP_MEMORY = (
    Storage(1, "ram", "Physical memory", 1024, "ram"),
    Storage(3, "virtualMemory", "Virtual memory", 1024, "virtual"),
    Storage(6, "other", "Memory buffers", 1024, "buffers"),
    Storage(7, "other", "Cached memory", 1024, "cached"),
)
_OPENWRT_DESCR = "Linux OpenWrt 5.15.137 #0 SMP Sun Nov 12 18:48:00 2023 mips"
_HR_SYSTEM_UPTIME = Cell("1.3.6.1.2.1.25.1.1.0", "TimeTicks", "uptime")
_MIB = 1024 * 1024

MIKROTIK = VendorProfile(
    name="mikrotik",
    sys_object_id="1.3.6.1.4.1.14988.1",
    models=(
        # memory_kib as /system resource print's total-memory (simulators.cli_routeros)
        Model("RB951Ui-2HnD", "RouterOS RB951Ui-2HnD", 100 * MBIT, 128 * 1024),
        Model("RB952Ui-5ac2nD", "RouterOS RB952Ui-5ac2nD", 100 * MBIT, 64 * 1024),
        Model("cAP ac", "RouterOS cAP ac", 1000 * MBIT, 128 * 1024),
        Model("wAP ac", "RouterOS wAP ac", 1000 * MBIT, 128 * 1024),
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
    cells=(
        Cell("1.3.6.1.2.1.25.3.3.1.2.1", "Integer", "cpu_load"),  # hrProcessorLoad
        Cell("1.3.6.1.4.1.14988.1.1.1.4.0", "Gauge32", "clients_total"),  # mtxrWlRtabEntryCount
        Cell("1.3.6.1.4.1.14988.1.1.6.1.0", "Gauge32", "dhcp_leases"),  # mtxrDHCPLeaseCount
    ),
    # RouterOS numbers its two hrStorage rows 65536 and 131072, in KiB.
    storage=(
        Storage(65536, "ram", "main memory", 1024, "ram"),
        Storage(131072, "fixedDisk", "system disk", 1024, "fixed", 16 * _MIB, 9 * _MIB),
    ),
    session_table=SessionTable(  # MIKROTIK-MIB mtxrHotspotActiveUserTable
        entry="1.3.6.1.4.1.14988.1.1.5.1.1",
        columns=(
            SessionColumn(2, "Integer", "const", 1),  # mtxrHlActiveUserServerID
            SessionColumn(3, "OctetString", "user"),  # mtxrHlActiveUserName
            SessionColumn(4, "OctetString", "const", ""),  # mtxrHlActiveUserDomain
            SessionColumn(5, "IpAddress", "address"),  # mtxrHlActiveUserIP
            SessionColumn(6, "OctetString", "mac"),  # mtxrHlActiveUserMAC
            SessionColumn(7, "TimeTicks", "uptime"),  # mtxrHlActiveUserConnectTime
            SessionColumn(12, "Counter64", "bytes_in"),  # mtxrHlActiveUserBytesIn
            SessionColumn(13, "Counter64", "bytes_out"),  # mtxrHlActiveUserBytesOut
            SessionColumn(14, "Counter64", "packets_in"),  # mtxrHlActiveUserPacketsIn
            SessionColumn(15, "Counter64", "packets_out"),  # mtxrHlActiveUserPacketsOut
        ),
    ),
)

UNIFI = VendorProfile(
    name="unifi",
    # UniFi APs run net-snmp, which reports its own generic Linux sysObjectID.
    sys_object_id="1.3.6.1.4.1.8072.3.2.10",
    models=(
        Model("UAP-AC-Pro-Gen2", "UAP-AC-Pro-Gen2 6.6.77.15402", 1000 * MBIT, 126_516),
        Model("UAP-AC-Lite", "UAP-AC-Lite 6.6.77.15402", 1000 * MBIT, 61_296),
        Model("UAP-AC-LR", "UAP-AC-LR 6.6.77.15402", 1000 * MBIT, 61_296),
        Model("U6-Lite", "U6-Lite 6.6.77.15402", 1000 * MBIT, 246_644),
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
        _HR_SYSTEM_UPTIME,
        Cell("1.3.6.1.2.1.25.3.3.1.2.196608", "Integer", "cpu_load"),  # hrProcessorLoad
    ),
    storage=_NET_SNMP_MEMORY,
    buffers_permille=15,
    cached_permille=90,
    sys_contact="noc@citywifi.example",
)

AIRMAX = VendorProfile(
    name="airmax",
    sys_object_id="1.3.6.1.4.1.41112.1.4",
    # airOS answers a bare `uname -srvm` as its sysDescr; the model is not in it.
    models=(
        Model("NanoStation M5", "Linux 2.6.32.68 #1 Tue Oct 8 10:36:21 EEST 2024 mips", 100 * MBIT),
        Model("Rocket M5", "Linux 2.6.32.68 #1 Tue Oct 8 10:36:21 EEST 2024 mips", 100 * MBIT),
        Model(
            "LiteBeam 5AC Gen2", "Linux 2.6.32.71 #1 Wed Jun 5 14:12:09 EEST 2024 mips", MBIT * 1000
        ),
        Model(
            "NanoBeam 5AC Gen2", "Linux 2.6.32.71 #1 Wed Jun 5 14:12:09 EEST 2024 mips", MBIT * 1000
        ),
    ),
    interfaces=(
        InterfaceSpec("lo", 24, "loopback", mtu=16436, speed_bps=10 * MBIT),
        InterfaceSpec("eth0", 6, "uplink"),
        InterfaceSpec("wifi0", 71, "radio", radio=0, speed_bps=300 * MBIT, overhead_permille=1030),
        InterfaceSpec("ath0", 71, "vap", radio=0, speed_bps=300 * MBIT),
    ),
    mac_prefixes=("04:18:d6", "24:a4:3c", "fc:ec:da"),
    radio_tables=(
        RadioTable(  # UBNT-AirMAX-MIB ubntRadioTable
            entry="1.3.6.1.4.1.41112.1.4.1.1",
            index="ordinal",
            columns=(
                Column(1, "Integer", "const", (1,)),  # ubntRadioIndex
                Column(2, "Integer", "const", (4,)),  # ubntRadioMode: apwds(4)
                Column(3, "Integer", "const", (360,)),  # ubntRadioCountryCode (ISO 3166 Indonesia)
                Column(4, "Integer", "pick", (5180, 5200, 5745, 5765, 5785, 5805)),  # Freq, MHz
                Column(5, "Integer", "const", (2,)),  # ubntRadioDfsEnabled: false(2)
                Column(6, "Integer", "pick", (18, 20, 22, 24)),  # ubntRadioTxPower, dBm
                Column(7, "Integer", "pick", (450, 750, 1200, 1650, 2400)),  # Distance, m
                Column(8, "Integer", "const", (3,)),  # ubntRadioChainmask: both chains
                Column(9, "OctetString", "const", ("Built in - 16 dBi",)),  # ubntRadioAntenna
            ),
        ),
        RadioTable(  # UBNT-AirMAX-MIB ubntWlStatTable
            entry="1.3.6.1.4.1.41112.1.4.5.1",
            index="ordinal",
            columns=(
                Column(1, "Integer", "const", (1,)),  # ubntWlStatIndex
                Column(2, "OctetString", "ssid"),  # ubntWlStatSsid
                Column(3, "Integer", "const", (2,)),  # ubntWlStatHideSsid: false(2)
                Column(4, "OctetString", "mac"),  # ubntWlStatApMac
                Column(5, "Integer", "signal"),  # ubntWlStatSignal, dBm
                Column(6, "Integer", "rssi"),  # ubntWlStatRssi
                Column(7, "Integer", "ccq"),  # ubntWlStatCcq, %
                Column(8, "Integer", "noise"),  # ubntWlStatNoiseFloor, dBm
                Column(9, "Integer", "tx_rate"),  # ubntWlStatTxRate
                Column(10, "Integer", "rx_rate"),  # ubntWlStatRxRate
                Column(11, "OctetString", "const", ("none",)),  # ubntWlStatSecurity: open
                Column(12, "Integer", "const", (1,)),  # ubntWlStatWdsEnabled: true(1)
                Column(13, "Integer", "const", (2,)),  # ubntWlStatApRepeater: false(2)
                Column(14, "Integer", "pick", (20, 40)),  # ubntWlStatChanWidth, MHz
                Column(15, "Gauge32", "clients"),  # ubntWlStatStaCount
            ),
        ),
    ),
    if_x_table=False,
    radios=1,
)

OPENWRT = VendorProfile(
    name="openwrt",
    sys_object_id="1.3.6.1.4.1.8072.3.2.10",  # net-snmp's linux
    # net-snmp's sysDescr is `uname -snrvm` with the default hostname; the kernel build
    # is OpenWrt 23.05.2's, as the SSH CLI (simulators.cli_openwrt) reports it.
    models=(
        Model("ZyXEL NWA50AX", _OPENWRT_DESCR, 1000 * MBIT, 247_128),
        Model("Xiaomi Mi Router 4A Gigabit", _OPENWRT_DESCR, 1000 * MBIT, 124_264),
        Model("TP-Link EAP615-Wall", _OPENWRT_DESCR, 1000 * MBIT, 247_128),
        Model("Ubiquiti UniFi 6 Lite", _OPENWRT_DESCR, 1000 * MBIT, 247_128),
    ),
    interfaces=(
        InterfaceSpec("lo", 24, "loopback", mtu=65536, speed_bps=10 * MBIT),
        InterfaceSpec("eth0", 6, "uplink"),
        InterfaceSpec("br-lan", 6, "bridge", speed_bps=1000 * MBIT),
        # net-snmp derives ifType from the ARP hardware type: Wi-Fi is "Ethernet" too.
        InterfaceSpec("wlan0", 6, "radio", radio=0, speed_bps=300 * MBIT),
        InterfaceSpec("wlan1", 6, "radio", radio=1, speed_bps=867 * MBIT),
    ),
    mac_prefixes=("94:83:c4", "60:38:e0", "50:91:e3"),
    cells=(
        _HR_SYSTEM_UPTIME,
        Cell("1.3.6.1.2.1.25.3.3.1.2.196608", "Integer", "cpu_load"),  # hrProcessorLoad
        # UCD-SNMP-MIB laTable: index, name, load as text, load times 100
        Cell("1.3.6.1.4.1.2021.10.1.1.1", "Integer", "const", 1),
        Cell("1.3.6.1.4.1.2021.10.1.1.2", "Integer", "const", 2),
        Cell("1.3.6.1.4.1.2021.10.1.1.3", "Integer", "const", 3),
        Cell("1.3.6.1.4.1.2021.10.1.2.1", "OctetString", "const", "Load-1"),
        Cell("1.3.6.1.4.1.2021.10.1.2.2", "OctetString", "const", "Load-5"),
        Cell("1.3.6.1.4.1.2021.10.1.2.3", "OctetString", "const", "Load-15"),
        Cell("1.3.6.1.4.1.2021.10.1.3.1", "OctetString", "load_1"),
        Cell("1.3.6.1.4.1.2021.10.1.3.2", "OctetString", "load_5"),
        Cell("1.3.6.1.4.1.2021.10.1.3.3", "OctetString", "load_15"),
        Cell("1.3.6.1.4.1.2021.10.1.5.1", "Integer", "load_int_1"),
        Cell("1.3.6.1.4.1.2021.10.1.5.2", "Integer", "load_int_5"),
        Cell("1.3.6.1.4.1.2021.10.1.5.3", "Integer", "load_int_15"),
        # UCD-SNMP-MIB memory group (KiB); OpenWrt runs without swap
        Cell("1.3.6.1.4.1.2021.4.1.0", "Integer", "const", 0),  # memIndex
        Cell("1.3.6.1.4.1.2021.4.3.0", "Integer", "const", 0),  # memTotalSwap
        Cell("1.3.6.1.4.1.2021.4.4.0", "Integer", "const", 0),  # memAvailSwap
        Cell("1.3.6.1.4.1.2021.4.5.0", "Integer", "mem_total_kib"),  # memTotalReal
        Cell("1.3.6.1.4.1.2021.4.6.0", "Integer", "mem_free_kib"),  # memAvailReal
        Cell("1.3.6.1.4.1.2021.4.14.0", "Integer", "mem_buffer_kib"),  # memBuffer
        Cell("1.3.6.1.4.1.2021.4.15.0", "Integer", "mem_cached_kib"),  # memCached
        Cell("1.3.6.1.4.1.2021.11.11.0", "Integer", "cpu_idle"),  # ssCpuIdle
    ),
    storage=(
        *_NET_SNMP_MEMORY,
        # The writable flash overlay, in its 4 KiB blocks (ubus's "root": 4352 KiB).
        Storage(31, "fixedDisk", "/overlay", 4096, "fixed", 4352 * 1024, 876 * 1024),
    ),
    cached_permille=110,
)

VENDORS: dict[str, VendorProfile] = {
    profile.name: profile for profile in (MIKROTIK, UNIFI, AIRMAX, OPENWRT)
}
