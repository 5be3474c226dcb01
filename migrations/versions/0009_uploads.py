"""Resumable uploads (tus): uploads and their chunks; cases record low-data photos.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _bytes():
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.add_column(
        "cases", sa.Column("low_data", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_table(
        "uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("view", sa.String(length=16), nullable=False),
        sa.Column("low_data", sa.Boolean(), nullable=False),
        sa.Column("upload_length", _bytes(), nullable=False),
        sa.Column("upload_offset", _bytes(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_uploads_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["users.id"], name=op.f("fk_uploads_patient_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["photo_id"],
            ["photos.id"],
            name=op.f("fk_uploads_photo_id_photos"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
        sa.UniqueConstraint("public_id", name=op.f("uq_uploads_public_id")),
    )
    op.create_index(op.f("ix_uploads_case_id"), "uploads", ["case_id"], unique=False)
    op.create_index(op.f("ix_uploads_expires_at"), "uploads", ["expires_at"], unique=False)
    op.create_index(op.f("ix_uploads_patient_id"), "uploads", ["patient_id"], unique=False)
    op.create_table(
        "upload_chunks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("start", _bytes(), nullable=False),
        sa.Column("size", _bytes(), nullable=False),
        sa.Column("object_key", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["uploads.id"],
            name=op.f("fk_upload_chunks_upload_id_uploads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_chunks")),
        sa.UniqueConstraint("upload_id", "start", name=op.f("uq_upload_chunks_upload_id")),
    )


def downgrade():
    op.drop_table("upload_chunks")
    op.drop_index(op.f("ix_uploads_patient_id"), table_name="uploads")
    op.drop_index(op.f("ix_uploads_expires_at"), table_name="uploads")
    op.drop_index(op.f("ix_uploads_case_id"), table_name="uploads")
    op.drop_table("uploads")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), not batch mode, as in 0007.
    op.drop_column("cases", "low_data")
