"""Photo quality metrics and reasons; the patient's override of quality warnings.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 00:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quality_metrics", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("quality_reasons", sa.JSON(), nullable=True))
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quality_override", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("quality_override")
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.drop_column("quality_reasons")
        batch_op.drop_column("quality_metrics")
