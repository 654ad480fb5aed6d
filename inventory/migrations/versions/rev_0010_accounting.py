"""RADIUS accounting (issue 12): ``accounting_sessions`` (hotspot sessions from the NAS's
accounting), ``user_hash_keys`` (the sealed monthly keys of the user hashes) and
``credential_profiles.radius_secret`` (the NAS shared secret, sealed like the others).

Exactly the models (a test compares the migrated schema with ``create_all``'s on SQLite
and PostgreSQL). The new column is nullable and appended, so both engines add it in place
and every profile keeps its row (no RADIUS secret yet); no value needs sealing, so unlike
0004 this migration needs no key. The downgrade drops the column (batch mode on SQLite,
which copies the table) and the two tables; the sessions and keys go with them.

Revision ID: 0010_accounting
Revises: 0009_candidate_sites
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010_accounting"
down_revision: str | None = "0009_candidate_sites"
branch_labels: str | None = None
depends_on: str | None = None

_SESSION_INDEXES = (
    "ap_id",
    "site_id",
    "partner_id",
    "state",
    "started_at",
    "stopped_at",
    "user_hash",
    "station_hash",
)


def upgrade() -> None:
    op.add_column("credential_profiles", sa.Column("radius_secret", sa.Text(), nullable=True))
    op.create_table(
        "accounting_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ap_id", sa.String(length=64), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=True),
        sa.Column("nas_session_id", sa.String(length=253), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("stopped_at", sa.Float(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("input_octets", sa.BigInteger(), nullable=False),
        sa.Column("output_octets", sa.BigInteger(), nullable=False),
        sa.Column("input_packets", sa.BigInteger(), nullable=False),
        sa.Column("output_packets", sa.BigInteger(), nullable=False),
        sa.Column("terminate_cause", sa.String(length=32), nullable=True),
        sa.Column("key_month", sa.String(length=7), nullable=False),
        sa.Column("user_hash", sa.String(length=32), nullable=True),
        sa.Column("station_hash", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ap_id", "nas_session_id", "generation"),
    )
    for column in _SESSION_INDEXES:
        op.create_index(
            op.f(f"ix_accounting_sessions_{column}"), "accounting_sessions", [column], unique=False
        )
    op.create_table(
        "user_hash_keys",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("month"),
    )


def downgrade() -> None:
    op.drop_table("user_hash_keys")
    for column in reversed(_SESSION_INDEXES):
        op.drop_index(op.f(f"ix_accounting_sessions_{column}"), table_name="accounting_sessions")
    op.drop_table("accounting_sessions")
    with op.batch_alter_table("credential_profiles") as batch:
        batch.drop_column("radius_secret")
