"""``citywifi users ...`` as an admin on the server uses it: the token alone on stdout,
passwords never as arguments, every change audited as cli:<os user>, errors one line."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from citywifi.cli import app
from citywifi.command import cli_actor
from core.access import AuditAction, Role
from core.errors import AccessError
from core.settings import Settings
from inventory import accounts, audit
from inventory.db import open_inventory, transaction
from inventory.models import Partner

runner = CliRunner()
PASSWORD = "a long enough password"


@pytest.fixture
def data_dir(tmp_path: Path, database_url: str) -> Path:
    """The commands' data dir; their inventory is the run's database (``--database``)."""
    return tmp_path / "state"


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    """The inventory the commands use (``--data-dir``), holding partner p-bank."""
    engine = open_inventory(Settings(data_dir=data_dir).db_url, create=True)
    with transaction(engine) as session:
        session.add(Partner(id="p-bank", name="Bank"))
    yield engine
    engine.dispose()


def users(data_dir: Path, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, ["--data-dir", str(data_dir), "users", *args], input=stdin)


def principal(engine: Engine, token: str) -> str | None:
    with Session(engine) as session:
        found = accounts.principal_for_token(session, token, now=time.time())
        return None if found is None else found.name


def test_add_prints_the_token_alone_on_stdout(engine: Engine, data_dir: Path) -> None:
    result = users(data_dir, "add", "ana", "--role", "admin")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert result.stdout == token + "\n" and token.startswith(accounts.TOKEN_PREFIX)
    assert token not in result.stderr
    assert "added user ana (admin)" in result.stderr
    assert principal(engine, token) == "ana"
    with Session(engine) as session:
        rows, _ = audit.entries(session)
    assert [(r.action, r.actor, r.address, r.target) for r in reversed(rows)] == [
        (AuditAction.USER_CREATED, cli_actor(), "cli", "ana"),
        (AuditAction.TOKEN_CREATED, cli_actor(), "cli", "ana"),
    ]
    assert all(token not in (r.detail or "") for r in rows)


def test_add_partner_with_password_from_stdin(engine: Engine, data_dir: Path) -> None:
    result = users(
        data_dir, "add", "bank.ops", "--role", "partner", "--partner", "p-bank",
        "--password-stdin", "--expires-days", "30", "--label", "grafana",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    with Session(engine) as session:
        user = accounts.get_user(session, "bank.ops")
        assert user is not None and (user.role, user.partner_id) == (Role.PARTNER, "p-bank")
        found = accounts.check_login(
            session, "bank.ops", PASSWORD, address=None, now=time.time(), settings=Settings()
        )
        assert found.partner_id == "p-bank"
        (token,) = accounts.list_tokens(session, "bank.ops")
        assert token.label == "grafana" and token.expires_at is not None
        assert token.expires_at - token.created_at == pytest.approx(30 * 86_400)
        actions = [r.action for r in audit.entries(session)[0]]
    assert AuditAction.PASSWORD_SET in actions


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["add", "bank", "--role", "partner"], None, "a partner user needs a partner"),
        (["add", "eng", "--role", "engineer", "--partner", "p-bank"], None, "only partner"),
        (["add", "b", "--role", "partner", "--partner", "p-x"], None, "no partner 'p-x'"),
        (["add", "Ana", "--role", "admin"], None, "bad user name 'Ana'"),
        (["add", "ana", "--role", "admin", "--password-stdin"], "short\n", "at least 12"),
        (["add", "ana", "--role", "admin", "--password-stdin"], "", "no password on stdin"),
        (["disable", "ghost"], None, "no user named 'ghost'"),
        (["token", "ghost"], None, "no user named 'ghost'"),
        (["revoke", "ghost", "1"], None, "no user named 'ghost'"),
        (["password", "ghost", "--password-stdin"], PASSWORD + "\n", "no user named 'ghost'"),
    ],
)
def test_refusals_are_one_line_and_change_nothing(
    engine: Engine, data_dir: Path, args: list[str], stdin: str | None, message: str
) -> None:
    result = users(data_dir, *args, stdin=stdin)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")
    assert message in result.stderr
    with Session(engine) as session:
        assert accounts.list_users(session) == ([], 0)
        assert audit.entries(session) == ([], 0)


def test_without_a_database_nothing_is_created(tmp_path: Path) -> None:
    result = users(tmp_path / "none", "add", "ana", "--role", "admin")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no inventory database at ")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "none").exists()


def test_list_and_partner_filter(engine: Engine, data_dir: Path) -> None:
    assert users(data_dir, "list").stderr == "no users\n"
    users(data_dir, "add", "zed", "--role", "planner")
    users(data_dir, "add", "bank1", "--role", "partner", "--partner", "p-bank")
    users(data_dir, "disable", "zed")
    lines = users(data_dir, "list").stdout.splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "PARTNER", "STATE", "PASSWORD", "CREATED"]
    assert [line.split()[:5] for line in lines[1:]] == [
        ["bank1", "partner", "p-bank", "enabled", "no"],
        ["zed", "planner", "-", "disabled", "no"],
    ]
    only = users(data_dir, "list", "--partner", "p-bank").stdout.splitlines()
    assert [line.split()[0] for line in only[1:]] == ["bank1"]


def test_disable_enable_token_revoke(engine: Engine, data_dir: Path) -> None:
    first = users(data_dir, "add", "ana", "--role", "engineer").stdout.strip()
    assert users(data_dir, "disable", "ana").stderr == "disabled user ana\n"
    assert principal(engine, first) is None
    assert users(data_dir, "enable", "ana").exit_code == 0
    assert principal(engine, first) == "ana"

    made = users(data_dir, "token", "ana", "--label", "ci")
    second = made.stdout.strip()
    assert made.stdout == second + "\n" and second != first
    assert principal(engine, second) == "ana"
    listed = users(data_dir, "tokens", "ana").stdout
    assert first not in listed and second not in listed
    ids = [line.split()[0] for line in listed.splitlines()]
    assert len(ids) == 2 and "ci" in listed.splitlines()[1]

    assert users(data_dir, "revoke", "ana", ids[0]).exit_code == 0
    assert principal(engine, first) is None and principal(engine, second) == "ana"
    assert "revoked" in users(data_dir, "tokens", "ana").stdout.splitlines()[0]
    refused = users(data_dir, "revoke", "ana", "999")
    assert refused.exit_code == 1 and "has no token 999" in refused.stderr
    with Session(engine) as session:
        actions = [r.action for r in reversed(audit.entries(session)[0])]
    assert actions == [
        AuditAction.USER_CREATED,
        AuditAction.TOKEN_CREATED,
        AuditAction.USER_DISABLED,
        AuditAction.USER_ENABLED,
        AuditAction.TOKEN_CREATED,
        AuditAction.TOKEN_REVOKED,
    ]


def login(engine: Engine, password: str) -> str:
    with Session(engine) as session:
        return accounts.check_login(
            session, "ana", password, address=None, now=time.time(), settings=Settings()
        ).name


def test_password_prompted_twice_or_from_stdin(engine: Engine, data_dir: Path) -> None:
    users(data_dir, "add", "ana", "--role", "admin")
    result = users(data_dir, "password", "ana", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert login(engine, PASSWORD) == "ana"

    other = "another long password"
    assert users(data_dir, "password", "ana", "--password-stdin", stdin=other).exit_code == 0
    assert login(engine, other) == "ana"
    with pytest.raises(AccessError):
        login(engine, PASSWORD)
