"""MikroTik RouterOS over SSH: the hotspot session count and a client-count cross-check.

``/ip hotspot active print count-only`` is read only when SNMP did not already give
``hotspot_sessions`` (MIKROTIK-MIB has no count scalar, so some firmware lacks it). The
registration-table count is compared with SNMP's client count, never written: SNMP is the
source of record and two sources for one series would make it jump.
"""

from __future__ import annotations

from collector.ssh_poll import SshCommand, SshProfile, parse_count


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
