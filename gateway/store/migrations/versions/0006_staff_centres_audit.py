"""Staff may serve several centres (``staff_centres`` replaces ``staff.centre_id``); the audit log.

Revision ID: 0006
Revises: 0004

SQLite recreates ``staff`` to drop the column (batch mode), and with foreign keys on, dropping
the old table would cascade into any table already pointing at it; so the existing centre
links are read first and the new tables are created after the rebuild.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    links = conn.execute(sa.text("SELECT id, centre_id FROM staff WHERE centre_id IS NOT NULL")).all()
    with op.batch_alter_table("staff") as batch:
        batch.drop_constraint("fk_staff_centre_id_centres", type_="foreignkey")
        batch.drop_column("centre_id")
    staff_centres = op.create_table(
        "staff_centres",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_staff_centres_staff_id_staff"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], name=op.f("fk_staff_centres_centre_id_centres"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("staff_id", "centre_id", name=op.f("pk_staff_centres")),
    )
    if links:
        op.bulk_insert(staff_centres, [{"staff_id": s, "centre_id": c} for s, c in links])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("target", sa.String(length=254), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_audit_events_staff_id_staff"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"])
    op.create_index(op.f("ix_audit_events_action"), "audit_events", ["action"])


def downgrade() -> None:
    """Back to one centre per staff member: the lowest centre id of each is kept."""
    conn = op.get_bind()
    links = conn.execute(sa.text("SELECT staff_id, MIN(centre_id) FROM staff_centres GROUP BY staff_id")).all()
    op.drop_index(op.f("ix_audit_events_action"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_at"), table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("staff_centres")
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("centre_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_staff_centre_id_centres", "centres", ["centre_id"], ["id"])
    for staff_id, centre_id in links:
        conn.execute(sa.text("UPDATE staff SET centre_id = :c WHERE id = :s"), {"c": centre_id, "s": staff_id})
