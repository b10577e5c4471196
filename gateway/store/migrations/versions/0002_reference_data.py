"""Reference data: provinces and the Six-Block service catalogue.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from gateway.directory.catalogue import PROVINCES, SERVICE_BLOCKS

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

provinces = sa.table(
    "provinces",
    sa.column("id", sa.Integer),
    sa.column("code", sa.String),
    sa.column("name", sa.String),
)
blocks = sa.table(
    "service_blocks",
    sa.column("id", sa.Integer),
    sa.column("number", sa.Integer),
    sa.column("code", sa.String),
    sa.column("name", sa.String),
)
services = sa.table(
    "services",
    sa.column("id", sa.Integer),
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("block_id", sa.Integer),
)


def upgrade() -> None:
    op.bulk_insert(
        provinces, [{"id": i, "code": c, "name": n} for i, (c, n, _) in enumerate(PROVINCES, 1)]
    )
    op.bulk_insert(
        blocks,
        [{"id": num, "number": num, "code": c, "name": n} for num, c, n, _ in SERVICE_BLOCKS],
    )
    rows, sid = [], 0
    for num, _c, _n, items in SERVICE_BLOCKS:
        for code, name in items:
            sid += 1
            rows.append({"id": sid, "code": code, "name": name, "block_id": num})
    op.bulk_insert(services, rows)
    if op.get_bind().dialect.name == "postgresql":
        # Explicit ids above leave the sequences behind; move them on.
        for table in ("provinces", "service_blocks", "services"):
            op.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            )


def downgrade() -> None:
    op.execute("DELETE FROM services")
    op.execute("DELETE FROM service_blocks")
    op.execute("DELETE FROM provinces")
