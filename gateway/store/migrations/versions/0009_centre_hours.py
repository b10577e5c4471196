"""Opening hours per weekday on centres (``hours_mon`` … ``hours_sun``, in the grammar of
``gateway.directory.hours``). The free-text ``hours`` column stays: it is shown while no day
is set.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def upgrade() -> None:
    with op.batch_alter_table("centres") as batch:
        for day in DAYS:
            batch.add_column(sa.Column(f"hours_{day}", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("centres") as batch:
        for day in reversed(DAYS):
            batch.drop_column(f"hours_{day}")
