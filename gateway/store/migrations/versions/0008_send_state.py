"""Send state in columns of its own: how many times an unknown outcome was resent, when the
last attempt left (delivery reports are matched to attempts in their window), and the address
an outbound SMS goes from (a reply to one of our shortcodes goes from that shortcode).

Revision ID: 0008
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("resends", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("sender", sa.String(length=32), nullable=True))
    # Rows resent under the old rule carried the marker in failure_reason.
    op.execute("UPDATE messages SET resends = 1 WHERE failure_reason = 'ResentNoReport'")


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("sender")
        batch.drop_column("attempted_at")
        batch.drop_column("resends")
