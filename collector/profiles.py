"""Vendor profiles: what to ask a device, how to reduce the answer, how to recognise it.

A profile is data. It names, per metric of the shared vocabulary, where the value lives
(a scalar, a table column, a ratio of either) and how to reduce a table's rows to one
number; the generic interpreter in :mod:`collector.poll` does the rest, so the collector
core never special-cases a vendor and a new vendor is one data file (snmp_exporter's
modules). Everything standard (system group, IF-MIB uplink counters) is asked of every
device by the poller itself; standard fragments other MIBs (HOST-RESOURCES, UCD) are
shared here so that profiles include them rather than copy them.

Each vendor is one module under ``collector/vendors/`` holding everything the collector
knows of it: its SNMP ``PROFILE`` and, if it has one, its SSH ``SSH_PROFILE``
(:mod:`collector.ssh_poll`). :data:`VENDOR_MODULES` lists them, the one registry; they are
loaded by name, so the collector core never imports a vendor module.

What to ask is worked out once per profile (:attr:`Profile.plan`), not per poll: a
collector polls thousands of devices a minute with a handful of profiles.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Literal

from core.errors import ConfigError
from timeseries.vocabulary import AP_METRICS, CLIENT_BANDS

GENERIC = "generic"
AUTO = "auto"

# The vendor modules, each defining ``PROFILE`` (and maybe ``SSH_PROFILE``); loaded lazily,
# tried in this order for detection. A new vendor is a module here and a line here.
VENDOR_MODULES: tuple[str, ...] = (
    "collector.vendors.mikrotik",
    "collector.vendors.unifi",
    "collector.vendors.airmax",
    "collector.vendors.openwrt",
    "collector.vendors.generic",
)

# --- the data a vendor module declares ---------------------------------------------------

Reduce = Literal["sum", "mean", "max", "min", "count_rows", "count_distinct"]
"""How a column's rows become one number. ``count_rows``/``count_distinct`` read any type
(a session table: count its rows, or its distinct user names); the others need integers."""

IfMissing = Literal["error", "absent", "zero"]
"""What an unanswered source means. ``error``: the profile expects it, so the metric is
absent and the poll counts an error. ``absent``: an optional MIB (a generic device may
or may not have HOST-RESOURCES). ``zero``: for counts of rows only, an empty table is a
true zero (SNMP cannot tell an empty session table from none)."""


@dataclass(frozen=True, slots=True)
class RowFilter:
    """Keep only the rows whose ``column`` holds ``equals`` (an OID value compares
    without a leading dot)."""

    column: str
    equals: str | int


# Radio bands by frequency in MHz: [low, high) → band.
BAND_RANGES: tuple[tuple[int, int, str], ...] = (
    (2400, 2500, "2g4"),
    (4900, 5925, "5g"),
    (5925, 7125, "6g"),
)


@dataclass(frozen=True, slots=True)
class Bands:
    """Which radio band each row is on, from another column of the same index: a text
    label (``labels``) or a frequency in MHz (:data:`BAND_RANGES`). ``metrics`` names the
    per-band metric for each band; a band without one is simply not split out."""

    column: str
    labels: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, str] = field(default_factory=lambda: dict(CLIENT_BANDS))


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """A metric from table column(s): ``offset + scale * reduce(rows)``.

    Several ``oid`` columns are reduced together (``sum`` of ifInErrors and ifOutErrors);
    ``count_rows``/``count_distinct`` read the first. ``width`` marks a byte counter of
    that many bits, whose rates the poller derives (see :data:`RATE_SIDES`).
    """

    oid: str | tuple[str, ...]
    reduce: Reduce = "sum"
    scale: float = 1.0
    offset: float = 0.0
    where: RowFilter | None = None
    bands: Bands | None = None
    if_missing: IfMissing = "error"
    width: Literal[32, 64] | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.oid,) if isinstance(self.oid, str) else self.oid


@dataclass(frozen=True, slots=True)
class ScalarSpec:
    """A metric from one scalar: ``offset + scale * value`` (``oid`` is the object or
    its ``.0`` instance; it is asked by GETNEXT as a non-repeater)."""

    oid: str
    scale: float = 1.0
    offset: float = 0.0
    if_missing: IfMissing = "error"


@dataclass(frozen=True, slots=True)
class PercentSpec:
    """A percentage ``100 * Σpart / Σwhole`` (``100 -`` that with ``complement``), over
    scalars or over the rows of columns (rows kept by ``where``, rows lacking a cell
    skipped). Memory: used/size of the RAM rows of hrStorageTable, or UCD's
    1 - (avail + buffers + cached)/total."""

    part: tuple[str, ...]
    whole: tuple[str, ...]
    over: Literal["scalars", "rows"]
    where: RowFilter | None = None
    complement: bool = False
    if_missing: IfMissing = "error"


Spec = ColumnSpec | ScalarSpec | PercentSpec

IEEE80211 = 71  # IANAifType of a Wi-Fi interface


@dataclass(frozen=True, slots=True)
class InterfaceSelect:
    """The IF-MIB interfaces that carry the wireless side: by ifType (empty: any type)
    and, if ``descr`` is set, by a regex searched in ifDescr. Their octet counters,
    summed, give wlan_rx_bytes/wlan_tx_bytes when the profile has no vendor columns."""

    if_types: tuple[int, ...] = (IEEE80211,)
    descr: str | None = None


# Counter pairs whose rates the poller derives, besides the uplink's rx/tx_bytes:
# side name → (rx counter, tx counter, rx rate, tx rate).
RATE_SIDES: dict[str, tuple[str, str, str, str]] = {
    "wlan": ("wlan_rx_bytes", "wlan_tx_bytes", "wlan_rx_bps", "wlan_tx_bps"),
}

# --- standard fragments profiles include -------------------------------------------------

HR_PROCESSOR_LOAD = "1.3.6.1.2.1.25.3.3.1.2"
HR_STORAGE_TYPE = "1.3.6.1.2.1.25.2.3.1.2"
HR_STORAGE_SIZE = "1.3.6.1.2.1.25.2.3.1.5"
HR_STORAGE_USED = "1.3.6.1.2.1.25.2.3.1.6"
HR_STORAGE_RAM = "1.3.6.1.2.1.25.2.1.2"
IF_IN_ERRORS = "1.3.6.1.2.1.2.2.1.14"
IF_OUT_ERRORS = "1.3.6.1.2.1.2.2.1.20"
UCD_MEM_TOTAL_REAL = "1.3.6.1.4.1.2021.4.5.0"
UCD_MEM_AVAIL_REAL = "1.3.6.1.4.1.2021.4.6.0"
UCD_MEM_BUFFER = "1.3.6.1.4.1.2021.4.14.0"
UCD_MEM_CACHED = "1.3.6.1.4.1.2021.4.15.0"
UCD_SS_CPU_IDLE = "1.3.6.1.4.1.2021.11.11.0"


def interface_errors() -> dict[str, Spec]:
    """IF-MIB errors, summed over interfaces; every profile has them (optional: a device
    without the columns just lacks the metric)."""
    return {
        "if_errors": ColumnSpec((IF_IN_ERRORS, IF_OUT_ERRORS), reduce="sum", if_missing="absent")
    }


def host_resources(if_missing: IfMissing = "absent") -> dict[str, Spec]:
    """HOST-RESOURCES-MIB CPU (mean hrProcessorLoad) and memory (used/size of the
    hrStorageRam rows; allocation units cancel within a row)."""
    return {
        "cpu_pct": ColumnSpec(HR_PROCESSOR_LOAD, reduce="mean", if_missing=if_missing),
        "mem_pct": PercentSpec(
            part=(HR_STORAGE_USED,),
            whole=(HR_STORAGE_SIZE,),
            over="rows",
            where=RowFilter(HR_STORAGE_TYPE, HR_STORAGE_RAM),
            if_missing=if_missing,
        ),
    }


def ucd(if_missing: IfMissing = "error") -> dict[str, Spec]:
    """net-snmp's UCD-SNMP-MIB: CPU from ssCpuIdle, memory without what the kernel gives
    back (buffers and page cache), as HOST-RESOURCES counts it: Linux fills free RAM with
    cache, and a mem_pct that includes it would alarm on every healthy AP."""
    return {
        "cpu_pct": ScalarSpec(UCD_SS_CPU_IDLE, scale=-1.0, offset=100.0, if_missing=if_missing),
        "mem_pct": PercentSpec(
            part=(UCD_MEM_AVAIL_REAL, UCD_MEM_BUFFER, UCD_MEM_CACHED),
            whole=(UCD_MEM_TOTAL_REAL,),
            over="scalars",
            complement=True,
            if_missing=if_missing,
        ),
    }


# --- the plan: what to ask, worked out once per profile ----------------------------------

SYS_UPTIME = "1.3.6.1.2.1.1.3"  # a non-repeater asks GETNEXT: answers sysUpTime.0
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_TYPE = "1.3.6.1.2.1.2.2.1.3"
IF_SPEED = "1.3.6.1.2.1.2.2.1.5"
IF_IN_OCTETS = "1.3.6.1.2.1.2.2.1.10"
IF_OUT_OCTETS = "1.3.6.1.2.1.2.2.1.16"
IF_HC_IN_OCTETS = "1.3.6.1.2.1.31.1.1.1.6"
IF_HC_OUT_OCTETS = "1.3.6.1.2.1.31.1.1.1.10"
IF_HIGH_SPEED = "1.3.6.1.2.1.31.1.1.1.15"


@dataclass(frozen=True, slots=True)
class Counters:
    """Which IF-MIB columns carry interface octets and speed, and their width."""

    width: Literal[32, 64]
    rx: str
    tx: str
    speed: str
    speed_scale: int  # to bit/s


HC_COUNTERS = Counters(64, IF_HC_IN_OCTETS, IF_HC_OUT_OCTETS, IF_HIGH_SPEED, 1_000_000)
COUNTERS_32 = Counters(32, IF_IN_OCTETS, IF_OUT_OCTETS, IF_SPEED, 1)


def scalar_object(oid: str) -> str:
    """The object a scalar instance belongs to: GETNEXT on it answers the instance."""
    return oid[:-2] if oid.endswith(".0") else oid


@dataclass(frozen=True, slots=True)
class Plan:
    """One profile's request: non-repeaters and the columns walked in lock-step, each
    listed once however many metrics read it."""

    scalars: tuple[str, ...]
    columns: tuple[str, ...]
    counters: Counters
    fallback_columns: tuple[str, ...]  # asked when an ``hc`` device has no ifXTable
    descr_re: re.Pattern[str] | None
    # Columns whose rows come and go between polls (sessions): always walked, never read
    # from a remembered layout. A row count is only right from a walk.
    dynamic_columns: tuple[str, ...] = ()


def _spec_oids(spec: Spec) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(scalar objects, columns) a spec reads."""
    if isinstance(spec, ScalarSpec):
        return (scalar_object(spec.oid),), ()
    if isinstance(spec, ColumnSpec):
        cols = list(spec.columns)
        if spec.where is not None:
            cols.append(spec.where.column)
        if spec.bands is not None:
            cols.append(spec.bands.column)
        return (), tuple(cols)
    if spec.over == "scalars":
        return tuple(scalar_object(o) for o in (*spec.part, *spec.whole)), ()
    cols = [*spec.part, *spec.whole]
    if spec.where is not None:
        cols.append(spec.where.column)
    return (), tuple(cols)


