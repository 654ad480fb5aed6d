"""``citywifi report schedule``: one line per partner and month, --now in the city's time,
--dry-run, exit statuses, one-line errors. The command is run through an app of its own
(the lead registers it under ``citywifi report``); the sending itself is
tests/reports/test_schedule.py's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from citywifi.report_schedule_cli import schedule
from core.settings import Settings
from inventory.db import open_inventory, transaction
from inventory.models import Partner, ReportDelivery, Site
from tests.fixtures.receivers import SmtpServer, dead_port

runner = CliRunner()
app = typer.Typer()
app.command()(schedule)


@pytest.fixture
def data_dir(tmp_path: Path, database_url: str) -> Path:
    """The commands' data dir; their inventory is the run's database (``--database``)."""
    return tmp_path / "state"


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    engine = open_inventory(Settings(data_dir=data_dir).db_url, create=True)
    with transaction(engine) as session:
        session.add_all(
            [
                Partner(id="acme", name="Acme Bank", report_to="a@acme.example,b@acme.example"),
                Partner(id="beta", name="Beta Telco", report_to="csr@beta.example"),
                Partner(id="gamma", name="Gamma Foundation"),
            ]
        )
    yield engine
    engine.dispose()


def run(data_dir: Path, *args: str, smtp_port: int = 1) -> Result:
    env = {"CITYWIFI_DATA_DIR": str(data_dir), "CITYWIFI_SMTP_PORT": str(smtp_port)}
    return runner.invoke(app, list(args), env=env)


def test_dry_run_lists_what_is_due(engine: Engine, data_dir: Path) -> None:
    result = run(data_dir, "--now", "2026-12-01T07:00", "--dry-run")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "due      acme  2026-11  a@acme.example, b@acme.example",
        "due      beta  2026-11  csr@beta.example",
    ]
    with transaction(engine) as session:
        assert session.query(ReportDelivery).count() == 0


def test_now_with_an_offset(engine: Engine, data_dir: Path) -> None:
    # 2026-08-02T17:00Z is Monday 3 August, 00:00 in Jakarta: July is due.
    result = run(data_dir, "--now", "2026-08-02T17:00:00+00:00", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "acme  2026-07" in result.stdout


def test_nothing_due_on_a_weekend_first(engine: Engine, data_dir: Path) -> None:
    result = run(data_dir, "--now", "2026-08-01T09:00")

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == "nothing due on 2026-08-01 Sat (Asia/Jakarta)\n"


def test_a_bad_time_is_a_usage_error(engine: Engine, data_dir: Path) -> None:
    result = run(data_dir, "--now", "first of december")
    assert result.exit_code == 2
    assert "'first of december' is not an ISO 8601 time" in result.stderr
    assert "Traceback" not in result.output


def test_no_inventory_is_one_line(data_dir: Path) -> None:
    result = run(data_dir, "--now", "2026-12-01T07:00")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no inventory database at ")
    assert len(result.stderr.splitlines()) == 1


def test_sends_and_then_says_sent(engine: Engine, data_dir: Path, smtp_server: SmtpServer) -> None:
    """The real report (usage_report and render_pdf) to the loopback SMTP server."""
    with transaction(engine) as session:
        session.add(
            Site(
                id="s-1",
                name="Alun-Alun",
                partner_id="acme",
                lat=-6.24,
                lon=107.0,
                kind="other",
                coverage_radius_m=80.0,
                status="active",
            )
        )

    first = run(data_dir, "--now", "2026-12-01T07:00", smtp_port=smtp_server.port)
    again = run(data_dir, "--now", "2026-12-01T08:00", smtp_port=smtp_server.port)

    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [
        "sent     acme  2026-11  a@acme.example, b@acme.example",
        "sent     beta  2026-11  csr@beta.example",
    ]
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines() == [
        "skipped  acme  2026-11  a@acme.example, b@acme.example - sent 2026-12-01 07:00 WIB",
        "skipped  beta  2026-11  csr@beta.example - sent 2026-12-01 07:00 WIB",
    ]
    assert len(smtp_server.envelopes) == 2


def test_a_failed_send_exits_1(engine: Engine, data_dir: Path) -> None:
    result = run(data_dir, "--now", "2026-12-01T07:00", smtp_port=dead_port())

    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["failed", "failed"]
    assert "- mail via 127.0.0.1:" in lines[0]
