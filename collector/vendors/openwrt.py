"""OpenWrt with net-snmp: net-snmp's generic Linux sysObjectID, so recognised by sysDescr.

net-snmp on OpenWrt has no wireless MIB, so there is no client count over SNMP (none, not
zero): the count comes over SSH (``iwinfo``), which the SNMP profile cannot express.
net-snmp reports Wi-Fi interfaces as ifType 6 (from the ARP hardware type), so the
wireless side is chosen by name: wlanN (up to 22.03) or phyN-apN (23.05 on). CPU and
memory come from UCD-SNMP-MIB, which OpenWrt's net-snmp always builds in.

Over SSH (netmiko's ``linux`` driver): ``iwinfo <radio> assoclist`` is the only source of
``clients``: one station block per associated client, each starting with the station's
MAC. wlan0 is taken as the 2.4 GHz radio and wlan1 as the 5 GHz one (OpenWrt's default
radio order on dual-band boards); a board without wlan1 says "No such wireless device" and
simply contributes no 5 GHz count. ``ubus call system info`` gives memory.
"""

from __future__ import annotations

import json
import re

from collector.profiles import InterfaceSelect, Profile, interface_errors, ucd
from collector.ssh_poll import ParseError, SshCommand, SshProfile

PROFILE = Profile(
    name="openwrt",
    sys_descr_patterns=(r"\bOpenWrt\b",),
    metrics={**interface_errors(), **ucd(if_missing="error")},
    wlan_interfaces=InterfaceSelect(if_types=(), descr=r"^(wlan\d|phy\d+-(ap|mesh)\d)"),
    description="OpenWrt (net-snmp): IF-MIB, HOST-RESOURCES, UCD-SNMP-MIB; no client count",
)

# --- SSH -----------------------------------------------------------------------------------

_STATION = re.compile(r"^(?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}\s", re.M)
_NO_STATION = "No station connected"


def count_stations(text: str) -> int:
    """Stations listed by ``iwinfo wlanN assoclist``; ParseError on an error message."""
    stations = len(_STATION.findall(text))
    if stations:
        return stations
    if _NO_STATION in text:
        return 0
    raise ParseError(f"not an assoclist: {text.strip()[:80]!r}")


def radio_2g4(text: str) -> dict[str, float]:
    return {"clients_2g4": float(count_stations(text))}


def radio_5g(text: str) -> dict[str, float]:
    return {"clients_5g": float(count_stations(text))}


def memory(text: str) -> dict[str, float]:
    """mem_pct: RAM in use without buffers and page cache (the vocabulary's definition,
    the same split SNMP's hrStorage gives), as a percentage of the total."""
    start = text.find("{")
    try:
        info = json.loads(text[start:]) if start >= 0 else None
        mem = info["memory"] if isinstance(info, dict) else None
        if not isinstance(mem, dict):
            raise TypeError("no memory object")
        total = float(mem["total"])
        used = total - float(mem["free"]) - float(mem["buffered"]) - float(mem["cached"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ParseError(f"not ubus system info: {text.strip()[:80]!r}") from exc
    if total <= 0:
        raise ParseError("ubus system info: memory total is 0")
    return {"mem_pct": round(used / total * 100.0, 2)}


def total_clients(fields: dict[str, float]) -> dict[str, float]:
    radios = [fields[k] for k in ("clients_2g4", "clients_5g") if k in fields]
    return {"clients": sum(radios)} if radios else {}


SSH_PROFILE = SshProfile(
    name="openwrt",
    device_type="linux",
    commands=(
        SshCommand("iwinfo wlan0 assoclist", radio_2g4),
        SshCommand("iwinfo wlan1 assoclist", radio_5g),
        SshCommand("ubus call system info", memory),
    ),
    combine=total_clients,
)
