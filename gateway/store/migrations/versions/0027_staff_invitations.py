"""Staff invitations: a one-time, expiring link with which a new (or reset) account sets its own
password; only the hash of the link's token is stored (docs/staff-access.md).

Revision ID: 0027
Revises: 0026
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_invitations",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("staff_id", sa.Integer, sa.ForeignKey("staff.id", ondelete="CASCADE",
                  name="fk_staff_invitations_staff_id_staff"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_staff_invitations"),
        sa.UniqueConstraint("token_hash", name="uq_staff_invitations_token_hash"),
    )
    op.create_index("ix_staff_invitations_staff_id", "staff_invitations", ["staff_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_invitations_staff_id", table_name="staff_invitations")
    op.drop_table("staff_invitations")
