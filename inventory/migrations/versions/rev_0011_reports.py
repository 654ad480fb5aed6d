"""Partner reports (issue 13): a partner's own SLA target and report addresses
(``partners.sla_target_pct``, ``partners.report_to``) and ``report_deliveries`` (which
monthly report went to which partner, so the schedule never sends one twice).

Exactly the models (a test compares the migrated schema with ``create_all``'s on SQLite
and PostgreSQL). Both columns are nullable and appended, so both engines add them in place
and every partner keeps its row with the defaults (the setting's target, no e-mail). The
downgrade drops the table and the columns (batch mode on SQLite, which copies the table).

Revision ID: 0011_reports
Revises: 0010_accounting
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011_reports"
down_revision: str | None = "0010_accounting"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("partners", sa.Column("sla_target_pct", sa.Float(), nullable=True))
    op.add_column("partners", sa.Column("report_to", sa.String(length=1000), nullable=True))
    op.create_table(
        "report_deliveries",
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("claimed_at", sa.Float(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.Column("recipients", sa.String(length=1000), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("partner_id", "month"),
    )


def downgrade() -> None:
    op.drop_table("report_deliveries")
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("report_to")
        batch.drop_column("sla_target_pct")
