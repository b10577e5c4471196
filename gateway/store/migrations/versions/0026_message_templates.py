"""Message templates (wording kept per centre or shared, to start a broadcast or a visit notice
from) and a visit's own wording of its notice.

Revision ID: 0026
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_templates",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("language", sa.String(3), nullable=True),
        sa.Column("centre_id", sa.Integer, sa.ForeignKey("centres.id", ondelete="CASCADE",
                  name="fk_message_templates_centre_id_centres"), nullable=True),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("staff.id", ondelete="SET NULL",
                  name="fk_message_templates_author_id_staff"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_message_templates"),
    )
    op.create_index("ix_message_templates_centre_id", "message_templates", ["centre_id"])
    with op.batch_alter_table("visits") as batch:
        batch.add_column(sa.Column("notice", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("visits") as batch:
        batch.drop_column("notice")
    op.drop_index("ix_message_templates_centre_id", table_name="message_templates")
    op.drop_table("message_templates")
