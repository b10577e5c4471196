"""Questions and complaints: a thread per reference (``Q`` + digits 2–9, unique), routed to
a centre or unassigned, and its messages (the citizen's, staff answers, internal notes).

Revision ID: 0021
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("ref", sa.String(12), nullable=False),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("language", sa.String(3), nullable=False),
        sa.Column("via", sa.String(8), nullable=False),
        sa.Column("centre_id", sa.Integer, sa.ForeignKey("centres.id", ondelete="SET NULL",
                  name="fk_questions_centre_id_centres"), nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("outcome", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Integer, sa.ForeignKey("staff.id", ondelete="SET NULL",
                  name="fk_questions_closed_by_staff"), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_questions"),
        sa.UniqueConstraint("ref", name="uq_questions_ref"),
    )
    op.create_index("ix_questions_phone", "questions", ["phone"])
    op.create_index("ix_questions_inbox", "questions", ["status", "centre_id", "created_at"])
    op.create_table(
        "question_entries",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("question_id", sa.Integer, sa.ForeignKey("questions.id", ondelete="CASCADE",
                  name="fk_question_entries_question_id_questions"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("staff_id", sa.Integer, sa.ForeignKey("staff.id", ondelete="SET NULL",
                  name="fk_question_entries_staff_id_staff"), nullable=True),
        sa.Column("message_id", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_question_entries"),
    )
    op.create_index("ix_question_entries_question_id", "question_entries", ["question_id"])
    op.create_index("ix_question_entries_created_at", "question_entries", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_question_entries_created_at", table_name="question_entries")
    op.drop_index("ix_question_entries_question_id", table_name="question_entries")
    op.drop_table("question_entries")
    op.drop_index("ix_questions_inbox", table_name="questions")
    op.drop_index("ix_questions_phone", table_name="questions")
    op.drop_table("questions")
