"""An index for what /metrics and ``thusong status`` ask of the outbox at every scrape: rows
not yet sent by status and queue, and the oldest of them per queue (each a short index probe,
however many millions of sent rows the table holds).

Revision ID: 0013
Revises: 0010
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_outbox", "messages", ["status", "queue", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_outbox", table_name="messages")
