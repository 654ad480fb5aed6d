"""Candidate sites (issue 11): ``candidate_sites``, the places the city could build a new
site, among which the coverage suggestions choose.

Exactly the model (a test compares the migrated schema with ``create_all``'s on SQLite
and PostgreSQL). A new table only, so no existing row is touched; the downgrade drops it.

Revision ID: 0009_candidate_sites
Revises: 0008_notifications
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009_candidate_sites"
down_revision: str | None = "0008_notifications"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "candidate_sites",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("coverage_radius_m", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("candidate_sites")
