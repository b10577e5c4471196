"""A staff account's mobile number (E.164, optional, one account per number): the number staff
status texts come from (issue 19) and the one staff are texted on (issue 20).

Revision ID: 0018
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("phone", sa.String(16), nullable=True))
        batch.create_unique_constraint("uq_staff_phone", ["phone"])


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.drop_constraint("uq_staff_phone", type_="unique")
        batch.drop_column("phone")
