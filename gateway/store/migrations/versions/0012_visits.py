"""Service visits to centres (``visits``) and the link from a broadcast to the visit it
announces, reminds of or corrects (``broadcasts.visit_id``).

Revision ID: 0012
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("starts", sa.Time(), nullable=False),
        sa.Column("ends", sa.Time(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("rejected_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], name="fk_visits_centre_id_centres", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["replaces_id"], ["visits.id"], name="fk_visits_replaces_id_visits", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["author_id"], ["staff.id"], name="fk_visits_author_id_staff", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["approved_by"], ["staff.id"], name="fk_visits_approved_by_staff", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_visits"),
    )
    op.create_index("ix_visits_centre_id", "visits", ["centre_id"])
    op.create_index("ix_visits_day", "visits", ["day"])
    op.create_index("ix_visits_status", "visits", ["status"])
    with op.batch_alter_table("broadcasts") as batch:
        batch.add_column(sa.Column("visit_id", sa.Integer(), nullable=True))
        batch.create_index("ix_broadcasts_visit_id", ["visit_id"])


def downgrade() -> None:
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_index("ix_broadcasts_visit_id")
        batch.drop_column("visit_id")
    op.drop_table("visits")
