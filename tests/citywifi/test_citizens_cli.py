"""``citywifi citizen-reports import|list`` on the server: the API's import in-process
(all or nothing, a ref once, audited as cli:<os user>), one-line errors naming the file,
line and column, and a list that never prints what a citizen wrote or their number."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from citywifi.cli import app
from citywifi.command import cli_actor
from core.access import AuditAction
from core.settings import Settings
from inventory.db import open_inventory, transaction
from inventory.models import (
    AuditEntry,
    CitizenReport,
    Incident,
)
from inventory.secretbox import load_box
from tests.citizens.city import seed_square
from tests.fixtures.secret_scan import PersonalData

runner = CliRunner()
LAT, LON = -6.2, 106.8
PHONE_TYPED, PHONE = "0812 7000 9911", "081270009911"
TEXT = "the light on the box is red"
HEADER = "ref,received_at,lat,lon,site,problem,text,phone\n"


@pytest.fixture
def data_dir(tmp_path: Path, database_url: str) -> Path:
    """The commands' data dir; their inventory is the run's database (``--database``)."""
    return tmp_path / "state"


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    """Site s-1 at LAT/LON (radius 80 m, one enabled AP), and the data dir's key (made
    here: the commands would say so on stderr)."""
    settings = Settings(data_dir=data_dir)
    load_box(settings)
    engine = open_inventory(settings.db_url, create=True)
    with transaction(engine) as session:
        seed_square(session, LAT, LON)
    yield engine
    engine.dispose()


@pytest.fixture
def reports_csv(tmp_path: Path, personal_data: PersonalData) -> Path:
    personal_data.names([PHONE_TYPED, PHONE, TEXT])
    path = tmp_path / "reports.csv"
    path.write_text(
        HEADER
        + f"H-1,2025-12-31T10:00:00+07:00,{LAT},{LON},,no_signal,{TEXT},{PHONE_TYPED}\n"
        + f"H-2,,{LAT + 1},{LON},,slow,,\n"
    )
    return path


def run(data_dir: Path, *args: str) -> Result:
    return runner.invoke(app, ["--data-dir", str(data_dir), "citizen-reports", *args])


def stored(engine: Engine) -> list[CitizenReport]:
    with Session(engine) as session:
        return list(session.scalars(select(CitizenReport).order_by(CitizenReport.id)))


def audit_rows(engine: Engine) -> list[tuple[str, str, str | None, str | None]]:
    with Session(engine) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(r.action, r.actor, r.target, r.detail) for r in rows]


def test_import_files_once_and_audits(engine: Engine, data_dir: Path, reports_csv: Path) -> None:
    result = run(data_dir, "import", str(reports_csv))
    assert result.exit_code == 0, result.output
    first, far = stored(engine)
    assert result.stdout == (
        f"{reports_csv}: 2 filed, 0 skipped (imported before), 1 unmatched; "
        f"report {first.id}..{far.id}\n"
    )
    assert (first.external_ref, first.site_id, first.match, first.channel) == (
        "H-1", "s-1", "opened", "import",
    )  # fmt: skip
    assert first.received_at == 1_767_150_000.0  # 2025-12-31T03:00:00Z
    assert first.filed_by == cli_actor()
    assert first.phone_sealed and PHONE not in first.phone_sealed
    assert (far.match, far.incident_id) == ("unmatched", None)
    with Session(engine) as session:
        incident = session.get(Incident, first.incident_id)
        assert incident is not None and incident.kind == "citizen_reported"
    summary = (
        f"reports.csv: 2 filed, 0 skipped (imported before), 1 unmatched; "
        f"report {first.id}..{far.id}"
    )
    action = AuditAction.CITIZEN_REPORTS_IMPORTED.value
    assert audit_rows(engine) == [(action, cli_actor(), "citizen reports reports.csv", summary)]

    again = run(data_dir, "import", str(reports_csv))
    assert again.exit_code == 0, again.output
    assert again.stdout == f"{reports_csv}: 0 filed, 2 skipped (imported before), 0 unmatched\n"
    assert len(stored(engine)) == 2


def test_json_by_extension_or_by_format(engine: Engine, data_dir: Path, tmp_path: Path) -> None:
    rows = [{"ref": "J-1", "site": "s-1", "problem": "damaged"}]
    (tmp_path / "a.json").write_text(json.dumps(rows))
    (tmp_path / "b.export").write_text(json.dumps([{**rows[0], "ref": "J-2"}]))
    assert run(data_dir, "import", str(tmp_path / "a.json")).exit_code == 0
    by_option = run(data_dir, "import", "--format", "json", str(tmp_path / "b.export"))
    assert by_option.exit_code == 0, by_option.output
    assert [r.external_ref for r in stored(engine)] == ["J-1", "J-2"]
    guessed = run(data_dir, "import", str(tmp_path / "b.export"))
    assert guessed.exit_code == 2
    assert guessed.stderr == f"error: {tmp_path / 'b.export'}: say --format csv or --format json\n"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("H-3,,,,s-1,melted,,", "reports.csv:4: column problem: 'melted' is not one of"),
        ("H-3,,,,s-9,slow,,", "reports.csv:4: column site: site 's-9' is not an active hotspot"),
        ("H-3,,,,s-1,slow,,12", "reports.csv:4: column phone: a phone number has 6 to 16"),
    ],
)
def test_a_bad_line_is_one_error_line_and_nothing_is_filed(
    engine: Engine, data_dir: Path, reports_csv: Path, line: str, message: str
) -> None:
    reports_csv.write_text(reports_csv.read_text() + line + "\n")
    result = run(data_dir, "import", str(reports_csv))
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: {reports_csv.parent}/{message}")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert stored(engine) == [] and audit_rows(engine) == []


def test_a_missing_file_is_one_line(engine: Engine, data_dir: Path, tmp_path: Path) -> None:
    result = run(data_dir, "import", str(tmp_path / "none.csv"))
    assert result.exit_code == 1
    assert result.stderr == f"error: No such file or directory: {tmp_path / 'none.csv'}\n"


def test_list_shows_no_text_or_number(engine: Engine, data_dir: Path, reports_csv: Path) -> None:
    assert run(data_dir, "list").stderr == "no citizen reports\n"
    assert run(data_dir, "import", str(reports_csv)).exit_code == 0
    first, far = stored(engine)
    listed = run(data_dir, "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].split() == [
        "ID", "RECEIVED", "CHANNEL", "PROBLEM", "SITE", "MATCH", "INCIDENT", "PHONE", "PHOTO",
        "CLOSED",
    ]  # fmt: skip
    assert lines[1].split()[:1] + lines[1].split()[3:] == [
        str(far.id), "import", "slow", "-", "unmatched", "-", "-", "-", "-",
    ]  # fmt: skip
    assert lines[2].split()[:1] + lines[2].split()[3:8] == [
        str(first.id), "import", "no_signal", "s-1", "opened", str(first.incident_id),
    ]  # fmt: skip
    assert lines[2].split()[8] == "yes"  # a number was given: said, not shown
    assert PHONE not in listed.output and PHONE_TYPED not in listed.output
    assert TEXT not in listed.output
    only = run(data_dir, "list", "--site", "s-1", "--open")
    assert [line.split()[0] for line in only.stdout.splitlines()[1:]] == [str(first.id)]
    limited = run(data_dir, "list", "--limit", "1")
    assert limited.stderr == "showing 1 of 2 (--limit)\n"
