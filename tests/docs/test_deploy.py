"""docs/deploy.md and deploy/: every command they run is a real one.

- Every ``citywifi …`` command in docs/deploy.md (code blocks and inline code), in the
  systemd units and in deploy/compose.yaml parses with the real CLI (click's own parser:
  options, choices and types, without running the command); the safe ones run for real
  against a temporary SQLite database.
- Every ``CITYWIFI_*`` name they set is a real setting; every metric store URL opens.
- The units pass ``systemd-analyze verify``; the compose file is valid YAML with the
  shape compose needs (Docker here has no daemon and no compose plugin to ask).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from citywifi.cli import app
from core.settings import Settings
from timeseries import open_store

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "deploy.md"
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service")) + sorted(
    (DEPLOY / "systemd").glob("*.timer")
)
UNIT_BINARY = "/opt/citywifi/venv/bin/citywifi"
# Environment names that are not settings but are read by what citywifi runs on.
OTHER_ENV = {"CITYWIFI_CONFIG", "FORWARDED_ALLOW_IPS"}
# Commands that change nothing outside a fresh temporary data directory (the ones with
# a --dry-run only with it).
SAFE = {
    ("db", "upgrade"),
    ("db", "current"),
    ("config",),
    ("report", "schedule"),
    ("inventory", "import"),
}
DRY_ONLY = {("report", "schedule"), ("inventory", "import")}
# The inventory file the doc imports: an empty city, so the dry run has a file to read.
CITY_YAML = "partners: []\nsites: []\naps: []\n"


def _commands_in_shell(line: str) -> Iterator[list[str]]:
    """The argument lists of the ``citywifi`` commands of one shell line."""
    for part in re.split(r"&&|\|\||;|\|", line):
        try:
            words = shlex.split(part)
        except ValueError:
            continue
        while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
            words.pop(0)
        if words and Path(words[0]).name == "citywifi":
            yield words[1:]


def doc_commands() -> list[list[str]]:
    """Whole command lines: the doc's ``sh`` code blocks."""
    found: list[list[str]] = []
    for block in re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            found += _commands_in_shell(line.strip())
    return found


def doc_mentions() -> list[list[str]]:
    """Commands named in the prose (inline code), often without their arguments."""
    prose = re.sub(r"```.*?```", "", DOC.read_text(), flags=re.S)
    found: list[list[str]] = []
    for span in re.findall(r"`(citywifi [^`…]+)`", prose):
        found += _commands_in_shell(" ".join(span.split()))
    return found


def unit_commands() -> list[list[str]]:
    found: list[list[str]] = []
    for unit in UNITS:
        for line in unit.read_text().splitlines():
            if line.startswith("ExecStart="):
                found += _commands_in_shell(line.removeprefix("ExecStart="))
    return found


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def compose_commands() -> list[list[str]]:
    services = compose()["services"]
    return [
        [str(word) for word in service["command"]]
        for service in services.values()
        if service.get("image") == "citywifi:latest"
    ]


def parse(args: list[str]) -> tuple[str, ...]:
    """Parse ``citywifi <args>`` as the CLI would, down to the leaf command, without
    running it; returns the command path. Raises click's usage errors."""
    command: Any = typer.main.get_command(app)  # typer's own copy of click's classes
    context = command.make_context("citywifi", list(args))
    path: list[str] = []
    while hasattr(command, "resolve_command"):  # a group
        rest = [*context._protected_args, *context.args]
        name, sub, rest = command.resolve_command(context, rest)
        assert sub is not None and name is not None
        path.append(name)
        context = sub.make_context(name, rest, parent=context)
        command = sub
    return tuple(path)


ALL = (
    [pytest.param(c, id="doc: " + " ".join(c)) for c in doc_commands()]
    + [pytest.param(c, id="unit: " + " ".join(c)) for c in unit_commands()]
    + [pytest.param(c, id="compose: " + " ".join(c)) for c in compose_commands()]
)


def test_the_sources_hold_the_commands_expected() -> None:
    """The extraction itself works: the doc, every unit and compose give commands."""
    assert len(doc_commands()) >= 15
    assert len(doc_mentions()) >= 5
    assert {c[0] for c in unit_commands()} == {
        "db",
        "serve",
        "collect",
        "faults",
        "radius",
        "report",
    }
    assert {c[0] for c in compose_commands()} == {"db", "serve", "collect", "faults", "radius"}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding the files the doc's commands name."""
    (tmp_path / "city.yaml").write_text(CITY_YAML)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("args", ALL)
