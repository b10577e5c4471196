"""Message templates (wording kept per centre or shared, to start a broadcast or a visit notice
from), a visit's own wording of its notice, and the rejected broadcast a broadcast resubmits.

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
    with op.batch_alter_table("broadcasts") as batch:
        batch.add_column(sa.Column("resubmits_id", sa.Integer, nullable=True))
        batch.create_foreign_key("fk_broadcasts_resubmits_id_broadcasts", "broadcasts", ["resubmits_id"], ["id"],
                                 ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_constraint("fk_broadcasts_resubmits_id_broadcasts", type_="foreignkey")
        batch.drop_column("resubmits_id")
    with op.batch_alter_table("visits") as batch:
        batch.drop_column("notice")
    op.drop_index("ix_message_templates_centre_id", table_name="message_templates")
    op.drop_table("message_templates")
