"""Maintenance windows (issue 10): the ``maintenance_windows`` table, and an uplink's
capacity (``uplinks.capacity_mbps``, for ``backhaul_saturated``).

Exactly the models (a test compares the migrated schema with ``create_all``'s on SQLite
and PostgreSQL). A new table, and a nullable column that starts empty (an uplink whose
capacity is not known is never judged saturated), so no existing row changes; adding a
plain nullable column needs no table copy on SQLite either. The downgrade drops both.

Revision ID: 0007_maintenance
Revises: 0006_incidents
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007_maintenance"
down_revision: str | None = "0006_incidents"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope_kind", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.String(length=64), nullable=False),
        sa.Column("starts_at", sa.Float(), nullable=False),
        sa.Column("ends_at", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("scope_id", "starts_at", "ends_at"):
        op.create_index(op.f(f"ix_maintenance_windows_{column}"), "maintenance_windows", [column])
    op.add_column("uplinks", sa.Column("capacity_mbps", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uplinks") as batch:
        batch.drop_column("capacity_mbps")
    for column in ("scope_id", "starts_at", "ends_at"):
        op.drop_index(op.f(f"ix_maintenance_windows_{column}"), table_name="maintenance_windows")
    op.drop_table("maintenance_windows")
