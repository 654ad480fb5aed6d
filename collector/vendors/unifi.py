"""Ubiquiti UniFi APs: net-snmp's sysObjectID, so recognised by sysDescr."""

from collector.profiles import Profile

PROFILE = Profile(
    name="unifi",
    sys_descr_patterns=(r"^(UAP|U6|U7|UAL|UAC)[-\w]*\s", r"(?i)\bunifi\b"),
    # unifiVapNumStations, one row per VAP (SSID per radio)
    client_columns=("1.3.6.1.4.1.41112.1.6.1.2.1.8",),
    description="Ubiquiti UniFi AP (UBNT-UniFi-MIB VAP table)",
)
