"""The one place where the file shape and the table columns meet, in both directions.

Import and export both go through here, so a field added to the schema has one obvious
place to be mapped and the round trip ``import(export(x)) == x`` stays easy to keep.
Device secrets cross here too: sealed on the way in (:mod:`inventory.secretbox`), opened
on the way out only when the export asks for them.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, SecretStr

from inventory.models import (
    AccessPoint,
    CredentialProfile,
    DemandPoint,
    District,
    Partner,
    Site,
    Uplink,
)
from inventory.schemas import (
    ApIn,
    CredentialIn,
    DemandPointIn,
    DistrictIn,
    PartnerIn,
    SiteIn,
    SnmpV2c,
    UplinkIn,
)
from inventory.secretbox import SecretBox

Columns = dict[str, Any]

Table = Partner | District | CredentialProfile | Uplink | Site | AccessPoint | DemandPoint

TABLES: dict[str, type[Table]] = {
    "partners": Partner,
    "districts": District,
    "credentials": CredentialProfile,
    "uplinks": Uplink,
    "sites": Site,
    "aps": AccessPoint,
    "demand": DemandPoint,
}

IMPORTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "partners": ("id", "name", "sla_target_pct", "report_to"),
    # A row without a boundary leaves the stored one alone (see to_columns), so importing
    # the YAML after the districts GeoJSON does not wipe the boundaries.
    "districts": ("id", "name", "boundary_geojson"),
    "credentials": tuple(c.key for c in CredentialProfile.__table__.columns),
    "uplinks": tuple(c.key for c in Uplink.__table__.columns),
    "sites": tuple(c.key for c in Site.__table__.columns),
    "aps": tuple(c.key for c in AccessPoint.__table__.columns),
    "demand": tuple(c.key for c in DemandPoint.__table__.columns),
}
"""The columns an import owns; an update writes exactly these, so nothing stale survives."""


def to_columns(section: str, item: BaseModel, box: SecretBox) -> Columns:
    """The columns an imported item sets; credential secrets sealed with ``box``."""
    if isinstance(item, PartnerIn):
        return {
            "id": item.id,
            "name": item.name,
            "sla_target_pct": item.sla_target_pct,
            "report_to": ", ".join(item.report_to) if item.report_to else None,
        }
    if isinstance(item, DistrictIn):
        columns: Columns = {"id": item.id, "name": item.name}
        if item.boundary is not None:
            columns["boundary_geojson"] = json.dumps(item.boundary, separators=(",", ":"))
        return columns
    if isinstance(item, UplinkIn):
        return item.model_dump()
    if isinstance(item, DemandPointIn):
        return {**item.model_dump(exclude={"district"}), "district_id": item.district}
    if isinstance(item, CredentialIn):
        return _credential_columns(item, box)
    if isinstance(item, SiteIn):
        values = item.model_dump(exclude={"district", "partner", "uplink"})
        return {
            **values,
            "district_id": item.district,
            "partner_id": item.partner,
            "uplink_id": item.uplink,
        }
    if isinstance(item, ApIn):
        values = item.model_dump(exclude={"site", "credentials"})
        return {**values, "site_id": item.site, "credential_id": item.credentials}
    raise TypeError(f"no columns for {section}: {type(item).__name__}")


def _credential_columns(item: CredentialIn, box: SecretBox) -> Columns:
    # Every column is set, None where it does not apply: a profile moved from v2c to v3
    # must not keep its old community (and the other way round). A secret the file omits
    # (an export without secrets) is left out of the columns, so the stored one is kept;
    # validation made sure there is one.
    ssh = item.ssh

    def secret(name: str, value: SecretStr | None) -> None:
        if value is None:
            del columns[name]
        else:
            columns[name] = box.seal(value.get_secret_value())

    columns: Columns = {
        "id": item.id,
        "snmp_version": item.snmp.version,
        "snmp_community": None,
        "snmp_user": None,
        "snmp_auth_protocol": None,
        "snmp_auth_key": None,
        "snmp_priv_protocol": None,
        "snmp_priv_key": None,
        "ssh_username": ssh.username if ssh else None,
        "ssh_password": None,
        "ssh_key_file": ssh.key_file if ssh else None,
        "radius_secret": None,
    }
    if ssh is not None and ssh.key_file is None:
        secret("ssh_password", ssh.password)
    if item.radius is not None:
        secret("radius_secret", item.radius.secret)
    if isinstance(item.snmp, SnmpV2c):
        secret("snmp_community", item.snmp.community)
    else:
        columns["snmp_user"] = item.snmp.user
        columns["snmp_auth_protocol"] = item.snmp.auth_protocol
        secret("snmp_auth_key", item.snmp.auth_key)
        columns["snmp_priv_protocol"] = item.snmp.priv_protocol
        secret("snmp_priv_key", item.snmp.priv_key)
    return columns


# --- back to the file shape (export) ----------------------------------------------------


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def partner_doc(row: Partner) -> dict[str, Any]:
    """The SLA target and report addresses only when set: a partner without them exports
    as before."""
    doc: dict[str, Any] = {"id": row.id, "name": row.name}
    if row.sla_target_pct is not None:
        doc["sla_target_pct"] = row.sla_target_pct
    if row.report_to:
        doc["report_to"] = report_addresses(row.report_to)
    return doc


def report_addresses(stored: str | None) -> list[str]:
    """``partners.report_to`` as the list of addresses it holds (empty for none)."""
    return [address.strip() for address in (stored or "").split(",") if address.strip()]


def district_doc(row: District) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": row.id, "name": row.name}
    if row.boundary_geojson:
        doc["boundary"] = json.loads(row.boundary_geojson)
    return doc


def demand_doc(row: DemandPoint) -> dict[str, Any]:
    return {
        "id": row.id,
        "lat": row.lat,
        "lon": row.lon,
        "weight": row.weight,
        "district": row.district_id,
    }


def credential_doc(row: CredentialProfile, box: SecretBox | None) -> dict[str, Any]:
    """A profile in the file shape: its secrets opened with ``box``, or left out when
    ``box`` is None (an import of that keeps the stored secrets)."""

    def secret(stored: str | None) -> str | None:
        return None if box is None else box.open(stored)

    snmp: dict[str, Any]
    if row.snmp_version == "2c":
        snmp = _without_none({"version": "2c", "community": secret(row.snmp_community)})
    else:
        snmp = _without_none(
            {
                "version": row.snmp_version,
                "user": row.snmp_user,
                "auth_protocol": row.snmp_auth_protocol,
                "auth_key": secret(row.snmp_auth_key),
                "priv_protocol": row.snmp_priv_protocol,
                "priv_key": secret(row.snmp_priv_key),
            }
        )
    doc: dict[str, Any] = {"id": row.id, "snmp": snmp}
    if row.ssh_username is not None:
        doc["ssh"] = _without_none(
            {
                "username": row.ssh_username,
                "password": secret(row.ssh_password),
                "key_file": row.ssh_key_file,
            }
        )
    if row.radius_secret is not None:
        doc["radius"] = _without_none({"secret": secret(row.radius_secret)})
    return doc


def uplink_doc(row: Uplink) -> dict[str, Any]:
    """``capacity_mbps`` only when known: an uplink without one exports as before."""
    doc: dict[str, Any] = {"id": row.id, "name": row.name, "operator": row.operator}
    if row.capacity_mbps is not None:
        doc["capacity_mbps"] = row.capacity_mbps
    return doc


def site_doc(row: Site) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "lat": row.lat,
        "lon": row.lon,
        "district": row.district_id,
        "partner": row.partner_id,
        "kind": row.kind,
        "coverage_radius_m": row.coverage_radius_m,
        "status": row.status,
        "uplink": row.uplink_id,
    }


def ap_doc(row: AccessPoint) -> dict[str, Any]:
    return {
        "id": row.id,
        "site": row.site_id,
        "name": row.name,
        "host": row.host,
        "snmp_port": row.snmp_port,
        "ssh_port": row.ssh_port,
        "profile": row.profile,
        "enabled": row.enabled,
        "credentials": row.credential_id,
    }
