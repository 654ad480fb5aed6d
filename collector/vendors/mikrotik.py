"""MikroTik RouterOS (MIKROTIK-MIB, enterprise 14988)."""

from collector.profiles import Profile

PROFILE = Profile(
    name="mikrotik",
    sys_object_ids=("1.3.6.1.4.1.14988",),
    sys_descr_patterns=(r"^RouterOS\b",),
    # mtxrWlApClientCount, one row per wireless interface
    client_columns=("1.3.6.1.4.1.14988.1.1.1.3.1.6",),
    description="MikroTik RouterOS wireless AP",
)
