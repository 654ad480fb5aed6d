"""Incidents (issue 10): ``incidents``, their member APs ``incident_aps`` and their
timeline ``incident_entries``.

Exactly the tables of :mod:`inventory.models` (a test compares the migrated schema with
``create_all``'s on SQLite and PostgreSQL). New tables only, so no batch mode is needed and
no existing row is touched; the downgrade drops them, children first.

Revision ID: 0006_incidents
Revises: 0005_uplinks
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006_incidents"
down_revision: str | None = "0005_uplinks"
branch_labels: str | None = None
depends_on: str | None = None

_INCIDENT_INDEXES = ("kind", "scope_id", "district_id", "state", "opened_at", "resolved_at")


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("scope_kind", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.String(length=64), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("acknowledged_at", sa.Float(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("responsible", sa.String(length=32), nullable=False),
        sa.Column("explanation", sa.String(length=1000), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["merged_into"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in (*_INCIDENT_INDEXES, "merged_into"):
        op.create_index(op.f(f"ix_incidents_{column}"), "incidents", [column], unique=False)
    op.create_table(
        "incident_aps",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("ap_id", sa.String(length=64), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("since", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["ap_id"], ["access_points.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("incident_id", "ap_id"),
    )
    op.create_index(op.f("ix_incident_aps_ap_id"), "incident_aps", ["ap_id"], unique=False)
    op.create_index(op.f("ix_incident_aps_site_id"), "incident_aps", ["site_id"], unique=False)
    op.create_table(
        "incident_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_incident_entries_incident_id"), "incident_entries", ["incident_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_incident_entries_incident_id"), table_name="incident_entries")
    op.drop_table("incident_entries")
    op.drop_index(op.f("ix_incident_aps_site_id"), table_name="incident_aps")
    op.drop_index(op.f("ix_incident_aps_ap_id"), table_name="incident_aps")
    op.drop_table("incident_aps")
    for column in reversed((*_INCIDENT_INDEXES, "merged_into")):
        op.drop_index(op.f(f"ix_incidents_{column}"), table_name="incidents")
    op.drop_table("incidents")
