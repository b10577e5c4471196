"""Usage analytics: USSD hops and searches (callers as keyed hashes, never numbers) and the
daily roll-up the analytics pages read.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ussd_hops",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("event_id", sa.String(32), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_id", sa.String(255), nullable=False),
        sa.Column("caller", sa.String(32), nullable=False),
        sa.Column("screen", sa.String(64), nullable=False),
        sa.Column("end", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ussd_hops"),
        sa.UniqueConstraint("event_id", name="uq_ussd_hops_event_id"),
    )
    op.create_index("ix_ussd_hops_at", "ussd_hops", ["at"])
    op.create_index("ix_ussd_hops_session", "ussd_hops", ["session_id"])
    op.create_table(
        "usage_searches",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("event_id", sa.String(40), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("term", sa.String(80), nullable=True),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=True),
        sa.Column("caller", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_usage_searches"),
        sa.UniqueConstraint("event_id", name="uq_usage_searches_event_id"),
    )
    op.create_index("ix_usage_searches_at", "usage_searches", ["at"])
    op.create_table(
        "daily_figures",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(24), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(64), nullable=False),
        sa.Column("term", sa.String(80), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_daily_figures"),
    )
    op.create_index("ix_daily_figures_metric_day", "daily_figures", ["metric", "day"])
    op.create_index("ix_daily_figures_day", "daily_figures", ["day"])
    # The SMS roll-up reads outbound rows by creation time; retention empties bodies by it.
    op.create_index("ix_messages_created_at", "messages", ["created_at"])
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"])
    op.create_index("ix_ussd_sessions_created_at", "ussd_sessions", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_ussd_sessions_created_at", "ussd_sessions")
    op.drop_index("ix_feedback_created_at", "feedback")
    op.drop_index("ix_messages_created_at", "messages")
    op.drop_table("daily_figures")
    op.drop_table("usage_searches")
    op.drop_table("ussd_hops")