def test_every_command_parses_with_the_real_cli(args: list[str], workdir: Path) -> None:
    parse(args)


@pytest.mark.parametrize("args", doc_mentions(), ids=" ".join)
def test_every_command_the_prose_names_exists(args: list[str]) -> None:
    """Named without its arguments: the command and the options given exist (``--help``
    after them exits 0; an unknown command or option would exit 2)."""
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output


def test_the_safe_commands_of_the_doc_run(workdir: Path) -> None:
    """``db upgrade`` first (a fresh SQLite), then the other safe ones, for real."""
    tmp_path = workdir
    env = {
        "CITYWIFI_DATA_DIR": str(tmp_path / "data"),
        "CITYWIFI_CONFIG": str(tmp_path / "none.toml"),
        "PATH": "/usr/bin:/bin",
    }
    ran: set[tuple[str, ...]] = set()
    commands = sorted(doc_commands(), key=lambda c: c[:2] != ["db", "upgrade"])
    for args in commands:
        path = parse(args)
        if path not in SAFE or (path in DRY_ONLY and "--dry-run" not in args):
            continue
        result = subprocess.run(
            [sys.executable, "-m", "citywifi", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        ran.add(path)
    assert ran == SAFE


def test_every_store_url_of_the_doc_opens() -> None:
    """Parsed and checked by the real backends (no network is touched)."""
    urls = re.findall(r"'((?:victoriametrics|influxdb)\+[^']+)'", DOC.read_text())
    assert len(urls) >= 4
    for url in urls:
        open_store(url).close()


def _env_names() -> Iterator[tuple[str, str]]:
    for unit in UNITS:
        for name in re.findall(r"^Environment=([A-Z_0-9]+)=", unit.read_text(), re.M):
            yield unit.name, name
    example = (DEPLOY / "systemd" / "citywifi.env.example").read_text()
    for name in re.findall(r"^#?([A-Z][A-Z_0-9]+)=", example, re.M):
        yield "citywifi.env.example", name
    for service_name, service in compose()["services"].items():
        if service.get("image") == "citywifi:latest":
            for name in service.get("environment", {}):
                yield f"compose {service_name}", name
    for name in re.findall(r"\b(CITYWIFI_[A-Z_0-9]+)\b", DOC.read_text()):
        yield "deploy.md", name


def test_every_environment_name_is_a_real_setting() -> None:
    settings = {"CITYWIFI_" + name.upper() for name in Settings.model_fields}
    wrong = [(where, n) for where, n in _env_names() if n not in settings | OTHER_ENV]
    assert wrong == []


def test_compose_has_what_the_doc_says() -> None:
    loaded = compose()
    services = loaded["services"]
    assert {"postgres", "victoriametrics", "serve", "collect", "faults", "radius"} <= set(services)
    assert {s for s, v in services.items() if "cluster" in v.get("profiles", [])} == {
        "vmstorage",
        "vminsert",
        "vmselect",
    }
    assert services["faults"]["deploy"]["replicas"] == 2
    build = services["serve"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    assert set(loaded["volumes"]) >= {"postgres", "victoriametrics"}


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """Verified as installed, but with ExecStart on this test's own citywifi (verify
    insists the binary exists); the templated collector as instance ``1``."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package: systemd)")
    citywifi = Path(sys.executable).with_name("citywifi")
    assert citywifi.exists(), citywifi
    names = []
    for unit in UNITS:
        name = unit.name.replace("@.service", "@1.service")
        (tmp_path / name).write_text(unit.read_text().replace(UNIT_BINARY, str(citywifi)))
        names.append(str(tmp_path / name))
    result = subprocess.run(
        [analyze, "verify", "--man=no", *names], capture_output=True, text=True, timeout=60
    )
    ours = [line for line in result.stderr.splitlines() if "citywifi" in line]
    assert result.returncode == 0, result.stderr
    assert ours == [], ours


def test_every_unit_is_hardened_and_stops_on_sigterm() -> None:
    for unit in UNITS:
        if unit.suffix != ".service":
            continue
        text = unit.read_text()
        for line in (
            "User=citywifi",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ReadWritePaths=/var/lib/citywifi",
            "EnvironmentFile=/etc/citywifi/citywifi.env",
        ):
            assert line in text.splitlines(), (unit.name, line)
        if "Type=oneshot" not in text:
            assert "Restart=on-failure" in text, unit.name
            assert "KillSignal=SIGTERM" in text, unit.name
