"""``citywifi field teams create|list|members`` and ``field orders list`` on the server:
the rules of inventory.work_orders as one-line errors, every change audited as
cli:<os user>."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from citywifi.cli import app
from citywifi.command import cli_actor
from core.access import Role
from core.incidents import IncidentClass
from core.settings import Settings
from fieldwork import orders
from inventory import incidents
from inventory.accounts import create_user
from inventory.db import open_inventory, transaction
from inventory.models import AuditEntry, District, Site

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, database_url: str) -> Path:
    return tmp_path / "state"


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    engine = open_inventory(Settings(data_dir=data_dir).db_url, create=True)
    with transaction(engine) as session:
        session.add(District(id="d-1", name="One"))
        session.flush()
        session.add(
            Site(
                id="s-1", name="Square", lat=0.0, lon=0.0, district_id="d-1", kind="park",
                coverage_radius_m=50.0, status="active",
            )
        )  # fmt: skip
        create_user(session, "tech", Role.FIELD, now=1.0)
    yield engine
    engine.dispose()


def run(data_dir: Path, *args: str) -> Result:
    return runner.invoke(app, ["--data-dir", str(data_dir), "field", *args])


def test_teams_and_orders(engine: Engine, data_dir: Path) -> None:
    made = run(data_dir, "teams", "create", "t-1", "--name", "City crew", "--district", "d-1")
    assert made.exit_code == 0, made.output
    bad = run(data_dir, "teams", "create", "t-2", "--name", "X", "--district", "d-9")
    assert bad.exit_code == 1 and "district_id: no district with id 'd-9'" in bad.output
    assert run(data_dir, "teams", "members", "t-1", "nobody").exit_code == 1
    set_ = run(data_dir, "teams", "members", "t-1", "tech")
    assert set_.exit_code == 0 and set_.stdout.split() == ["tech"]
    listed = run(data_dir, "teams", "list")
    assert listed.stdout.splitlines()[1].split() == [
        "t-1",
        "City",
        "crew",
        "noc",
        "d-1",
        "-",
        "tech",
    ]
    with transaction(engine) as s:
        incident = incidents.open_incident(
            s, kind=IncidentClass.CITIZEN_REPORTED, scope_id="s-1", district_id="d-1",
            aps={}, explanation="citizens report", now=10.0,
        )  # fmt: skip
        orders.create(s, incident_id=incident, site_id=None, team_id="t-1", note=None,
                      actor="eng", now=20.0)  # fmt: skip
    shown = run(data_dir, "orders", "list", "--open")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[1].split()[:5] == ["1", "assigned", "1", "s-1", "t-1"]
    with Session(engine) as s:
        rows = s.execute(select(AuditEntry.action, AuditEntry.actor, AuditEntry.target)).all()
    assert [tuple(r) for r in rows] == [
        ("field_team_changed", cli_actor(), "field team t-1"),
        ("field_team_changed", cli_actor(), "field team t-1"),
    ]
