"""``citywifi report usage``: a partner's report written as JSON, CSV or PDF (whole or not
at all), the period asked as the API asks it, the progress bar, one-line errors.

The city: p-bank's s-park (ap-01) and p-telco's s-market (ap-03), ten polls each on the
city's 1 January 2026 (ap-01 misses one), in a SQLite inventory and the embedded store.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from citywifi.cli import app
from citywifi.report_cli import progress_bar
from core.settings import Settings
from inventory.db import open_inventory, transaction
from inventory.models import AccessPoint, CredentialProfile, District, Partner, Site
from timeseries import open_store
from timeseries.port import Sample

runner = CliRunner()
T0 = 1_767_229_200.0  # 2026-01-01T01:00:00Z, 08:00 on the 1st in Jakarta


@pytest.fixture
def data_dir(tmp_path: Path, database_url: str) -> Path:
    """The commands' data dir; their inventory is the run's database (``--database``)."""
    return tmp_path / "state"


@pytest.fixture
def city(data_dir: Path) -> Iterator[Engine]:
    settings = Settings(data_dir=data_dir)
    engine = open_inventory(settings.db_url, create=True)
    with transaction(engine) as s:
        s.add_all(
            [
                Partner(id="p-bank", name="Bank of Example", sla_target_pct=99.0),
                Partner(id="p-telco", name="Telco Ltd"),
                District(id="d-north", name="North"),
                CredentialProfile(id="cred", snmp_version="2c"),
            ]
        )
        s.flush()
        for site, partner, ap in (("s-park", "p-bank", "ap-01"), ("s-market", "p-telco", "ap-03")):
            s.add(
                Site(
                    id=site, name=site.title(), lat=-6.2, lon=107.0, district_id="d-north",
                    partner_id=partner, kind="park", coverage_radius_m=60.0, status="active",
                )
            )  # fmt: skip
            s.flush()
            s.add(
                AccessPoint(
                    id=ap, site_id=site, name=ap, host="127.1.0.1", snmp_port=161, ssh_port=22,
                    profile="auto", credential_id="cred", enabled=True,
                )
            )  # fmt: skip
    store = open_store(settings.store_url)
    try:
        samples = []
        for n in range(10):
            for ap, site, partner, ok in (
                ("ap-01", "s-park", "p-bank", n != 4),
                ("ap-03", "s-market", "p-telco", True),
            ):
                tags = {"ap": ap, "site": site, "district": "d-north", "partner": partner}
                fields = {"reachable": 1.0 if ok else 0.0}
                if ok:
                    fields |= {"clients": 3.0, "rx_bytes_delta": 2e8, "tx_bytes_delta": 1e8}
                samples.append(Sample(measurement="ap", tags=tags, fields=fields, ts=T0 + 60 * n))
        store.write(samples)
    finally:
        store.close()
    yield engine
    engine.dispose()


def run(data_dir: Path, *args: str) -> Result:
    return runner.invoke(app, ["--data-dir", str(data_dir), "report", "usage", *args])


def test_json_file(city: Engine, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bank.json"
    result = run(data_dir, "--partner", "p-bank", "--month", "2026-01", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == f"wrote {out}: Bank of Example, 2026-01, 1 sites\n"
    body = json.loads(out.read_text())
    assert (body["partner"], body["period_label"], body["sla_target_pct"]) == (
        "p-bank", "2026-01", 99.0
    )  # fmt: skip
    assert [site["site"] for site in body["sites"]] == ["s-park"]
    totals = body["totals"]
    assert (totals["polls"], totals["polls_ok"], totals["availability_pct"]) == (10, 9, 90.0)
    assert (totals["down_gb"], totals["up_gb"], totals["sla_met"]) == (1.8, 0.9, False)
    assert (body["start"], body["end"]) == ("2025-12-31T17:00:00Z", "2026-01-31T17:00:00Z")


def test_csv_to_stdout(city: Engine, data_dir: Path) -> None:
    result = run(data_dir, "--partner", "p-telco", "--month", "2026-01", "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()  # (the runner's stdout turns CRLF into LF)
    assert lines[0].startswith("id,name,district,availability_pct,")
    assert lines[1].startswith("s-market,S-Market,North,100.000,95.000,yes,")
    assert lines[2].startswith("TOTAL,Telco Ltd,")
    assert "s-park" not in result.stdout


def test_a_range_of_dates(city: Engine, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "range.csv"
    args = ("--partner", "p-bank", "--start", "2026-01-01", "--end", "2026-01-01")
    result = run(data_dir, *args, "--format", "csv", "-o", str(out))
    assert result.exit_code == 0, result.output
    days = out.read_bytes().decode().split("\r\n\r\n")[1].splitlines()
    assert [line.split(",")[0] for line in days] == ["day", "2026-01-01"]


def test_pdf_file(city: Engine, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bank.pdf"
    args = ("--partner", "p-bank", "--month", "2026-01", "--format", "pdf", "-o", str(out))
    result = run(data_dir, *args)
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF-")


def test_a_pdf_needs_a_file(city: Engine, data_dir: Path) -> None:
    result = run(data_dir, "--partner", "p-bank", "--month", "2026-01", "--format", "pdf")
    assert result.exit_code == 2
    assert "-o FILE" in result.stderr


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("--month", "2026-01", "--start", "2026-01-01"), "--month"),
        ((), "--month"),
        (("--month", "2026-13"), "--month"),
        (("--start", "2026-01-01"), "--end"),
        (("--start", "2026-01-02", "--end", "2026-01-01"), "--end"),
        (("--start", "2024-12-31", "--end", "2026-01-01"), "--start"),
        (("--start", "yesterday", "--end", "2026-01-01"), "--start"),
    ],
)
def test_a_period_asked_wrongly_is_a_usage_error(
    args: tuple[str, ...], option: str, city: Engine, data_dir: Path
) -> None:
    result = run(data_dir, "--partner", "p-bank", *args)
    assert result.exit_code == 2, result.output
    assert f"'{option}'" in result.stderr
    assert "Traceback" not in result.output


def test_an_unknown_partner_is_one_line(city: Engine, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "nobody.json"
    result = run(data_dir, "--partner", "zz-nowhere", "--month", "2026-01", "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr == "error: no partner with id 'zz-nowhere'\n"
    assert not out.exists()


def test_no_database_is_one_line(data_dir: Path) -> None:
    result = run(data_dir, "--partner", "p-bank", "--month", "2026-01")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1


def test_a_file_that_cannot_be_written_is_one_line_and_leaves_nothing(
    city: Engine, data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "missing-dir" / "bank.csv"
    result = run(data_dir, "--partner", "p-bank", "--month", "2026-01", "--format", "csv",
                 "-o", str(out))  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr == f"error: No such file or directory: {out}\n"
    assert not out.parent.exists()


def test_an_existing_file_is_replaced_whole(city: Engine, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bank.csv"
    out.write_text("old contents that are longer than nothing" * 1000)
    result = run(data_dir, "--partner", "p-bank", "--month", "2026-01", "--format", "csv",
                 "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("id,name,")
    assert "old contents" not in out.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bank.csv", "state"]  # no temporary


def test_the_progress_bar_draws_on_a_terminal_only() -> None:
    """On a terminal the bar follows ``progress(done, total)``; elsewhere (a pipe, a
    cron mail) there is none, and nothing is written."""
    drawn = io.StringIO()
    terminal = Console(file=drawn, force_terminal=True, width=80)
    with progress_bar(terminal, "p-bank 2026-01") as progress:
        assert progress is not None
        progress(3, 7)
        progress(7, 7)
    assert "p-bank 2026-01" in drawn.getvalue()
    piped = io.StringIO()
    with progress_bar(Console(file=piped, force_terminal=False), "x") as progress:
        assert progress is None
    assert piped.getvalue() == ""
