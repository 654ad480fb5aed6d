"""``citywifi dashboards export|push``: the files written, the push against the Grafana
stand-in (tests/fixtures/grafana_standin.py), the backend chosen from the store URL, the
token from the environment and never shown, errors in one line.

Run through the real ``citywifi`` app (citywifi/cli.py registers the sub-app).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from citywifi.cli import app
from citywifi.dashboards_cli import TOKEN_ENV
from tests.fixtures.grafana_standin import GrafanaStandin

runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CITYWIFI_* of the developer's: each test states what it depends on."""
    for key in list(os.environ):
        if key.startswith("CITYWIFI_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CITYWIFI_DATA_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, ["dashboards", *args], env=env)


def test_export_writes_both_backends(tmp_path: Path) -> None:
    out = tmp_path / "grafana"

    result = run("export", str(out))

    assert result.exit_code == 0, result.output
    listed = [Path(line) for line in result.stdout.splitlines()]
    assert listed == sorted(listed)
    assert all(path.is_file() for path in listed)
    for backend in ("victoriametrics", "influxdb"):
        boards = sorted((out / backend / "dashboards").glob("*.json"))
        assert len(boards) >= 4
        assert all(json.loads(b.read_text())["uid"].startswith("citywifi-") for b in boards)
        for kind in ("datasources", "dashboards"):
            document = yaml.safe_load(
                (out / backend / "provisioning" / kind / "citywifi.yaml").read_text()
            )
            assert document["apiVersion"] == 1
    assert "wrote" in result.stderr


def test_export_one_backend(tmp_path: Path) -> None:
    result = run("export", str(tmp_path / "g"), "--backend", "influx")

    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == ["influxdb"]


def test_export_where_nothing_can_be_written_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    result = run("export", str(blocker / "below"))

    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.output


def test_push_with_the_token_from_the_environment_then_again_unchanged(
    grafana_standin: GrafanaStandin,
) -> None:
    env = {TOKEN_ENV: grafana_standin.token}
    args = ("push", "--grafana-url", grafana_standin.url, "--backend", "vm")

    first = run(*args, env=env)

    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[0].split() == ["created", "folder", "citywifi"]
    assert lines[1].split() == ["created", "data", "source", "citywifi-vm"]
    assert [line.split()[0] for line in lines[2:]] == ["created"] * len(lines[2:])
    assert len(lines[2:]) >= 4
    assert grafana_standin.token not in first.output

    second = run(*args, env=env)

    assert second.exit_code == 0, second.output
    assert {line.split()[0] for line in second.stdout.splitlines()} == {"unchanged"}
    assert len(grafana_standin.dashboards) == len(lines[2:])


def test_push_both_backends_into_one_folder(grafana_standin: GrafanaStandin) -> None:
    result = run(
        "push",
        "--grafana-url",
        grafana_standin.url,
        "--token",
        grafana_standin.token,
        "--backend",
        "all",
    )

    assert result.exit_code == 0, result.output
    assert sorted(grafana_standin.datasources) == ["citywifi-influx", "citywifi-vm"]
    assert list(grafana_standin.folders) == ["citywifi"]
    uids = list(grafana_standin.dashboards)
    assert len([u for u in uids if u.endswith("-vm")]) == len(
        [u for u in uids if u.endswith("-influx")]
    )


def test_the_data_source_url_comes_from_settings_or_the_option(
    grafana_standin: GrafanaStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, grafana_standin.token)
    monkeypatch.setenv("CITYWIFI_GRAFANA_DATASOURCE_URL_INFLUXDB", "http://10.1.2.3:8086")
    base = ("push", "--grafana-url", grafana_standin.url, "--backend", "influx")

    assert run(*base).exit_code == 0
    assert grafana_standin.datasources["citywifi-influx"]["url"] == "http://10.1.2.3:8086"

    result = run(*base, "--datasource-url", "http://10.9.9.9:8086")

    assert result.exit_code == 0, result.output
    assert "updated    data source citywifi-influx" in result.stdout
    assert grafana_standin.datasources["citywifi-influx"]["url"] == "http://10.9.9.9:8086"


def test_the_backend_defaults_to_the_stores(
    grafana_standin: GrafanaStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, grafana_standin.token)
    monkeypatch.setenv("CITYWIFI_TIMESERIES_URL", "victoriametrics+http://127.0.0.1:8428")

    result = run("push", "--grafana-url", grafana_standin.url)

    assert result.exit_code == 0, result.output
    assert list(grafana_standin.datasources) == ["citywifi-vm"]


def test_an_embedded_store_needs_an_explicit_backend(
    grafana_standin: GrafanaStandin,
) -> None:
    result = run("push", "--grafana-url", grafana_standin.url, "--token", grafana_standin.token)

    assert result.exit_code == 2
    assert "--backend" in result.stderr
    assert grafana_standin.requests == []


def test_one_datasource_url_for_two_backends_is_refused(grafana_standin: GrafanaStandin) -> None:
    result = run(
        "push",
        "--grafana-url",
        grafana_standin.url,
        "--token",
        grafana_standin.token,
        "--backend",
        "all",
        "--datasource-url",
        "http://127.0.0.1:8428",
    )

    assert result.exit_code == 2
    assert "--datasource-url" in result.stderr
    assert grafana_standin.requests == []


def test_a_refused_token_is_one_line_without_the_token(grafana_standin: GrafanaStandin) -> None:
    wrong = "glsa_0123456789abcdef-not-the-right-one"

    result = run(
        "push", "--grafana-url", grafana_standin.url, "--backend", "vm", env={TOKEN_ENV: wrong}
    )

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(f"error: Grafana at {grafana_standin.url} refused the token")
    assert wrong not in result.output


def test_grafana_down_is_one_line(free_tcp_port: Callable[[], int]) -> None:
    url = f"http://127.0.0.1:{free_tcp_port()}"

    result = run("push", "--grafana-url", url, "--backend", "vm", env={TOKEN_ENV: "glsa_x" * 4})

    assert result.exit_code == 1
    assert (
        result.stderr
        == f"error: cannot reach Grafana at {url} (read folder citywifi): connection refused\n"
    )


def test_an_empty_token_is_a_usage_error(grafana_standin: GrafanaStandin) -> None:
    result = run(
        "push", "--grafana-url", grafana_standin.url, "--backend", "vm", env={TOKEN_ENV: " "}
    )

    assert result.exit_code == 2
    assert TOKEN_ENV in result.stderr
    assert grafana_standin.requests == []


def test_help_never_shows_the_token() -> None:
    secret = "glsa_help-must-not-print-this-value"

    result = run("push", "--help", env={TOKEN_ENV: secret})

    assert result.exit_code == 0
    assert secret not in result.output
    assert TOKEN_ENV in " ".join(result.output.split())
