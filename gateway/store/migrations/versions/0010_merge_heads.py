"""One head again: staff centres and audit (0006), broadcasts (0007) and the SMS fields, send
state and opening hours (0005 → 0008 → 0009) were written side by side; none depends on another.

Revision ID: 0010
Revises: 0006, 0007, 0009
"""

revision = "0010"
down_revision = ("0006", "0007", "0009")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
