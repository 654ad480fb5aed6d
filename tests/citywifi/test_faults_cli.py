"""``citywifi faults``: one cycle with --once, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from citywifi.cli import app
from core.settings import Settings
from inventory.db import open_inventory
from tests.faults.city import seed, sites_down, states, write_states

runner = CliRunner()
# The inventory is the run's database (--database): CITYWIFI_DATABASE_URL under PostgreSQL.
pytestmark = pytest.mark.usefixtures("database_url")


def test_once_runs_one_cycle_and_says_what_it_did(tmp_path: Path) -> None:
    data_dir = tmp_path / "state"
    engine = open_inventory(Settings(data_dir=data_dir).db_url, create=True)
    seed(engine)
    write_states(engine, states(sites_down({"s3": 1_767_225_600.0})))
    engine.dispose()
    args = ["--data-dir", str(data_dir), "faults", "--once"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("22 APs, 1 problems: 1 opened, 0 reopened, 0 grown, 0 merged,")
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert ": 0 opened, 0 reopened, 0 grown, 0 merged, 0 resolved" in again.stdout


def test_no_database_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--data-dir", str(tmp_path / "none"), "faults", "--once"])
    assert result.exit_code == 1
    assert result.output.startswith("error: no inventory database at ")
    assert "Traceback" not in result.output and result.output.count("\n") == 1


def test_a_bad_interval_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--data-dir", str(tmp_path), "faults", "--interval", "0.1"])
    assert result.exit_code == 2
