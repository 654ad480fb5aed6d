"""Citizens' reports (issue 16): ``citizen_reports`` (what a citizen said, where, and the
incident it joined or opened; text and phone number sealed, the address only hashed),
``report_photos`` (one re-encoded photo per report), and ``incidents.priority`` (raised
by each report that joins an incident).

Exactly the models (a test compares the migrated schema with ``create_all``'s on SQLite
and PostgreSQL). Existing incidents get priority 0, as if no citizen had spoken of them;
the downgrade drops the two tables and the column.

Revision ID: 0013_citizen_reports
Revises: 0012_leases
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0013_citizen_reports"
down_revision: str | None = "0012_leases"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "citizen_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("problem", sa.String(length=16), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("site_id", sa.String(length=64), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("match", sa.String(length=16), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("text_sealed", sa.Text(), nullable=True),
        sa.Column("phone_sealed", sa.String(length=500), nullable=True),
        sa.Column("address_hash", sa.String(length=64), nullable=True),
        sa.Column("filed_by", sa.String(length=64), nullable=True),
        sa.Column("external_ref", sa.String(length=100), nullable=True),
        sa.Column("closed_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("external_ref"),
    )
    for column in ("received_at", "site_id", "incident_id", "address_hash", "closed_at"):
        op.create_index(op.f(f"ix_citizen_reports_{column}"), "citizen_reports", [column])
    op.create_table(
        "report_photos",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["citizen_reports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("report_id"),
    )


def downgrade() -> None:
    op.drop_table("report_photos")
    for column in ("closed_at", "address_hash", "incident_id", "site_id", "received_at"):
        op.drop_index(op.f(f"ix_citizen_reports_{column}"), table_name="citizen_reports")
    op.drop_table("citizen_reports")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("priority")
