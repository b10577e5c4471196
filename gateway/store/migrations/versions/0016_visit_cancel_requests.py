"""A request to cancel an approved service visit: why (every cancel gives a reason) and who
asked, while it waits for an approver (a clerk cancelling a visit someone else wrote, under
the two-person rule). The visit stays in force until the request is approved.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visits") as batch:
        batch.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("cancel_requested_by", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_visits_cancel_requested_by_staff", "staff", ["cancel_requested_by"], ["id"],
                                 ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("visits") as batch:
        batch.drop_constraint("fk_visits_cancel_requested_by_staff", type_="foreignkey")
        batch.drop_column("cancel_requested_by")
        batch.drop_column("cancel_reason")
