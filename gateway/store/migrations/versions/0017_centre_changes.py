"""A clerk's change to what citizens read of a centre (name, address, phone) held for a second
person under the two-person rule (``centre_changes``); at most one pending per centre, which
the partial unique index holds even when two clerks save at the same moment.

Revision ID: 0017
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0014"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table(
        "centre_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("rejected_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], name="fk_centre_changes_centre_id_centres",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["staff.id"], name="fk_centre_changes_author_id_staff",
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["decided_by"], ["staff.id"], name="fk_centre_changes_decided_by_staff",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_centre_changes"),
    )
    op.create_index("ix_centre_changes_centre_id", "centre_changes", ["centre_id"])
    op.create_index("ix_centre_changes_status", "centre_changes", ["status"])
    op.create_index("ix_centre_changes_one_pending", "centre_changes", ["centre_id"], unique=True,
                    sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade() -> None:
    op.drop_table("centre_changes")
