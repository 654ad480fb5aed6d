"""AP state changes as data: the ``ap_events`` table and ``ap_status.last_cause``.

Revision ID: 0002_ap_events
Revises: 0001_initial
Create Date: 2026-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002_ap_events"
down_revision: str | None = "0001_initial"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "ap_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ap_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["ap_id"], ["access_points.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_ap_events_ap_id"), "ap_events", ["ap_id"], unique=False)
    op.create_index(op.f("ix_ap_events_at"), "ap_events", ["at"], unique=False)
    # A plain ADD COLUMN, even on SQLite: batch mode copies the table only when it must.
    with op.batch_alter_table("ap_status") as batch:
        batch.add_column(sa.Column("last_cause", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ap_status") as batch:
        batch.drop_column("last_cause")
    op.drop_index(op.f("ix_ap_events_at"), table_name="ap_events")
    op.drop_index(op.f("ix_ap_events_ap_id"), table_name="ap_events")
    op.drop_table("ap_events")
