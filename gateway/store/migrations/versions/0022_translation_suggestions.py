"""Translation suggestions: a reviewer's proposed wording for one string of one language,
waiting for an admin to accept it (docs/translations.md).

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "translation_suggestions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("english", sa.Text, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("staff.id", ondelete="SET NULL",
                  name="fk_translation_suggestions_author_id_staff"), nullable=True),
        sa.Column("author_name", sa.String(128), nullable=False),
        sa.Column("decided_by", sa.Integer, sa.ForeignKey("staff.id", ondelete="SET NULL",
                  name="fk_translation_suggestions_decided_by_staff"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_translation_suggestions"),
    )
    op.create_index("ix_translation_suggestions_lang_status", "translation_suggestions", ["lang", "status"])


def downgrade() -> None:
    op.drop_index("ix_translation_suggestions_lang_status", table_name="translation_suggestions")
    op.drop_table("translation_suggestions")
