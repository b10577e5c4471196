"""The sender's next batch as an index probe: (status, queue, id) replaces the index on status
alone (its first column serves every lookup that one did). With only ``status`` indexed,
PostgreSQL found the oldest queued rows of a queue by walking the primary key past every row
already sent, or by sorting every queued row: each batch of a broadcast cost more than the last.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_next", "messages", ["status", "queue", "id"])
    op.drop_index("ix_messages_status", table_name="messages")


def downgrade() -> None:
    op.create_index("ix_messages_status", "messages", ["status"])
    op.drop_index("ix_messages_next", table_name="messages")
