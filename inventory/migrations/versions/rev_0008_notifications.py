"""Notifications (issue 10): the aggregation groups' state ``notification_groups``, what
each route was told about each incident ``notified_incidents``, and the outbox
``notifications``.

Exactly the models (a test compares the migrated schema with ``create_all``'s on SQLite
and PostgreSQL). New tables only, so no existing row is touched; the downgrade drops
them.

Revision ID: 0008_notifications
Revises: 0007_maintenance
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008_notifications"
down_revision: str | None = "0007_maintenance"
branch_labels: str | None = None
depends_on: str | None = None

_OUTBOX_INDEXES = ("route", "created_at", "due_at", "status")


def upgrade() -> None:
    op.create_table(
        "notification_groups",
        sa.Column("route", sa.String(length=64), nullable=False),
        sa.Column("group_key", sa.String(length=200), nullable=False),
        sa.Column("pending_since", sa.Float(), nullable=True),
        sa.Column("last_sent_at", sa.Float(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("route", "group_key"),
    )
    op.create_table(
        "notified_incidents",
        sa.Column("route", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("told_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("route", "incident_id"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("route", sa.String(length=64), nullable=False),
        sa.Column("group_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("due_at", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in _OUTBOX_INDEXES:
        op.create_index(op.f(f"ix_notifications_{column}"), "notifications", [column])


def downgrade() -> None:
    for column in _OUTBOX_INDEXES:
        op.drop_index(op.f(f"ix_notifications_{column}"), table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("notified_incidents")
    op.drop_table("notification_groups")
