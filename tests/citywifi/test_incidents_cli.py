"""``citywifi incidents``: the table of incidents, newest first, ``--open`` and ``--limit``,
and one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from citywifi.cli import app
from core.incidents import IncidentClass
from core.settings import Settings
from inventory import incidents
from inventory.db import open_inventory, transaction
from inventory.models import AccessPoint, CredentialProfile, Site

runner = CliRunner()
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@pytest.fixture
def data_dir(tmp_path: Path, database_url: str) -> Path:
    """The commands' data dir; their inventory is the run's database (``--database``)."""
    return tmp_path / "state"


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    """The inventory the command reads: two sites, three APs, three incidents (1: ap_down,
    resolved; 2: site_down s-a, acknowledged; 3: area_outage, open)."""
    engine = open_inventory(Settings(data_dir=data_dir).db_url, create=True)
    with transaction(engine) as s:
        s.add(CredentialProfile(id="cred", snmp_version="2c"))
        for site in ("s-a", "s-b"):
            s.add(
                Site(
                    id=site, name=site, lat=0.0, lon=0.0, kind="park", coverage_radius_m=50.0,
                    status="active",
                )
            )  # fmt: skip
        s.flush()
        for ap, site in (("ap-1", "s-a"), ("ap-2", "s-a"), ("ap-3", "s-b")):
            s.add(
                AccessPoint(
                    id=ap, site_id=site, name=ap, host="127.0.0.1", snmp_port=161, ssh_port=22,
                    profile="auto", credential_id="cred", enabled=True,
                )
            )  # fmt: skip
        s.flush()
        first = incidents.open_incident(
            s, kind=IncidentClass.AP_DOWN, scope_id="ap-1", district_id=None,
            aps={"ap-1": "s-a"}, explanation="ap-1 stopped answering", now=T0,
        )  # fmt: skip
        incidents.resolve(s, first, now=T0 + 60)
        second = incidents.open_incident(
            s, kind=IncidentClass.SITE_DOWN, scope_id="s-a", district_id=None,
            aps={"ap-1": "s-a", "ap-2": "s-a"}, explanation="s-a stopped answering", now=T0 + 120,
        )  # fmt: skip
        incidents.acknowledge(s, second, actor="eng", note=None, now=T0 + 130)
        incidents.open_incident(
            s, kind=IncidentClass.AREA_OUTAGE, scope_id="d-1", district_id="d-1",
            aps={"ap-1": "s-a", "ap-2": "s-a", "ap-3": "s-b"},
            explanation="2 sites in d-1 stopped answering within 60 s: likely power cut " * 3,
            now=T0 + 180,
        )  # fmt: skip
    yield engine
    engine.dispose()


def run(data_dir: Path, *args: str) -> Result:
    return runner.invoke(app, ["--data-dir", str(data_dir), "incidents", *args])


def column(result: Result, name: str) -> list[str]:
    header, *rows = result.stdout.splitlines()
    start = header.index(name)
    return [row[start:].split("  ")[0].strip() for row in rows]


def test_table_newest_first(engine: Engine, data_dir: Path) -> None:
    result = run(data_dir)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "ID", "CLASS", "SCOPE", "STATE", "OPENED", "APS", "SITES", "WHO", "EXPLANATION",
    ]  # fmt: skip
    assert column(result, "ID") == ["3", "2", "1"]
    assert column(result, "STATE") == ["open", "acknowledged", "resolved"]
    assert column(result, "SCOPE") == ["district d-1", "site s-a", "ap ap-1"]
    assert column(result, "APS") == ["3", "2", "1"]
    assert column(result, "WHO") == ["utility", "noc", "noc"]
    assert column(result, "OPENED")[-1] == "2026-01-01 00:00:00Z"
    assert lines[1].endswith("…") and len(column(result, "EXPLANATION")[0]) == 60
    assert result.stderr == ""


def test_open_and_limit(engine: Engine, data_dir: Path) -> None:
    active = run(data_dir, "--open")
    assert active.exit_code == 0, active.output
    assert column(active, "ID") == ["3", "2"]
    limited = run(data_dir, "--limit", "1")
    assert column(limited, "ID") == ["3"]
    assert limited.stderr == "showing 1 of 3 (--limit)\n"
    assert run(data_dir, "--limit", "0").exit_code == 2


def test_none(data_dir: Path) -> None:
    open_inventory(Settings(data_dir=data_dir).db_url, create=True).dispose()
    result = run(data_dir, "--open")
    assert result.exit_code == 0
    assert (result.stdout, result.stderr) == ("", "no open incidents\n")


def test_missing_inventory_is_one_line(data_dir: Path) -> None:
    result = run(data_dir)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")
