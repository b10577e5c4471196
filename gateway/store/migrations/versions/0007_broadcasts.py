"""Broadcasts, and outbox rows linked to the broadcast they belong to.

Revision ID: 0007
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=3), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("full_text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("rejected_reason", sa.Text(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=True),
        sa.Column("fanned_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["staff.id"], name=op.f("fk_broadcasts_author_id_staff"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["approved_by"], ["staff.id"], name=op.f("fk_broadcasts_approved_by_staff"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    op.create_index(op.f("ix_broadcasts_status"), "broadcasts", ["status"])
    op.add_column("messages", sa.Column("broadcast_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_messages_broadcast_id"), "messages", ["broadcast_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_messages_broadcast_id"), table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("broadcast_id")
    op.drop_index(op.f("ix_broadcasts_status"), table_name="broadcasts")
    op.drop_table("broadcasts")
