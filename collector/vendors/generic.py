"""Any SNMP device: system group, IF-MIB and, if it answers them, HOST-RESOURCES CPU and
memory. No client count: no standard MIB has one. The wireless side is its ieee80211
(ifType 71) interfaces, if it has any."""

from collector.profiles import GENERIC, InterfaceSelect, Profile, host_resources, interface_errors

PROFILE = Profile(
    name=GENERIC,
    metrics={**interface_errors(), **host_resources(if_missing="absent")},
    wlan_interfaces=InterfaceSelect(),
    description="SNMPv2-MIB, IF-MIB and (optional) HOST-RESOURCES-MIB only",
)
