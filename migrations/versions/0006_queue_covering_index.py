"""Queue listings: the queue index covers their filters and sort key (PostgreSQL INCLUDE).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:40:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = ["queue", "status", "sla_due_at"]
INCLUDE = ["priority", "id", "claim_expires_at", "claimed_by_id", "body_site"]


def upgrade():
    # SQLite ignores postgresql_include: there the index is rebuilt as it was.
    op.drop_index("ix_cases_queue_status_due", table_name="cases")
    op.create_index(
        "ix_cases_queue_status_due", "cases", COLUMNS, unique=False, postgresql_include=INCLUDE
    )


def downgrade():
    op.drop_index("ix_cases_queue_status_due", table_name="cases")
    op.create_index("ix_cases_queue_status_due", "cases", COLUMNS, unique=False)
