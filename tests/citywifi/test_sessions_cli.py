"""``citywifi sessions`` and ``sessions summary``: tables and JSON of the stored hotspot
sessions (tests/fixtures/sessions.py), the filters, the city's months, one-line errors."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from citywifi.cli import app
from core.settings import Settings
from inventory.db import open_inventory
from tests.fixtures.sessions import CITY_SESSIONS, GIB, Row, fake_hash, seed_sessions

runner = CliRunner()
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, 07:00 in Jakarta: the fixture sessions' now


@pytest.fixture
def data_dir(tmp_path: Path, database_url: str) -> Path:
    """The commands' data dir; their inventory is the run's database (``--database``)."""
    return tmp_path / "state"


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    """An inventory holding the fixture's five sessions (four in the city's January 2026,
    one in December 2025)."""
    engine = open_inventory(Settings(data_dir=data_dir).db_url, create=True)
    seed_sessions(engine, T0)
    yield engine
    engine.dispose()


def run(data_dir: Path, *args: str) -> Result:
    return runner.invoke(app, ["--data-dir", str(data_dir), "sessions", *args])


def column(result: Result, name: str) -> list[str]:
    """The cells of one column (cells are apart by two spaces or more, numbers aligned
    right)."""
    header, *rows = (re.split(r"\s{2,}", line.strip()) for line in result.stdout.splitlines())
    return [row[header.index(name)] for row in rows]


def test_table_newest_first(engine: Engine, data_dir: Path) -> None:
    result = run(data_dir)
    assert result.exit_code == 0, result.output
    assert column(result, "AP") == ["ap-02", "ap-04", "ap-03", "ap-01", "ap-01"]
    assert column(result, "STATE") == ["open", "closed", "lost", "closed", "closed"]
    assert column(result, "PARTNER") == ["p-bank", "-", "p-telco", "p-bank", "p-bank"]
    line = result.stdout.splitlines()[4]
    assert "2025-12-31 22:00:00Z" in line and "1h00m00s" in line
    assert "5 GiB" in line and "User-Request" in line
    assert result.stderr == ""


def test_limit_says_what_it_left_out(engine: Engine, data_dir: Path) -> None:
    result = run(data_dir, "--limit", "2")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 3
    assert result.stderr.strip() == "showing 2 of 5 (--limit)"


def test_filters_by_ap_and_site(engine: Engine, data_dir: Path) -> None:
    assert column(run(data_dir, "--ap", "ap-01"), "AP") == ["ap-01", "ap-01"]
    assert column(run(data_dir, "--site", "s-market"), "SITE") == ["s-market"]
    nothing = run(data_dir, "--ap", "ap-nowhere")
    assert (nothing.exit_code, nothing.stdout, nothing.stderr) == (0, "", "no sessions\n")


def test_since_keeps_the_sessions_of_that_past(engine: Engine, data_dir: Path) -> None:
    now = time.time()
    recent = Row("ap-09", "s-x", None, "90000001", "open", 600, 60, 540, 1, 2, "2026-01")
    seed_sessions(engine, now, [recent])
    # And the fixture's open session: open, it runs until now (the receiver would have
    # closed it as lost long ago; the reader shows what is stored).
    assert column(run(data_dir, "--since", "1h"), "AP") == ["ap-09", "ap-02"]
    bad = run(data_dir, "--since", "soon")
    assert bad.exit_code == 2
    assert "--since" in bad.stderr and "not a duration" in bad.stderr


def test_json_rows_are_the_api_rows(engine: Engine, data_dir: Path) -> None:
    result = run(data_dir, "--json", "--ap", "ap-01", "--limit", "1")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row == {
        "id": row["id"],
        "ap": "ap-01",
        "site": "s-park",
        "partner": "p-bank",
        "state": "closed",
        "started_at": "2025-12-31T22:00:00Z",
        "updated_at": "2025-12-31T23:00:00Z",
        "stopped_at": "2025-12-31T23:00:00Z",
        "duration_s": 3600.0,
        "bytes_up": 5 * GIB,
        "bytes_down": GIB,
        "terminate_cause": "User-Request",
        "user_hash": fake_hash("citizen-1"),
        "station_hash": fake_hash("phone-a"),
    }


def test_summary_by_site_of_a_city_month(engine: Engine, data_dir: Path) -> None:
    result = run(data_dir, "summary", "--by", "site", "--month", "2026-01")
    assert result.exit_code == 0, result.output
    assert column(result, "SITE") == ["s-market", "s-park", "s-school"]
    assert column(result, "SESSIONS") == ["1", "2", "1"]
    assert column(result, "USERS") == ["1", "2", "1"]
    as_json = json.loads(run(data_dir, "summary", "--month", "2026-01", "--json").stdout)
    assert as_json[1] == {
        "group": "s-park", "sessions": 2, "users": 2, "devices": 2,
        "duration_total_s": 4140.0, "duration_median_s": 3600.0,
        "bytes_up": 5 * GIB + 1_000, "bytes_down": GIB + 2_000,
    }  # fmt: skip


def test_summary_month_is_the_city_month(engine: Engine, data_dir: Path) -> None:
    """December in Jakarta ends at 17:00 UTC on the 31st: the session begun at 22:00 UTC
    that day is January's."""
    result = run(data_dir, "summary", "--by", "city", "--month", "2025-12", "--json")
    assert result.exit_code == 0, result.output
    (city,) = json.loads(result.stdout)
    december = [r for r in CITY_SESSIONS if r.month == "2025-12"]
    assert (city["group"], city["sessions"]) == ("city", len(december))


def test_summary_of_an_empty_month(engine: Engine, data_dir: Path) -> None:
    result = run(data_dir, "summary", "--month", "2024-02")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("no sessions began in 2024-01-31 17:00:00Z")


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "January", "2026-01-01"])
def test_summary_bad_month_is_one_line(engine: Engine, data_dir: Path, month: str) -> None:
    result = run(data_dir, "summary", "--month", month)
    assert result.exit_code == 2
    assert "--month" in result.stderr and "YYYY-MM" in result.stderr
    assert "Traceback" not in result.output


def test_no_database_is_one_line(data_dir: Path) -> None:
    result = run(data_dir)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no inventory database at")
    assert len(result.stderr.splitlines()) == 1
