"""Scale-out (issue 15): ``collectors`` (heartbeats of the collector processes sharing
the APs), ``ap_leases`` (which collector polls which AP, until when) and
``leader_leases`` (the one fault engine that acts for the city, with a fencing term).

Exactly the models (a test compares the migrated schema with ``create_all``'s on SQLite
and PostgreSQL). Only new tables: every existing row stays as it is. An AP gets its lease
row from the first collector that runs after the upgrade; the downgrade drops the three
tables, and a collector of the older version then polls by ``--shard`` as before.

Revision ID: 0012_leases
Revises: 0011_reports
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012_leases"
down_revision: str | None = "0011_reports"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "collectors",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_collectors_last_seen"), "collectors", ["last_seen"])
    op.create_table(
        "ap_leases",
        sa.Column("ap_id", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["ap_id"], ["access_points.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ap_id"),
    )
    op.create_index(op.f("ix_ap_leases_owner"), "ap_leases", ["owner"])
    op.create_index(op.f("ix_ap_leases_lease_until"), "ap_leases", ["lease_until"])
    op.create_table(
        "leader_leases",
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("role"),
    )


def downgrade() -> None:
    op.drop_table("leader_leases")
    op.drop_index(op.f("ix_ap_leases_lease_until"), table_name="ap_leases")
    op.drop_index(op.f("ix_ap_leases_owner"), table_name="ap_leases")
    op.drop_table("ap_leases")
    op.drop_index(op.f("ix_collectors_last_seen"), table_name="collectors")
    op.drop_table("collectors")
