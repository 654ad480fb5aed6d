"""Any SNMP device: system group and IF-MIB only, no client count."""

from collector.profiles import GENERIC, Profile

PROFILE = Profile(name=GENERIC, description="SNMPv2-MIB and IF-MIB only")
