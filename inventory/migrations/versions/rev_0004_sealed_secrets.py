"""Device secrets sealed at rest: the four secret columns widened to Text and every value
stored in clear sealed in place (``inventory.secretbox``); the downgrade opens them again.

Sealing needs the key, which the caller passes (``citywifi db upgrade`` loads it from the
settings or the key file: ``secret_box`` in the Alembic config attributes, handed to the
migration context by ``env.py``). A database without credentials needs none. Widening
comes first since a sealed value is longer than the 200 characters the clear one had;
the downgrade narrows last, once the values are clear again. All in the migration's one
transaction: a failure leaves every secret as it was.

Revision ID: 0004_sealed_secrets
Revises: 0003_access
Create Date: 2026-01-04
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from core.errors import DatabaseError
from inventory.secretbox import SecretBox

revision: str = "0004_sealed_secrets"
down_revision: str | None = "0003_access"
branch_labels: str | None = None
depends_on: str | None = None

SECRET_COLUMNS = ("snmp_community", "snmp_auth_key", "snmp_priv_key", "ssh_password")

# The table as this migration sees it (not the models, which move on).
_PROFILES = sa.table(
    "credential_profiles",
    sa.column("id", sa.String()),
    *(sa.column(name, sa.Text()) for name in SECRET_COLUMNS),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # The clear values must not survive in freed pages or cells of the file (the
        # table copy of batch mode, the rows rewritten below): SQLite zeroes them.
        op.execute("PRAGMA secure_delete = ON")
    _retype(sa.String(length=200), sa.Text())
    _convert("seal", lambda box, value: box.seal(value))


def downgrade() -> None:
    _convert("open", lambda box, value: box.open(value))
    _retype(sa.Text(), sa.String(length=200))


def _retype(old: sa.types.TypeEngine[str], new: sa.types.TypeEngine[str]) -> None:
    with op.batch_alter_table("credential_profiles") as batch:
        for name in SECRET_COLUMNS:
            batch.alter_column(name, existing_type=old, type_=new, existing_nullable=True)


def _convert(verb: str, change: Callable[[SecretBox, str], str | None]) -> None:
    """Apply ``change`` to every stored secret (one UPDATE per profile: profiles are few)."""
    connection = op.get_bind()
    rows = connection.execute(sa.select(_PROFILES)).all()
    if not any(getattr(row, name) is not None for row in rows for name in SECRET_COLUMNS):
        return
    box = op.get_context().opts.get("secret_box")
    if not isinstance(box, SecretBox):
        raise DatabaseError(
            f"migration {revision} must {verb} the device secrets of the inventory and "
            "needs the secret key, which it was not given (`citywifi db upgrade` loads it "
            "from the settings or the key file)"
        )
    for row in rows:
        values = {
            name: change(box, getattr(row, name))
            for name in SECRET_COLUMNS
            if getattr(row, name) is not None
        }
        if values:
            connection.execute(
                sa.update(_PROFILES).where(_PROFILES.c.id == row.id).values(**values)
            )
