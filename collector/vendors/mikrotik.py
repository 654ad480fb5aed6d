"""MikroTik RouterOS (MIKROTIK-MIB, enterprise 14988).

Clients: mtxrWlApClientCount per wireless interface, split by band with mtxrWlApFreq
(MHz) of the same row. Hotspot: the active-users table has no count scalar, so its user
name column is walked and counted (rows = sessions, distinct names = users); a hotspot
with nobody logged in is an empty table, a true zero. Wireless bytes: the wlanN
interfaces (ifType 71) of IF-MIB. CPU and memory: HOST-RESOURCES (RouterOS has it).

Over SSH (RouterOS CLI): ``/ip hotspot active print count-only`` is read only when SNMP
did not already give ``hotspot_sessions`` (MIKROTIK-MIB has no count scalar, so some
firmware lacks it). The registration-table count is compared with SNMP's client count,
never written: SNMP is the source of record and two sources for one series would make it
jump.
"""

from __future__ import annotations

from collector.profiles import (
    Bands,
    ColumnSpec,
    InterfaceSelect,
    Profile,
    host_resources,
    interface_errors,
)
from collector.ssh_poll import SshCommand, SshProfile, parse_count

MTXR_WL_AP = "1.3.6.1.4.1.14988.1.1.1.3.1"  # mtxrWlApTable entry, indexed by ifIndex
HOTSPOT_ACTIVE = "1.3.6.1.4.1.14988.1.1.5.1.1"  # mtxrHotspotActiveUserTable entry

PROFILE = Profile(
    name="mikrotik",
    sys_object_ids=("1.3.6.1.4.1.14988",),
    sys_descr_patterns=(r"^RouterOS\b",),
    metrics={
        **interface_errors(),
        **host_resources(if_missing="error"),
        # mtxrWlApClientCount; band from mtxrWlApFreq
        "clients": ColumnSpec(f"{MTXR_WL_AP}.6", bands=Bands(f"{MTXR_WL_AP}.7")),
        # mtxrHlActiveUserName, one row per session
        "hotspot_sessions": ColumnSpec(
            f"{HOTSPOT_ACTIVE}.3", reduce="count_rows", if_missing="zero"
        ),
        "hotspot_users": ColumnSpec(
            f"{HOTSPOT_ACTIVE}.3", reduce="count_distinct", if_missing="zero"
        ),
    },
    wlan_interfaces=InterfaceSelect(),
    description="MikroTik RouterOS wireless AP",
)

# --- SSH -----------------------------------------------------------------------------------


def hotspot_sessions(text: str) -> dict[str, float]:
    return {"hotspot_sessions": float(parse_count(text))}


def registrations(text: str) -> dict[str, float]:
    return {"clients": float(parse_count(text))}


SSH_PROFILE = SshProfile(
    name="mikrotik",
    device_type="mikrotik_routeros",
    commands=(
        SshCommand(
            "/ip hotspot active print count-only", hotspot_sessions, unless_snmp="hotspot_sessions"
        ),
        SshCommand(
            "/interface wireless registration-table print count-only",
            registrations,
            cross_check=True,
        ),
    ),
)
