"""Offices (issue 19): the departments at a centre (reference data, each mapped to the
Six-Block services it provides), which offices each centre has, and their live statuses
(one row per report, never overwritten).

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

from gateway.dialogue.offices import OFFICES

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    offices = op.create_table(
        "offices",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_offices"),
        sa.UniqueConstraint("code", name="uq_offices_code"),
    )
    office_services = op.create_table(
        "office_services",
        sa.Column("office_id", sa.Integer, sa.ForeignKey("offices.id", ondelete="CASCADE",
                  name="fk_office_services_office_id_offices"), nullable=False),
        sa.Column("service_id", sa.Integer, sa.ForeignKey("services.id", ondelete="CASCADE",
                  name="fk_office_services_service_id_services"), nullable=False),
        sa.PrimaryKeyConstraint("office_id", "service_id", name="pk_office_services"),
    )
    op.create_table(
        "centre_offices",
        sa.Column("centre_id", sa.Integer, sa.ForeignKey("centres.id", ondelete="CASCADE",
                  name="fk_centre_offices_centre_id_centres"), nullable=False),
        sa.Column("office_id", sa.Integer, sa.ForeignKey("offices.id", ondelete="CASCADE",
                  name="fk_centre_offices_office_id_offices"), nullable=False),
        sa.PrimaryKeyConstraint("centre_id", "office_id", name="pk_centre_offices"),
    )
    op.create_table(
        "office_statuses",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("centre_id", sa.Integer, sa.ForeignKey("centres.id", ondelete="CASCADE",
                  name="fk_office_statuses_centre_id_centres"), nullable=False),
        sa.Column("office_id", sa.Integer, sa.ForeignKey("offices.id", ondelete="CASCADE",
                  name="fk_office_statuses_office_id_offices"), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(16), nullable=True),
        sa.Column("staff_id", sa.Integer, sa.ForeignKey("staff.id", ondelete="SET NULL",
                  name="fk_office_statuses_staff_id_staff"), nullable=True),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_office_statuses"),
    )
    op.create_index("ix_office_statuses_latest", "office_statuses", ["centre_id", "office_id", "set_at"])
    op.bulk_insert(offices, [{"id": i, "code": c, "name": n} for i, (c, n, _s) in enumerate(OFFICES, 1)])
    service_ids = dict(op.get_bind().execute(sa.text("SELECT code, id FROM services")).all())
    op.bulk_insert(office_services, [{"office_id": i, "service_id": service_ids[s]}
                                     for i, (_c, _n, services) in enumerate(OFFICES, 1) for s in services])
    if op.get_bind().dialect.name == "postgresql":
        # Explicit ids above leave the sequence behind; move it on.
        op.execute("SELECT setval(pg_get_serial_sequence('offices', 'id'), (SELECT MAX(id) FROM offices))")


def downgrade() -> None:
    op.drop_index("ix_office_statuses_latest", table_name="office_statuses")
    op.drop_table("office_statuses")
    op.drop_table("centre_offices")
    op.drop_table("office_services")
    op.drop_table("offices")
