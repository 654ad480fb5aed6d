"""Citizens' reports (issue 16): ``citizen_reports`` (what a citizen said, where, and the
incident it joined or opened; text and phone number sealed, the address only hashed),
``report_photos`` (one re-encoded photo per report), and ``incidents.priority`` (raised
by each report that joins an incident); and field work: ``field_teams`` with
``field_team_members``, ``work_orders`` from incidents with their timeline
(``work_order_entries``) and one photo each (``work_order_photos``).

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
    _upgrade_field_work()


def _upgrade_field_work() -> None:
    """Field teams, their members, work orders with their timeline and one photo each."""
    op.create_table(
        "field_teams",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=True),
        sa.Column("responsible", sa.String(length=16), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["district_id"], ["districts.id"]),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("district_id", "partner_id"):
        op.create_index(op.f(f"ix_field_teams_{column}"), "field_teams", [column])
    op.create_table(
        "field_team_members",
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["field_teams.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("team_id", "user_id"),
    )
    op.create_index(op.f("ix_field_team_members_user_id"), "field_team_members", ["user_id"])
    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("fixed_at", sa.Float(), nullable=True),
        sa.Column("verified_at", sa.Float(), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["field_teams.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in _ORDER_INDEXES:
        op.create_index(op.f(f"ix_work_orders_{column}"), "work_orders", [column])
    op.create_table(
        "work_order_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["work_orders.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_work_order_entries_order_id"), "work_order_entries", ["order_id"])
    op.create_table(
        "work_order_photos",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("taken_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["work_orders.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("order_id"),
    )


_ORDER_INDEXES = ("incident_id", "site_id", "team_id", "state", "created_at")


def _downgrade_field_work() -> None:
    op.drop_table("work_order_photos")
    op.drop_index(op.f("ix_work_order_entries_order_id"), table_name="work_order_entries")
    op.drop_table("work_order_entries")
    for column in reversed(_ORDER_INDEXES):
        op.drop_index(op.f(f"ix_work_orders_{column}"), table_name="work_orders")
    op.drop_table("work_orders")
    op.drop_index(op.f("ix_field_team_members_user_id"), table_name="field_team_members")
    op.drop_table("field_team_members")
    for column in ("partner_id", "district_id"):
        op.drop_index(op.f(f"ix_field_teams_{column}"), table_name="field_teams")
    op.drop_table("field_teams")


def downgrade() -> None:
    _downgrade_field_work()
    op.drop_table("report_photos")
    for column in ("closed_at", "address_hash", "incident_id", "site_id", "received_at"):
        op.drop_index(op.f(f"ix_citizen_reports_{column}"), table_name="citizen_reports")
    op.drop_table("citizen_reports")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("priority")
