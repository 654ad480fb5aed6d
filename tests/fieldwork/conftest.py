"""A one-site city for the field-work tests: site s-1 with two enabled APs (ap-1, ap-2)
and a disabled one (ap-3), a citizen_reported incident on it, a team t-1 whose member is
the technician "tech", and a second team t-2 with "other"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from core.access import Role
from core.incidents import IncidentClass, Responsible
from inventory import incidents, work_orders
from inventory.accounts import create_user
from inventory.db import open_inventory, transaction
from inventory.models import AccessPoint, ApStatus, CredentialProfile, District, Site

NOW = 1_767_225_600.0


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_inventory(database_url, create=True)
    with transaction(engine) as s:
        s.add(District(id="d-1", name="One"))
        s.add(CredentialProfile(id="c-1", snmp_version="2c"))
        s.flush()
        s.add(
            Site(
                id="s-1", name="Taman Kota", lat=-6.2, lon=106.8, district_id="d-1",
                kind="park", coverage_radius_m=80.0, status="active",
            )
        )  # fmt: skip
        s.flush()
        for ap_id, enabled in (("ap-1", True), ("ap-2", True), ("ap-3", False)):
            s.add(
                AccessPoint(
                    id=ap_id, site_id="s-1", name=ap_id, host="127.0.0.1", snmp_port=161,
                    ssh_port=22, profile="auto", credential_id="c-1", enabled=enabled,
                )
            )  # fmt: skip
        s.flush()
        for ap_id in ("ap-1", "ap-2", "ap-3"):
            s.add(ApStatus(ap_id=ap_id, state="down", since=NOW - 900))
        incidents.open_incident(
            s, kind=IncidentClass.CITIZEN_REPORTED, scope_id="s-1", district_id="d-1",
            aps={"ap-1": "s-1", "ap-2": "s-1"}, explanation="citizens report: no signal",
            now=NOW - 800,
        )  # fmt: skip
        for name in ("tech", "other"):
            create_user(s, name, Role.FIELD, now=NOW)
        for team, member in (("t-1", "tech"), ("t-2", "other")):
            work_orders.create_team(s, team_id=team, name=team, responsible=Responsible.NOC)
            work_orders.set_members(s, team, [member])
    yield engine
    engine.dispose()