def _unique(oids: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(oids))


# --- the profile -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    # Detection: any sysObjectID prefix or any sysDescr regex (searched) matches.
    sys_object_ids: tuple[str, ...] = ()
    sys_descr_patterns: tuple[str, ...] = ()
    # Vendor and standard-fragment metrics: vocabulary name → where it comes from.
    metrics: Mapping[str, Spec] = field(default_factory=dict, hash=False)
    # The wireless side as IF-MIB interfaces, when ``metrics`` has no wlan byte columns.
    wlan_interfaces: InterfaceSelect | None = None
    # "hc": ifHC* (Counter64), falling back to 32-bit ifIn/OutOctets on a device without
    # ifXTable (a second walk). "32": the family never has ifXTable (airOS): ask the
    # 32-bit columns at once and save that round-trip on every poll.
    if_counters: Literal["hc", "32"] = "hc"
    description: str = ""
    _descr_res: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _plan: Plan = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.metrics) - set(AP_METRICS))
        if unknown:
            raise ValueError(f"profile {self.name}: not in the vocabulary: {unknown}")
        for name, spec in self.metrics.items():
            if spec.if_missing == "zero" and not (
                isinstance(spec, ColumnSpec) and spec.reduce in ("count_rows", "count_distinct")
            ):
                raise ValueError(f"profile {self.name}: {name}: only row counts can be zero")
        compiled = tuple(re.compile(p) for p in self.sys_descr_patterns)
        object.__setattr__(self, "_descr_res", compiled)
        object.__setattr__(self, "_plan", self._make_plan())

    def _make_plan(self) -> Plan:
        counters = COUNTERS_32 if self.if_counters == "32" else HC_COUNTERS
        scalars = [SYS_UPTIME]
        columns = [IF_TYPE, counters.speed, counters.rx, counters.tx]
        descr_re = None
        select = self.wlan_interfaces
        if select is not None and select.descr is not None:
            descr_re = re.compile(select.descr)
            columns.append(IF_DESCR)
        dynamic: list[str] = []
        for spec in self.metrics.values():
            more_scalars, more_columns = _spec_oids(spec)
            scalars.extend(more_scalars)
            columns.extend(more_columns)
            if isinstance(spec, ColumnSpec) and spec.reduce in ("count_rows", "count_distinct"):
                dynamic.extend(more_columns)
        return Plan(
            scalars=_unique(scalars),
            columns=_unique(columns),
            counters=counters,
            fallback_columns=(IF_SPEED, IF_IN_OCTETS, IF_OUT_OCTETS),
            descr_re=descr_re,
            dynamic_columns=_unique(dynamic),
        )

    @property
    def plan(self) -> Plan:
        return self._plan

    def provides(self, metric: str) -> bool:
        """Whether polls with this profile can produce ``metric`` (if the device answers)."""
        return metric in self.metrics or any(
            isinstance(spec, ColumnSpec)
            and spec.bands is not None
            and metric in spec.bands.metrics.values()
            for spec in self.metrics.values()
        )

    @property
    def client_columns(self) -> tuple[str, ...]:
        """The columns the client count comes from (empty: this profile has none)."""
        spec = self.metrics.get("clients")
        return spec.columns if isinstance(spec, ColumnSpec) else ()

    def matches(self, sys_object_id: str, sys_descr: str) -> bool:
        oid = sys_object_id.lstrip(".")
        if any(oid == p or oid.startswith(p + ".") for p in self.sys_object_ids):
            return True
        return any(r.search(sys_descr) for r in self._descr_res)


