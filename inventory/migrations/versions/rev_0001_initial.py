"""The schema as the code before migrations made it with ``create_all`` (commit d320795).

A database made by that code has these tables and no ``alembic_version``; it is stamped at
this revision and upgraded from here (see :func:`inventory.migrations.upgrade`), so this
revision must stay exactly what that ``create_all`` made.

Revision ID: 0001_initial
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "credential_profiles",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("snmp_version", sa.String(length=4), nullable=False),
        sa.Column("snmp_community", sa.String(length=200), nullable=True),
        sa.Column("snmp_user", sa.String(length=200), nullable=True),
        sa.Column("snmp_auth_protocol", sa.String(length=16), nullable=True),
        sa.Column("snmp_auth_key", sa.String(length=200), nullable=True),
        sa.Column("snmp_priv_protocol", sa.String(length=16), nullable=True),
        sa.Column("snmp_priv_key", sa.String(length=200), nullable=True),
        sa.Column("ssh_username", sa.String(length=200), nullable=True),
        sa.Column("ssh_password", sa.String(length=200), nullable=True),
        sa.Column("ssh_key_file", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "districts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("boundary_geojson", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "partners",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "demand_points",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["district_id"], ["districts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_demand_points_district_id"), "demand_points", ["district_id"], unique=False
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=True),
        sa.Column("partner_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("coverage_radius_m", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["district_id"], ["districts.id"]),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_sites_district_id"), "sites", ["district_id"], unique=False)
    op.create_index(op.f("ix_sites_partner_id"), "sites", ["partner_id"], unique=False)
    op.create_index(op.f("ix_sites_status"), "sites", ["status"], unique=False)
    op.create_table(
        "access_points",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("snmp_port", sa.Integer(), nullable=False),
        sa.Column("ssh_port", sa.Integer(), nullable=False),
        sa.Column("profile", sa.String(length=32), nullable=False),
        sa.Column("credential_id", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        # In the models' order (site first), as create_all wrote them.
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"]),
        sa.ForeignKeyConstraint(["credential_id"], ["credential_profiles.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_access_points_site_id"), "access_points", ["site_id"], unique=False)
    op.create_table(
        "ap_status",
        sa.Column("ap_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("since", sa.Float(), nullable=True),
        sa.Column("last_seen", sa.Float(), nullable=True),
        sa.Column("last_poll", sa.Float(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("detected_profile", sa.String(length=32), nullable=True),
        sa.Column("polls_attempted", sa.Integer(), nullable=False),
        sa.Column("polls_ok", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["ap_id"], ["access_points.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ap_id"),
    )


def downgrade() -> None:
    op.drop_table("ap_status")
    op.drop_index(op.f("ix_access_points_site_id"), table_name="access_points")
    op.drop_table("access_points")
    op.drop_index(op.f("ix_sites_status"), table_name="sites")
    op.drop_index(op.f("ix_sites_partner_id"), table_name="sites")
    op.drop_index(op.f("ix_sites_district_id"), table_name="sites")
    op.drop_table("sites")
    op.drop_index(op.f("ix_demand_points_district_id"), table_name="demand_points")
    op.drop_table("demand_points")
    op.drop_table("partners")
    op.drop_table("districts")
    op.drop_table("credential_profiles")
