"""Indexes on the keyed caller of the analytics tables: a privacy export or delete (POPIA) finds
one citizen's hops and searches by index instead of reading every row kept (90 days of hops),
which under the web's 8 s statement limit could fail at national volume. Only the usage drain
(an RQ worker) writes these tables, so the write lock a plain CREATE INDEX takes holds up no
webhook; the drain waits and catches up.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ussd_hops_caller", "ussd_hops", ["caller"])
    op.create_index("ix_usage_searches_caller", "usage_searches", ["caller"])


def downgrade() -> None:
    op.drop_index("ix_usage_searches_caller", table_name="usage_searches")
    op.drop_index("ix_ussd_hops_caller", table_name="ussd_hops")
