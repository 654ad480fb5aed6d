"""Vendor profiles: what to ask a device and how to recognise it, as data.

A profile names the OIDs that carry vendor-specific metrics; everything standard (system
group, IF-MIB) is asked of every device by the generic poller. Profiles live in vendor
modules listed in :data:`VENDOR_MODULES` and are loaded by name, so the collector core
never imports a vendor module and a new vendor is one data file (snmp_exporter's modules).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field

GENERIC = "generic"
AUTO = "auto"

# Modules that each define ``PROFILE``; loaded lazily, in this order for detection.
VENDOR_MODULES: tuple[str, ...] = (
    "collector.vendors.mikrotik",
    "collector.vendors.unifi",
    "collector.vendors.airmax",
    "collector.vendors.openwrt",
    "collector.vendors.generic",
)


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    # Detection: any sysObjectID prefix or any sysDescr regex (searched) matches.
    sys_object_ids: tuple[str, ...] = ()
    sys_descr_patterns: tuple[str, ...] = ()
    # Table columns whose values, summed over rows, give the wireless client count.
    client_columns: tuple[str, ...] = ()
    description: str = ""
    _descr_res: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = tuple(re.compile(p) for p in self.sys_descr_patterns)
        object.__setattr__(self, "_descr_res", compiled)

    def matches(self, sys_object_id: str, sys_descr: str) -> bool:
        oid = sys_object_id.lstrip(".")
        if any(oid == p or oid.startswith(p + ".") for p in self.sys_object_ids):
            return True
        return any(r.search(sys_descr) for r in self._descr_res)


_registry: dict[str, Profile] = {}


def _load() -> dict[str, Profile]:
    if not _registry:
        for module_name in VENDOR_MODULES:
            profile: Profile = importlib.import_module(module_name).PROFILE
            _registry[profile.name] = profile
    return _registry


def register(profile: Profile) -> None:
    """Add or replace a profile (plugins, tests)."""
    _load()[profile.name] = profile


def names() -> list[str]:
    return sorted(_load())


def get(name: str) -> Profile:
    """The profile of that name; unknown names fall back to ``generic``."""
    profiles = _load()
    return profiles.get(name, profiles[GENERIC])


def detect(sys_object_id: str, sys_descr: str) -> Profile:
    """The first vendor profile that recognises the device, else ``generic``."""
    profiles = _load()
    for profile in profiles.values():
        if profile.name != GENERIC and profile.matches(sys_object_id, sys_descr):
            return profile
    return profiles[GENERIC]
