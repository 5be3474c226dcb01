"""Structured dose instructions on prescriptions: the dosage as entered (JSON); the dose
total per day or week is derived from it, and absent when the amount is unquantified.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 14:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dosage", sa.JSON(), nullable=True))
        batch_op.alter_column("dose_amount", existing_type=sa.Double(), nullable=True)
        batch_op.alter_column("dose_unit", existing_type=sa.String(length=20), nullable=True)
        batch_op.alter_column("dose_period", existing_type=sa.String(length=10), nullable=True)


def downgrade():
    # An unquantified dose has no total, which the earlier schema cannot hold: refuse
    # rather than invent one or delete a clinical record.
    unquantified = op.get_bind().scalar(
        sa.text("SELECT COUNT(*) FROM prescriptions WHERE dose_amount IS NULL")
    )
    if unquantified:
        raise RuntimeError(
            f"{unquantified} prescription(s) have an unquantified dose; 0013 cannot hold them."
        )
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.alter_column("dose_period", existing_type=sa.String(length=10), nullable=False)
        batch_op.alter_column("dose_unit", existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column("dose_amount", existing_type=sa.Double(), nullable=False)
        batch_op.drop_column("dosage")
