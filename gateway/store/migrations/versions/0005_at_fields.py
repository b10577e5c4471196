"""AT's identifiers kept whole (wider columns) and the optional fields AT sends.

Widened, never cut: ``messages.at_message_id``/``link_id``, ``pending_delivery_reports.at_message_id``
and ``ussd_sessions.session_id`` to 255 (AT_ID_CHARS), ``messages.idempotency_key`` to 319 (its
prefix and AT's id). New nullable columns: ``messages.sent_to``/``network_code``/``retry_count``,
``pending_delivery_reports.retry_count``, ``ussd_sessions.cost``/``input``/``last_app_response``,
``citizens.opt_out_sender_id``. Sizes are written out here: a migration must not change when the
models' limits do.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_WIDENED = [  # table, column, old length, new length, nullable
    ("messages", "idempotency_key", 128, 319, False),
    ("messages", "at_message_id", 64, 255, True),
    ("messages", "link_id", 64, 255, True),
    ("pending_delivery_reports", "at_message_id", 64, 255, False),
    ("ussd_sessions", "session_id", 128, 255, False),
]
_ADDED = {
    "messages": [sa.Column("sent_to", sa.String(length=32), nullable=True),
                 sa.Column("network_code", sa.String(length=16), nullable=True),
                 sa.Column("retry_count", sa.Integer(), nullable=True)],
    "pending_delivery_reports": [sa.Column("retry_count", sa.Integer(), nullable=True)],
    "ussd_sessions": [sa.Column("cost", sa.String(length=32), nullable=True),
                      sa.Column("input", sa.String(length=1000), nullable=True),
                      sa.Column("last_app_response", sa.String(length=1000), nullable=True)],
    "citizens": [sa.Column("opt_out_sender_id", sa.String(length=32), nullable=True)],
}


def upgrade() -> None:
    for table in ("messages", "pending_delivery_reports", "ussd_sessions", "citizens"):
        # batch_alter_table: SQLite cannot ALTER a column's type, so Alembic copies the table.
        with op.batch_alter_table(table) as batch:
            for name, column, old, new, nullable in _WIDENED:
                if name == table:
                    batch.alter_column(column, existing_type=sa.String(length=old), type_=sa.String(length=new),
                                       existing_nullable=nullable)
            for column in _ADDED.get(table, []):
                batch.add_column(column)


def downgrade() -> None:
    # Values longer than the old sizes would not fit back: this fails on PostgreSQL if any exist.
    for table in ("citizens", "ussd_sessions", "pending_delivery_reports", "messages"):
        with op.batch_alter_table(table) as batch:
            for column in reversed(_ADDED.get(table, [])):
                batch.drop_column(column.name)
            for name, column, old, new, nullable in _WIDENED:
                if name == table:
                    batch.alter_column(column, existing_type=sa.String(length=new), type_=sa.String(length=old),
                                       existing_nullable=nullable)
