"""``citywifi users ...``: accounts managed on the server, by whoever may run the command.

Running the command on the server is the admin right here: the CLI acts as the principal
"cli:<os user>" (address "cli"), and every change is audited under that name, like the
API's user routes audit theirs under the admin's name. The rules (names, roles, partners,
password length, token format) are :mod:`inventory.accounts`'; this module only turns
flags into calls and results into lines.

A token or password is printed once and only where asked: the token alone on stdout (so
``TOKEN=$(citywifi users token ana)`` works), every other line on stderr. Passwords are
never taken as an argument (they would land in shell history and ``ps``): a prompt, or
``--password-stdin`` for scripts.

"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from citywifi.command import CLI_ADDRESS, cli_actor, run_sync, settings_for
from core.access import AuditAction, Role
from core.errors import AccessError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


T = TypeVar("T")

_DAY_S = 86_400.0


def read_password(from_stdin: bool) -> str:
    """A new password: the first line of stdin (without its line ending), or typed twice
    at a prompt that does not echo. The length rule is checked by accounts."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise AccessError("no password on stdin")
        return password
    typed: str = typer.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
    return typed


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


users_app = typer.Typer(
    help="Users of the API and the web page: add, list, disable, tokens, passwords. "
    "Changes are audited as cli:<os user>.",
    no_args_is_help=True,
)


def in_transaction(ctx: typer.Context, body: Callable[[Session], T]) -> T:
    """Open the configured inventory (refused when missing or behind, one line) and
    run ``body`` in one transaction: the change and its audit row, or neither."""
    settings = settings_for(ctx)
    from inventory.db import open_inventory, transaction

    engine = run_sync(ctx, lambda: open_inventory(settings.db_url, create=False))
    try:

        def run() -> T:
            with transaction(engine) as session:
                return body(session)

        return run_sync(ctx, run)
    finally:
        engine.dispose()


def audited(session: Session, action: AuditAction, target: str, detail: str | None) -> None:
    from inventory import audit

    audit.record(
        session, action, actor=cli_actor(), target=target, address=CLI_ADDRESS,
        detail=detail, now=time.time(),
    )  # fmt: skip


def expiry(days: int | None, now: float) -> float | None:
    return None if days is None else now + days * _DAY_S


@users_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Lower-case letters, digits, . _ -")],
    role: Annotated[Role, typer.Option(help="What the user may do.")],
    partner: Annotated[
        str | None, typer.Option(help="The partner id a partner user is bound to.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read a web login password from stdin.")
    ] = False,
    expires_days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="The token expires after N days.")
    ] = None,
    label: Annotated[str | None, typer.Option(help="A note on the token.")] = None,
) -> None:
    """Add a user; print its first API token (once, on stdout: keep it)."""
    password = run_sync(ctx, lambda: read_password(True)) if password_stdin else None
    from inventory import accounts

    def body(session: Session) -> accounts.NewToken:
        now = time.time()
        user = accounts.create_user(
            session, name, role, partner_id=partner, password=password, now=now
        )
        detail = f"role {user.role.value}" + (f", partner {partner}" if partner else "")
        audited(session, AuditAction.USER_CREATED, name, detail)
        if password is not None:
            audited(session, AuditAction.PASSWORD_SET, name, None)
        new = accounts.issue_token(
            session, name, label=label, expires_at=expiry(expires_days, now), now=now
        )
        audited(session, AuditAction.TOKEN_CREATED, name, f"token {new.info.id}")
        return new

    new = in_transaction(ctx, body)
    typer.echo(
        f"added user {name} ({role.value}{', partner ' + partner if partner else ''}); "
        f"its token {new.info.id} follows, shown once",
        err=True,
    )
    typer.echo(new.token)


