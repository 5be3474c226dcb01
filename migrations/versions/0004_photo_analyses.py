"""Photo analyses: lesion-model output per photo and model file.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 00:55:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "photo_analyses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("model_name", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.String(length=40), nullable=False),
        sa.Column("model_sha256", sa.String(length=64), nullable=False),
        sa.Column("probabilities", sa.JSON(), nullable=False),
        sa.Column("malignancy_score", sa.Float(), nullable=False),
        sa.Column("out_of_distribution", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["photo_id"],
            ["photos.id"],
            name=op.f("fk_photo_analyses_photo_id_photos"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photo_analyses")),
        sa.UniqueConstraint("photo_id", "model_sha256", name=op.f("uq_photo_analyses_photo_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_photo_analyses_public_id")),
    )
    with op.batch_alter_table("photo_analyses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_photo_analyses_photo_id"), ["photo_id"], unique=False)


def downgrade():
    with op.batch_alter_table("photo_analyses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_photo_analyses_photo_id"))
    op.drop_table("photo_analyses")
