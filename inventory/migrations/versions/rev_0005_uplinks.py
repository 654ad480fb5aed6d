"""Topology: the ``uplinks`` table and ``sites.uplink_id`` (which uplink a site hangs off).

Exactly the models (a test compares the migrated schema with ``create_all``'s on SQLite
and PostgreSQL). The column is nullable and starts empty, so every existing site keeps
its row as it was: a city without topology is still a valid city. SQLite cannot add a
foreign key to an existing table, so batch mode copies ``sites`` there (its rows with
it); PostgreSQL adds the column and the constraint in place. The downgrade drops the
column (and with it the key and index), then the table.

Revision ID: 0005_uplinks
Revises: 0004_sealed_secrets
Create Date: 2026-01-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_uplinks"
down_revision: str | None = "0004_sealed_secrets"
branch_labels: str | None = None
depends_on: str | None = None

# The name create_all gives the key on PostgreSQL (<table>_<column>_fkey), so a database
# made either way has the same constraint. The downgrade does not name it (create_all
# leaves it unnamed on SQLite): dropping the column takes the key with it on both.
_SITE_UPLINK_FK = "sites_uplink_id_fkey"


def upgrade() -> None:
    op.create_table(
        "uplinks",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("operator", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("uplink_id", sa.String(length=64), nullable=True))
        batch.create_index(batch.f("ix_sites_uplink_id"), ["uplink_id"], unique=False)
        batch.create_foreign_key(_SITE_UPLINK_FK, "uplinks", ["uplink_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.drop_index(batch.f("ix_sites_uplink_id"))
        batch.drop_column("uplink_id")
    op.drop_table("uplinks")
