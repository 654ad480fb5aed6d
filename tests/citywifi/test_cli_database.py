"""Which inventory database a command reads, and what it does when that is missing,
empty or behind its schema: said in one line, never a new empty database by surprise."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citywifi.cli import app
from inventory import migrations

runner = CliRunner()
# The commands read the run's database (CITYWIFI_DATABASE_URL under PostgreSQL).
pytestmark = pytest.mark.usefixtures("database_url")
FILE_PATHS = "names the SQLite file of the default data dir"
LEGACY = "the legacy inventory is a SQLite file"

LEGACY_DB = Path(__file__).parents[1] / "inventory" / "data" / "legacy-d320795.db"

CITY = """\
districts: [{id: d01, name: Bekasi Timur}]
credentials: [{id: c1, snmp: {version: "2c", community: s3cret-community}}]
sites:
  - {id: s1, name: Taman, lat: -6.24, lon: 106.99, district: d01, kind: park}
aps:
  - {id: ap1, site: s1, name: taman-1, host: 127.1.0.1, credentials: c1}
"""


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    """A data dir whose inventory was made by the code before migrations."""
    data = tmp_path / "legacy"
    data.mkdir()
    shutil.copyfile(LEGACY_DB, data / "inventory.sqlite")
    return data


@pytest.mark.sqlite_only(FILE_PATHS)
def test_export_without_a_database_refuses_and_creates_none(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--data-dir", "nothing-here", "inventory", "export"])
    database = tmp_path / "nothing-here" / "inventory.sqlite"
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"reading inventory from sqlite:///{database}",
        f"error: no inventory database at {database}; create it with `citywifi db upgrade`"
        " (or `citywifi inventory import FILE`)",
    ]
    assert not database.exists()


def test_export_of_an_empty_database_warns(tmp_path: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["inventory", "export"])
    assert result.exit_code == 0
    assert "warning: the inventory is empty" in result.stderr


def test_export_names_the_database_with_the_password_hidden(tmp_path: Path) -> None:
    url = "postgresql://noc:pg-secret@127.0.0.1:9/citywifi"
    result = runner.invoke(app, ["inventory", "export"], env={"CITYWIFI_DATABASE_URL": url})
    assert result.exit_code == 1
    assert "pg-secret" not in result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "reading inventory from postgresql://noc:***@127.0.0.1:9/citywifi"
    assert lines[1].startswith("error: ") and len(lines) == 2


def test_export_file_is_private_and_replaced_whole(tmp_path: Path) -> None:
    (tmp_path / "city.yaml").write_text(CITY)
    assert runner.invoke(app, ["inventory", "import", "city.yaml"]).exit_code == 0
    out = tmp_path / "backup.yaml"
    result = runner.invoke(app, ["inventory", "export", "--include-secrets", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "s3cret-community" in out.read_text()
    assert "warning" not in result.stderr


def test_failed_export_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "city.yaml").write_text(CITY)
    assert runner.invoke(app, ["inventory", "import", "city.yaml"]).exit_code == 0
    out = tmp_path / "out" / "backup.yaml"
    out.parent.mkdir()
    out.write_text("the previous backup\n")

    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    result = runner.invoke(app, ["inventory", "export", "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == "error: No space left on device"
    assert out.read_text() == "the previous backup\n"
    assert os.listdir(out.parent) == ["backup.yaml"]


@pytest.mark.sqlite_only(FILE_PATHS)
def test_db_upgrade_makes_a_new_database_then_says_current(tmp_path: Path) -> None:
    database = tmp_path / ".citywifi" / "inventory.sqlite"
    head = migrations.head()
    made = runner.invoke(app, ["db", "upgrade"])
    assert made.exit_code == 0, made.output
    assert made.stdout == f"{database}: upgraded from nothing to {head}\n"
    again = runner.invoke(app, ["db", "upgrade"])
    assert again.stdout == f"{database}: already at {head}\n"
    assert runner.invoke(app, ["db", "current"]).stdout == f"{database}: {head} (current)\n"


@pytest.mark.sqlite_only(FILE_PATHS)
def test_db_current_without_a_database_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 1
    database = tmp_path / ".citywifi" / "inventory.sqlite"
    assert result.stderr == f"error: no inventory database at {database}\n"


@pytest.mark.sqlite_only(LEGACY)
@pytest.mark.parametrize(
    "command",
    [["serve", "--port", "9"], ["collect", "--once"], ["inventory", "export"]],
    ids=["serve", "collect", "export"],
)
def test_a_database_behind_is_refused_until_upgraded(legacy: Path, command: list[str]) -> None:
    database = legacy / "inventory.sqlite"
    result = runner.invoke(app, ["--data-dir", str(legacy), *command])
    assert result.exit_code == 1, result.output
    error = result.stderr.splitlines()[-1]
    assert error.startswith("error: ") and str(database) in error
    assert "run `citywifi db upgrade`" in error
    assert not migrations.inspect_url(f"sqlite:///{database}").stamped  # refused, not changed


@pytest.mark.sqlite_only(LEGACY)
def test_db_current_then_upgrade_of_a_legacy_database(legacy: Path) -> None:
    database = legacy / "inventory.sqlite"
    head = migrations.head()
    shown = runner.invoke(app, ["--data-dir", str(legacy), "db", "current"])
    assert shown.exit_code == 0, shown.output
    assert "made before migrations" in shown.stdout and "run `citywifi db upgrade`" in shown.stdout
    upgraded = runner.invoke(app, ["--data-dir", str(legacy), "db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.stdout.startswith(f"{database}: upgraded from ")
    assert upgraded.stdout.endswith(f" to {head}\n")
    exported = runner.invoke(app, ["--data-dir", str(legacy), "inventory", "export"])
    assert exported.exit_code == 0, exported.output
    assert "aps:" in exported.stdout and "warning" not in exported.stderr


def test_export_into_a_missing_directory_names_the_file(tmp_path: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    out = tmp_path / "no-such-dir" / "backup.yaml"
    result = runner.invoke(app, ["inventory", "export", "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == f"error: No such file or directory: {out}"