_registry: dict[str, Profile] = {}
_vendor_modules: dict[str, ModuleType] = {}  # profile name -> the vendor module defining it


def _load() -> dict[str, Profile]:
    if not _registry:
        for module_name in VENDOR_MODULES:
            module = importlib.import_module(module_name)
            profile: Profile = module.PROFILE
            _registry[profile.name] = profile
            _vendor_modules[profile.name] = module
    return _registry


def register(profile: Profile) -> None:
    """Add or replace a profile (plugins, tests)."""
    _load()[profile.name] = profile


def names() -> list[str]:
    return sorted(_load())


def get(name: str) -> Profile:
    """The profile of that name; ConfigError naming the known ones for any other name
    (polling an unknown vendor as ``generic`` would hide a typo behind absent metrics)."""
    profiles = _load()
    profile = profiles.get(name)
    if profile is None:
        raise ConfigError(f"unknown profile {name!r}; known: {', '.join(sorted(profiles))}")
    return profile


def vendor_attribute(name: str, attribute: str) -> object | None:
    """What the vendor module of profile ``name`` defines as ``attribute`` (its
    ``SSH_PROFILE``, say); None when it defines none or no vendor module has that profile."""
    _load()
    module = _vendor_modules.get(name)
    return getattr(module, attribute, None) if module is not None else None


def detect(sys_object_id: str, sys_descr: str) -> Profile:
    """The first vendor profile that recognises the device, else ``generic``."""
    profiles = _load()
    for profile in profiles.values():
        if profile.name != GENERIC and profile.matches(sys_object_id, sys_descr):
            return profile
    return profiles[GENERIC]
