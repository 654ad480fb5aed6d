"""``citywifi secrets``: the key that seals the device secrets in the inventory.

``rotate-key`` replaces the key in three steps, each of which leaves every secret
readable if the process dies right after it (a crash, a power cut, Ctrl-C):

1. the key file is rewritten, atomically, as [new key, old keys...]: the rows are still
   sealed with an old key, which is still there;
2. every secret is resealed with the new key in one transaction, audited (KEY_ROTATED)
   in the same one: all rows or none, and either way a key in the file opens them;
3. the key file is rewritten as [new key]: the rows need only that one now.

Rerunning after a crash simply rotates again. Keys set by the ``secret_key`` setting are
never written by citywifi: then the operator puts the new key first in the setting and
``rotate-key`` does step 2 only, after which the older keys can be removed from it.

"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TypeVar

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from citywifi.command import CLI_ADDRESS, cli_actor, run_sync, settings_for
from core.access import AuditAction
from core.settings import Settings
from inventory import audit
from inventory.db import open_inventory, transaction
from inventory.secretbox import (
    SETTING_SOURCE,
    SecretBox,
    generate_key,
    load_box,
    open_rows,
    reseal_rows,
    write_key_file,
)

T = TypeVar("T")

secrets_app = typer.Typer(
    help="Device secrets (SNMP communities and keys, SSH passwords) are sealed in the"
    " inventory with a key from the secret_key setting or the key file"
    " (<data dir>/secret.key by default, made 0600 on first use)."
)


@dataclass(frozen=True)
class Rotation:
    resealed: int  # secret values sealed again with the new key
    source: str  # where the keys are: the key file, or the setting


def rotate_key(settings: Settings, engine: Engine, *, actor: str, now: float) -> Rotation:
    """Seal every device secret with a new key; crash-safe (see the module docstring)."""
    box = load_box(settings)
    if settings.secret_key is not None:
        return Rotation(_reseal(engine, box, actor=actor, now=now), SETTING_SOURCE)
    path = settings.secret_key_path.resolve()
    # Nothing changes unless the current keys open every secret: rotating away from a
    # wrong key file would only bury the right one.
    with Session(engine) as session:
        open_rows(session, box)
    new = generate_key()
    write_key_file(path, [new, *box.keys])  # 1
    resealed = _reseal(engine, SecretBox([new, *box.keys], str(path)), actor=actor, now=now)  # 2
    write_key_file(path, [new])  # 3
    return Rotation(resealed, str(path))


def _reseal(engine: Engine, box: SecretBox, *, actor: str, now: float) -> int:
    with transaction(engine) as session:
        count = reseal_rows(session, box)
        audit.record(
            session,
            AuditAction.KEY_ROTATED,
            actor=actor,
            target=box.source,
            address=CLI_ADDRESS,
            detail=f"{count} sealed value(s) sealed with the new key",
            now=now,
        )
    return count


@secrets_app.command("rotate-key")
def rotate_key_command(ctx: typer.Context) -> None:
    """Seal every device secret in the inventory with a new key.

    With the key file: a new key is made and the old one dropped, safely at any moment.
    With the secret_key setting: put the new key first there (comma-separated, newest
    first), run this, then remove the older keys from the setting."""
    settings = settings_for(ctx)
    engine = run_sync(ctx, lambda: open_inventory(settings.db_url, create=False))
    try:
        done = run_sync(
            ctx, lambda: rotate_key(settings, engine, actor=cli_actor(), now=time.time())
        )
    finally:
        engine.dispose()
    typer.echo(f"resealed {done.resealed} sealed value(s) with the newest key in {done.source}")
    if settings.secret_key is not None:
        typer.echo("the older keys in the secret_key setting are no longer needed: remove them")


__all__ = ["Rotation", "rotate_key", "secrets_app"]
