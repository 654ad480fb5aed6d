"""Incidents' words, shared by the fault engine, the database, the API and the CLI.

One definition each (like :mod:`core.states`), so the engine that opens an incident, the
table that keeps it and the API that filters on it cannot drift apart. ``StrEnum`` values
are the strings stored in SQL and sent as JSON.
"""

from __future__ import annotations

import enum


class IncidentClass(enum.StrEnum):
    """What probably broke, from the evidence the collector has (issue 10)."""

    AP_DOWN = "ap_down"  # one AP stops answering while others at its site answer
    SITE_DOWN = "site_down"  # every AP of a site stops answering at once
    UPLINK_DOWN = "uplink_down"  # the sites behind one shared uplink, together
    AREA_OUTAGE = "area_outage"  # many sites of one district within minutes (power)
    SILENT_FAILURE = "silent_failure"  # answers SNMP, no clients when it should have some
    OVERLOAD = "overload"
    BACKHAUL_SATURATED = "backhaul_saturated"
    FLAPPING = "flapping"
    UNEXPECTED_REBOOT = "unexpected_reboot"
    # A citizen says the hotspot fails (issue 16). Opened by a report, never by the
    # engine, and never resolved by it (the monitoring may see nothing wrong: that is the
    # point); merged into the engine's incident once the engine finds the cause.
    CITIZEN_REPORTED = "citizen_reported"


class IncidentState(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class IncidentScope(enum.StrEnum):
    """What an incident is about: its ``scope_id`` names one of these."""

    AP = "ap"
    SITE = "site"
    UPLINK = "uplink"
    DISTRICT = "district"


class Responsible(enum.StrEnum):
    """Who must act (configurable per class; these are the defaults' parties)."""

    NOC = "noc"  # the city's network operation centre: AP faults
    OPERATOR = "operator"  # the uplink's operator: uplink and backhaul
    UTILITY = "utility"  # the power utility: area outages
    SPONSOR = "sponsor"  # the site's sponsor: informed


class Verdict(enum.StrEnum):
    """Told on recovery from the APs' uptime: reset means they lost power, intact means
    the path to them was cut."""

    POWER = "power"
    PATH = "path"


#: Default party per class (settings may override).
RESPONSIBLE: dict[IncidentClass, Responsible] = {
    IncidentClass.AP_DOWN: Responsible.NOC,
    IncidentClass.SITE_DOWN: Responsible.NOC,
    IncidentClass.UPLINK_DOWN: Responsible.OPERATOR,
    IncidentClass.AREA_OUTAGE: Responsible.UTILITY,
    IncidentClass.SILENT_FAILURE: Responsible.NOC,
    IncidentClass.OVERLOAD: Responsible.NOC,
    IncidentClass.BACKHAUL_SATURATED: Responsible.OPERATOR,
    IncidentClass.FLAPPING: Responsible.NOC,
    IncidentClass.UNEXPECTED_REBOOT: Responsible.NOC,
    IncidentClass.CITIZEN_REPORTED: Responsible.NOC,
}

#: The scope each class is about.
SCOPE_OF: dict[IncidentClass, IncidentScope] = {
    IncidentClass.AP_DOWN: IncidentScope.AP,
    IncidentClass.SITE_DOWN: IncidentScope.SITE,
    IncidentClass.UPLINK_DOWN: IncidentScope.UPLINK,
    IncidentClass.AREA_OUTAGE: IncidentScope.DISTRICT,
    IncidentClass.SILENT_FAILURE: IncidentScope.AP,
    IncidentClass.OVERLOAD: IncidentScope.AP,
    IncidentClass.BACKHAUL_SATURATED: IncidentScope.UPLINK,
    IncidentClass.FLAPPING: IncidentScope.AP,
    IncidentClass.UNEXPECTED_REBOOT: IncidentScope.AP,
    IncidentClass.CITIZEN_REPORTED: IncidentScope.SITE,
}
