"""Device secrets from the command line: sealed by import and `db upgrade`, written out only
with `inventory export --include-secrets` (audited), and `secrets rotate-key`."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from citywifi.cli import app
from citywifi.command import CLI_ADDRESS, cli_actor
from core.access import AuditAction
from core.settings import Settings
from inventory import migrations
from inventory.audit import AuditRecord, entries
from inventory.db import open_inventory
from inventory.engine import make_engine
from inventory.secretbox import generate_key, read_key_file

runner = CliRunner()

CITY = """\
credentials:
  - {id: c1, snmp: {version: "2c", community: s3cret-community}}
  - id: c2
    snmp: {version: 3, user: noc, auth_key: auth-S3CRET-key, priv_key: priv-S3CRET-key}
    ssh: {username: admin, password: ssh-S3CRET-pass}
sites:
  - {id: s1, name: Taman, lat: -6.24, lon: 106.99, kind: park}
aps:
  - {id: ap1, site: s1, name: taman-1, host: 127.1.0.1, credentials: c1}
  - {id: ap2, site: s1, name: taman-2, host: 127.1.0.2, credentials: c2}
"""
SECRETS = ("s3cret-community", "auth-S3CRET-key", "priv-S3CRET-key", "ssh-S3CRET-pass")


@pytest.fixture
def data(tmp_path: Path, database_url: str) -> Path:
    """The default data dir (the CLI tests run in ``tmp_path``), with CITY imported (into
    the run's database: ``inventory.sqlite`` there, or PostgreSQL)."""
    (tmp_path / "city.yaml").write_text(CITY)
    result = runner.invoke(app, ["inventory", "import", "city.yaml"])
    assert result.exit_code == 0, result.output
    return tmp_path / ".citywifi"


def audit_log(data: Path, action: AuditAction) -> list[AuditRecord]:
    engine = open_inventory(Settings(data_dir=data).db_url, create=False)
    try:
        with Session(engine) as session:
            return entries(session, action=action)[0]
    finally:
        engine.dispose()


def database_bytes(data: Path) -> bytes:
    """The SQLite inventory's bytes (nothing under PostgreSQL: its secrets at rest are
    checked by tests/inventory/test_sealed_secrets.py)."""
    return b"".join(p.read_bytes() for p in sorted(data.glob("inventory.sqlite*")))


def test_import_seals_with_a_new_private_key_file_and_is_audited(data: Path) -> None:
    key_file = data / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not [s for s in SECRETS if s.encode() in database_bytes(data)]
    (imported,) = audit_log(data, AuditAction.INVENTORY_IMPORTED)
    assert (imported.actor, imported.address, imported.target) == (
        cli_actor(),
        CLI_ADDRESS,
        "city.yaml",
    )
    assert imported.detail is not None and "credentials 2 created" in imported.detail
    assert not [s for s in SECRETS if s in imported.detail]


def test_export_leaves_secrets_out_unless_asked_and_is_not_audited(data: Path) -> None:
    result = runner.invoke(app, ["inventory", "export"])
    assert result.exit_code == 0, result.output
    assert not [s for s in SECRETS if s in result.output]
    assert "user: noc" in result.stdout and "username: admin" in result.stdout
    assert "note: device secrets left out (--include-secrets writes them)" in result.stderr
    assert audit_log(data, AuditAction.SECRETS_EXPORTED) == []


def test_export_with_secrets_is_private_complete_and_audited(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "backup.yaml"
    result = runner.invoke(app, ["inventory", "export", "--include-secrets", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    written = out.read_text()
    assert all(s in written for s in SECRETS)
    assert not [s for s in SECRETS if s in result.output]  # only in the file
    assert "the export contains SNMP and SSH credentials in clear" in result.stderr
    (exported,) = audit_log(data, AuditAction.SECRETS_EXPORTED)
    assert (exported.actor, exported.address, exported.target) == (
        cli_actor(),
        CLI_ADDRESS,
        str(out),
    )
    # The full backup restores into a new database (with its own new key).
    restored = runner.invoke(app, ["--data-dir", "restored", "inventory", "import", str(out)])
    assert restored.exit_code == 0, restored.output
    again = runner.invoke(
        app, ["--data-dir", "restored", "inventory", "export", "--include-secrets"]
    )
    assert again.exit_code == 0 and all(s in again.stdout for s in SECRETS)


def test_rotate_key_replaces_the_key_and_keeps_every_secret(data: Path) -> None:
    key_file = data / "secret.key"
    before = read_key_file(key_file)
    result = runner.invoke(app, ["secrets", "rotate-key"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"resealed 4 sealed value(s) with the newest key in {key_file}\n"
    after = read_key_file(key_file)
    assert after is not None and len(after) == 1 and after != before
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    exported = runner.invoke(app, ["inventory", "export", "--include-secrets"])
    assert exported.exit_code == 0 and all(s in exported.stdout for s in SECRETS)
    (rotated,) = audit_log(data, AuditAction.KEY_ROTATED)
    assert (rotated.actor, rotated.address, rotated.target) == (
        cli_actor(),
        CLI_ADDRESS,
        str(key_file),
    )


def test_rotate_key_with_the_setting_says_to_drop_the_old_keys(tmp_path: Path) -> None:
    old, new = generate_key(), generate_key()
    (tmp_path / "city.yaml").write_text(CITY)
    env = {"CITYWIFI_SECRET_KEY": old}
    assert runner.invoke(app, ["inventory", "import", "city.yaml"], env=env).exit_code == 0
    env = {"CITYWIFI_SECRET_KEY": f"{new},{old}"}
    result = runner.invoke(app, ["secrets", "rotate-key"], env=env)
    assert result.exit_code == 0, result.output
    assert "the older keys in the secret_key setting are no longer needed" in result.stdout
    exported = runner.invoke(
        app, ["inventory", "export", "--include-secrets"], env={"CITYWIFI_SECRET_KEY": new}
    )
    assert exported.exit_code == 0 and all(s in exported.stdout for s in SECRETS)
    assert not (tmp_path / ".citywifi" / "secret.key").exists()
    assert old not in result.output and new not in result.output


@pytest.mark.parametrize(
    "command",
    [["inventory", "export", "--include-secrets"], ["secrets", "rotate-key"]],
    ids=["export", "rotate-key"],
)
def test_a_wrong_key_file_is_one_line_naming_it(data: Path, command: list[str]) -> None:
    key_file = data / "secret.key"
    key_file.write_text(generate_key() + "\n")
    result = runner.invoke(app, command)
    assert result.exit_code == 1
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(f"error: cannot open the device secrets in the inventory with the "
                            f"key(s) in {key_file}: ")  # fmt: skip
    assert not [s for s in SECRETS if s in result.output]
    assert "Traceback" not in result.output


def test_a_bad_key_setting_is_one_line_without_the_key(data: Path) -> None:
    result = runner.invoke(
        app, ["inventory", "export", "--include-secrets"], env={"CITYWIFI_SECRET_KEY": "hunter2"}
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "error: key 1 in the secret_key setting (CITYWIFI_SECRET_KEY) is not a Fernet key "
        "(44 characters of url-safe base64); `citywifi secrets rotate-key` makes key files"
    )
    assert "hunter2" not in result.output


@pytest.mark.sqlite_only("reads the SQLite file's bytes before and after the upgrade")
def test_db_upgrade_seals_the_clear_secrets_of_an_older_database(tmp_path: Path) -> None:
    data = tmp_path / ".citywifi"
    data.mkdir()
    url = f"sqlite:///{data / 'inventory.sqlite'}"
    migrations.upgrade(url, to="0002_ap_events")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO credential_profiles (id, snmp_version, snmp_community) "
                "VALUES ('c1', '2c', 's3cret-community')"
            )
        )
    engine.dispose()
    assert b"s3cret-community" in database_bytes(data)

    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(f"upgraded from 0002_ap_events to {migrations.head()}\n")
    assert b"s3cret-community" not in database_bytes(data)
    exported = runner.invoke(app, ["inventory", "export", "--include-secrets"])
    assert exported.exit_code == 0 and "community: s3cret-community" in exported.stdout
