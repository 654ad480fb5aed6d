"""MikroTik RouterOS (MIKROTIK-MIB, enterprise 14988).

Clients: mtxrWlApClientCount per wireless interface, split by band with mtxrWlApFreq
(MHz) of the same row. Hotspot: the active-users table has no count scalar, so its user
name column is walked and counted (rows = sessions, distinct names = users); a hotspot
with nobody logged in is an empty table, a true zero. Wireless bytes: the wlanN
interfaces (ifType 71) of IF-MIB. CPU and memory: HOST-RESOURCES (RouterOS has it).
"""

from collector.profiles import (
    Bands,
    ColumnSpec,
    InterfaceSelect,
    Profile,
    host_resources,
    interface_errors,
)

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
