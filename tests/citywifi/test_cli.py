"""The CLI as an engineer uses it: flags over env over file, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citywifi import __version__
from citywifi.cli import app

runner = CliRunner()

GOOD = """\
districts: [{id: d01, name: Bekasi Timur}]
credentials: [{id: c1, snmp: {version: "2c", community: s3cret-community}}]
sites:
  - {id: s1, name: Taman, lat: -6.2, lon: 106.9, district: d01, kind: park}
aps:
  - {id: ap1, site: s1, name: taman-1, host: 127.1.0.1, credentials: c1}
"""


def test_flag_beats_env_beats_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "citywifi.toml").write_text('data_dir = "from-file"\nlog_level = "WARNING"\n')
    monkeypatch.setenv("CITYWIFI_DATA_DIR", "from-env")
    shown = json.loads(runner.invoke(app, ["config"]).stdout)
    assert shown["data_dir"] == "from-env"
    assert shown["log_level"] == "WARNING"
    shown = json.loads(runner.invoke(app, ["--data-dir", "from-flag", "config"]).stdout)
    assert shown["data_dir"] == "from-flag"


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"citywifi {__version__}\n"


def test_bad_setting_from_the_environment_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYWIFI_POLL_INTERVAL_S", "0")
    monkeypatch.setenv("CITYWIFI_SNMP_RETRIES", "many")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: CITYWIFI_POLL_INTERVAL_S=0 (environment): must be \u2265 1",
        "error: CITYWIFI_SNMP_RETRIES=many (environment): must be a whole number",
    ]


def test_bad_setting_from_the_file_names_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "citywifi.toml").write_text('log_level = "loud"\npoll_intervall_s = 30\n')
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 2
    first, second = result.stderr.splitlines()
    assert first == (
        'error: log_level = "loud" (citywifi.toml):'
        " must be one of 'DEBUG', 'INFO', 'WARNING' or 'ERROR'"
    )
    assert second.startswith("error: poll_intervall_s = 30 (citywifi.toml): unknown setting;")
    assert "poll_interval_s" in second


def test_bad_setting_from_an_option_names_the_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYWIFI_POLL_INTERVAL_S", "30")  # the option wins, and is the one
    result = runner.invoke(app, ["collect", "--interval", "0.5"])
    assert result.exit_code == 2
    assert result.stderr == "error: --interval 0.5 (command-line option): must be \u2265 1\n"


def test_a_file_that_is_not_toml_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "citywifi.toml").write_text("poll_interval_s = = 3\n")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: citywifi.toml: not valid TOML:")
    assert len(result.stderr.splitlines()) == 1


def test_import_then_export_round_trips(tmp_path: Path) -> None:
    src = tmp_path / "inv.yaml"
    src.write_text(GOOD)
    result = runner.invoke(app, ["inventory", "import", str(src)])
    assert result.exit_code == 0, result.output
    again = runner.invoke(app, ["inventory", "import", str(src)])
    assert again.exit_code == 0
    out = tmp_path / "out.yaml"
    exported = runner.invoke(app, ["inventory", "export", "--include-secrets", "-o", str(out)])
    assert exported.exit_code == 0
    assert "credentials in clear" in exported.stderr
    assert "s3cret-community" in out.read_text()


def test_bad_row_names_file_and_line_and_imports_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("lat: -6.2", "lat: 123"))
    result = runner.invoke(app, ["inventory", "import", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:4" in result.stderr
    assert "lat" in result.stderr
    exported = runner.invoke(app, ["inventory", "export"])
    assert "ap1" not in exported.stdout


def test_timeseries_check_says_ok_or_what_is_wrong(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["--data-dir", str(tmp_path), "timeseries", "check"])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.strip().endswith("OK")
    dead = runner.invoke(
        app, ["timeseries", "check", "--url", "victoriametrics+http://127.0.0.1:9?retries=0"]
    )
    assert dead.exit_code == 1
    assert "connection refused" in dead.stdout and "NOT OK" in dead.stdout
    bad = runner.invoke(app, ["timeseries", "check", "--url", "nosuch://x"])
    assert bad.exit_code == 1
    assert "unknown metric store URL scheme" in bad.output
