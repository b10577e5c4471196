"""Office-down alerts and offices on visits: a subscription's consent to be texted when an office
at its centre goes down (``alerts_at``, timestamped; None = no alerts), and the office a service
visit brings (``visits.office_id``, optional: older visits keep their free-text service).

Revision ID: 0020
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("alerts_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("visits") as batch:
        batch.add_column(sa.Column("office_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_visits_office_id", "offices", ["office_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("visits") as batch:
        batch.drop_constraint("fk_visits_office_id", type_="foreignkey")
        batch.drop_column("office_id")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("alerts_at")
