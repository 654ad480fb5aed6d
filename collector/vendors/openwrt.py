"""OpenWrt with net-snmp: net-snmp's generic Linux sysObjectID, so recognised by sysDescr.

net-snmp on OpenWrt has no wireless MIB, so there is no client count over SNMP (none, not
zero): the count comes over SSH (``iwinfo``), which the SNMP profile cannot express.
net-snmp reports Wi-Fi interfaces as ifType 6 (from the ARP hardware type), so the
wireless side is chosen by name: wlanN (up to 22.03) or phyN-apN (23.05 on). CPU and
memory come from UCD-SNMP-MIB, which OpenWrt's net-snmp always builds in.
"""

from collector.profiles import InterfaceSelect, Profile, interface_errors, ucd

PROFILE = Profile(
    name="openwrt",
    sys_descr_patterns=(r"\bOpenWrt\b",),
    metrics={**interface_errors(), **ucd(if_missing="error")},
    wlan_interfaces=InterfaceSelect(if_types=(), descr=r"^(wlan\d|phy\d+-(ap|mesh)\d)"),
    description="OpenWrt (net-snmp): IF-MIB, HOST-RESOURCES, UCD-SNMP-MIB; no client count",
)
