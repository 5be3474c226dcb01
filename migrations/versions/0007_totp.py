"""TOTP second factor: each user's sealed secret, when it was confirmed, the last step used.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("totp_secret_sealed", sa.LargeBinary(), nullable=True))
    op.add_column(
        "users", sa.Column("totp_confirmed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("users", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade():
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), not batch mode: a batch would
    # recreate "users", and dropping the old table with foreign keys on would cascade to
    # queue memberships and fail on every other table that references users.
    op.drop_column("users", "totp_last_step")
    op.drop_column("users", "totp_confirmed_at")
    op.drop_column("users", "totp_secret_sealed")
