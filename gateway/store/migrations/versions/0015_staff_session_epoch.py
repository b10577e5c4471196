"""A staff account's session epoch: part of the stamp every login session carries, raised when
the person logs out or an admin disables or re-enables the account, so every cookie issued
before stops working (a copied cookie after logout; old cookies after re-enabling).

Revision ID: 0015
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("session_epoch")
