"""``citywifi maintenance list|add|end`` on the server: the new id alone on stdout, the
rules of inventory.maintenance as one-line errors, every change audited as cli:<os user>."""

from __future__ import annotations

import time
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
from inventory.models import AuditEntry, District, MaintenanceWindow, Site

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, database_url: str) -> Path:
    """The commands' data dir; their inventory is the run's database (``--database``)."""
    return tmp_path / "state"


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    """The inventory the commands use (``--data-dir``): district d-1 with site s-1."""
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
    yield engine
    engine.dispose()


def run(data_dir: Path, *args: str) -> Result:
    return runner.invoke(app, ["--data-dir", str(data_dir), "maintenance", *args])


def windows(engine: Engine) -> list[MaintenanceWindow]:
    with Session(engine) as session:
        return list(session.scalars(select(MaintenanceWindow).order_by(MaintenanceWindow.id)))


def audit_rows(engine: Engine) -> list[tuple[str, str, str | None, str | None]]:
    with Session(engine) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(r.action, r.actor, r.target, r.address) for r in rows]


def test_add_prints_the_id_alone_and_audits(engine: Engine, data_dir: Path) -> None:
    before = time.time()
    result = run(data_dir, "add", "--site", "s-1", "--for", "2h", "--reason", "new mast")
    assert result.exit_code == 0, result.output
    (made,) = windows(engine)
    assert result.stdout == f"{made.id}\n"
    assert f"added maintenance window {made.id}: site s-1 from " in result.stderr
    assert (made.scope_kind, made.scope_id, made.reason) == ("site", "s-1", "new mast")
    assert before <= made.starts_at <= time.time()
    assert made.ends_at - made.starts_at == 7200
    assert made.created_by == cli_actor()
    assert audit_rows(engine) == [
        (AuditAction.MAINTENANCE_CREATED.value, cli_actor(), f"maintenance {made.id}", "cli")
    ]


def test_add_a_district_window_at_given_times(engine: Engine, data_dir: Path) -> None:
    start = time.time() + 3600
    result = run(
        data_dir, "add", "--district", "d-1", "--start", str(start), "--end",
        "9999-01-01T00:00:00", "--reason", "too long",
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr == "error: ends_at: a window lasts at most 31 days\n"
    result = run(
        data_dir, "add", "--district", "d-1", "--start", "2099-01-01T00:00:00Z",
        "--end", "2099-01-01T04:00:00+00:00", "--reason", "power works",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (made,) = windows(engine)
    assert (made.scope_kind, made.starts_at, made.ends_at) == (
        "district", 4_070_908_800.0, 4_070_908_800.0 + 4 * 3600,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["--site", "s-9", "--for", "1h"], 1, "error: scope_id: no site with id 's-9'\n"),
        (
            ["--site", "s-1", "--district", "d-1", "--for", "1h"],
            2,
            "error: give exactly one of --site",
        ),
        (["--site", "s-1"], 2, "error: give exactly one of --end and --for\n"),
        (["--site", "s-1", "--for", "soon"], 2, "error: --for: 'soon' is not a duration"),
        (["--site", "s-1", "--start", "later", "--for", "1h"], 2, "error: --start: not a time"),
        (["--site", "s-1", "--start", "0", "--end", "60"], 1, "error: ends_at: must be in"),
    ],
)
def test_add_refusals_are_one_line(
    engine: Engine, data_dir: Path, args: list[str], status: int, message: str
) -> None:
    result = run(data_dir, "add", *args, "--reason", "work")
    assert result.exit_code == status, result.output
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output
    assert windows(engine) == [] and audit_rows(engine) == []


def test_list_and_end(engine: Engine, data_dir: Path) -> None:
    assert run(data_dir, "list").stderr == "no maintenance windows\n"
    running = run(data_dir, "add", "--site", "s-1", "--for", "1h", "--reason", "mast").stdout
    later = run(
        data_dir, "add", "--district", "d-1", "--start", "2099-01-01T00:00:00Z", "--for", "1d",
        "--reason", "x" * 80,
    ).stdout.strip()  # fmt: skip
    listed = run(data_dir, "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ID", "SCOPE", "STATE", "STARTS", "ENDS", "BY", "REASON"]
    assert lines[1].split()[:4] == [later, "district", "d-1", "scheduled"]
    assert lines[1].endswith("x" * 49 + "…")
    assert lines[2].split()[:4] == [running.strip(), "site", "s-1", "active"]
    only = run(data_dir, "list", "--state", "active", "--site", "s-1")
    assert [line.split()[0] for line in only.stdout.splitlines()[1:]] == [running.strip()]
    limited = run(data_dir, "list", "--limit", "1")
    assert limited.stderr == "showing 1 of 2 (--limit)\n"
    assert run(data_dir, "list", "--state", "soon").exit_code == 2

    deleted = run(data_dir, "end", later)
    assert deleted.exit_code == 0, deleted.output
    assert deleted.stderr == f"deleted maintenance window {later}: it had not started\n"
    ended = run(data_dir, "end", running.strip())
    assert ended.stderr.startswith(f"ended maintenance window {running.strip()} at ")
    (cut,) = windows(engine)
    assert cut.ends_at <= time.time()
    again = run(data_dir, "end", running.strip())
    assert again.exit_code == 1
    assert again.stderr == f"error: maintenance window {running.strip()} has already ended\n"
    assert [row[0] for row in audit_rows(engine)] == [
        AuditAction.MAINTENANCE_CREATED.value,
        AuditAction.MAINTENANCE_CREATED.value,
        AuditAction.MAINTENANCE_ENDED.value,
        AuditAction.MAINTENANCE_ENDED.value,
    ]
