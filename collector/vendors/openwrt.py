"""OpenWrt with net-snmp: net-snmp's generic Linux sysObjectID, so recognised by sysDescr.

net-snmp on OpenWrt has no wireless MIB, so there is no client count over SNMP (none, not
zero): the count comes over SSH (``iwinfo``), which the SNMP profile cannot express.
"""

from collector.profiles import Profile

PROFILE = Profile(
    name="openwrt",
    sys_descr_patterns=(r"\bOpenWrt\b",),
    description="OpenWrt (net-snmp): IF-MIB, HOST-RESOURCES, UCD-SNMP-MIB; no client count",
)
