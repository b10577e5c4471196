"""Staff accounts remember when they last looked at their home page (what was approved or
rejected since is shown there) and whether, since when, they are texted about their approvals.

Revision ID: 0025
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("notice_texts_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("notice_texts_since")
        batch.drop_column("last_seen_at")