@users_app.command("list")
def list_(
    ctx: typer.Context,
    partner: Annotated[str | None, typer.Option(help="Only this partner's users.")] = None,
) -> None:
    """List users (name, role, partner, state, password, created)."""
    from inventory import accounts

    def body(session: Session) -> list[accounts.UserInfo]:
        found: list[accounts.UserInfo] = []
        while True:
            page, total = accounts.list_users(
                session, partner_id=partner, limit=500, offset=len(found)
            )
            found += page
            if not page or len(found) >= total:
                return found

    users = in_transaction(ctx, body)
    if not users:
        typer.echo("no users", err=True)
        return
    rows = [("NAME", "ROLE", "PARTNER", "STATE", "PASSWORD", "CREATED")]
    rows += [
        (
            u.name,
            u.role.value,
            u.partner_id or "-",
            "disabled" if u.disabled else "enabled",
            "yes" if u.has_password else "no",
            _when(u.created_at),
        )
        for u in users
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def set_state(ctx: typer.Context, name: str, disabled: bool) -> None:
    from inventory import accounts

    def body(session: Session) -> None:
        accounts.set_disabled(session, name, disabled, now=time.time())
        action = AuditAction.USER_DISABLED if disabled else AuditAction.USER_ENABLED
        audited(session, action, name, None)

    in_transaction(ctx, body)
    typer.echo(f"{'disabled' if disabled else 'enabled'} user {name}", err=True)


@users_app.command("disable")
def disable(ctx: typer.Context, name: str) -> None:
    """Disable a user. Its tokens are refused and its web sessions end at once."""
    set_state(ctx, name, True)


@users_app.command("enable")
def enable(ctx: typer.Context, name: str) -> None:
    """Enable a user again. Its tokens that are not revoked work again."""
    set_state(ctx, name, False)


@users_app.command("token")
def token(
    ctx: typer.Context,
    name: str,
    expires_days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="Expires after N days.")
    ] = None,
    label: Annotated[str | None, typer.Option(help="A note on the token.")] = None,
) -> None:
    """Issue a new API token; print it (once, on stdout: keep it)."""
    from inventory import accounts

    def body(session: Session) -> accounts.NewToken:
        now = time.time()
        new = accounts.issue_token(
            session, name, label=label, expires_at=expiry(expires_days, now), now=now
        )
        audited(session, AuditAction.TOKEN_CREATED, name, f"token {new.info.id}")
        return new

    new = in_transaction(ctx, body)
    typer.echo(f"token {new.info.id} for {name} follows, shown once", err=True)
    typer.echo(new.token)


@users_app.command("tokens")
def tokens(ctx: typer.Context, name: str) -> None:
    """List a user's tokens. Ids, dates and labels: never the tokens."""
    from inventory import accounts

    found = in_transaction(ctx, lambda session: accounts.list_tokens(session, name))
    if not found:
        typer.echo(f"{name} has no tokens", err=True)
        return
    for t in found:
        state = "revoked" if t.revoked_at is not None else "active"
        typer.echo(
            f"{t.id}  {state}  created {_when(t.created_at)}  expires {_when(t.expires_at)}"
            f"  last used {_when(t.last_used_at)}  {t.label or ''}".rstrip()
        )


@users_app.command("revoke")
def revoke(ctx: typer.Context, name: str, token_id: int) -> None:
    """Revoke one of a user's tokens. `citywifi users tokens NAME` shows the ids."""
    from inventory import accounts

    def body(session: Session) -> None:
        accounts.revoke_token(session, name, token_id, now=time.time())
        audited(session, AuditAction.TOKEN_REVOKED, name, f"token {token_id}")

    in_transaction(ctx, body)
    typer.echo(f"revoked token {token_id} of {name}", err=True)


@users_app.command("password")
def password(
    ctx: typer.Context,
    name: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Set a user's web login password. Prompted twice, or read from stdin; the
    user's web sessions end."""
    new_password = run_sync(ctx, lambda: read_password(password_stdin))
    from inventory import accounts

    def body(session: Session) -> None:
        accounts.set_password(session, name, new_password, now=time.time())
        audited(session, AuditAction.PASSWORD_SET, name, None)

    in_transaction(ctx, body)
    typer.echo(f"password of {name} set", err=True)
