"""Delivery reports waiting for their message.

Revision ID: 0004
Revises: 0003_ussd
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003_ussd"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_delivery_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at_message_id", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at_status", sa.String(length=32), nullable=False),
        sa.Column("failure_reason", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_delivery_reports")),
        sa.UniqueConstraint("at_message_id", name=op.f("uq_pending_delivery_reports_at_message_id")),
    )
    op.create_index(op.f("ix_pending_delivery_reports_phone"), "pending_delivery_reports", ["phone"])


def downgrade() -> None:
    op.drop_index(op.f("ix_pending_delivery_reports_phone"), table_name="pending_delivery_reports")
    op.drop_table("pending_delivery_reports")
