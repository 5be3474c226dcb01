"""Follow-ups, returning cases to the same specialist, patients' replies to requests.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("follow_up_of_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("preferred_specialist_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_cases_follow_up_of_id"), ["follow_up_of_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_follow_up_of_id_cases"), "cases", ["follow_up_of_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_preferred_specialist_id_users"),
            "users",
            ["preferred_specialist_id"],
            ["id"],
        )

    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("baseline_case_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("specialist_id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "SCHEDULED",
                "DUE",
                "COMPLETED",
                "CANCELLED",
                name="followupstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("follow_up_case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_follow_ups_assessment_id_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["baseline_case_id"], ["cases.id"], name=op.f("fk_follow_ups_baseline_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["follow_up_case_id"],
            ["cases.id"],
            name=op.f("fk_follow_ups_follow_up_case_id_cases"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["users.id"], name=op.f("fk_follow_ups_patient_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["specialist_id"], ["users.id"], name=op.f("fk_follow_ups_specialist_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
        sa.UniqueConstraint("follow_up_case_id", name=op.f("uq_follow_ups_follow_up_case_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_follow_ups_public_id")),
    )
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.create_index("ix_follow_ups_status_due", ["status", "due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_follow_ups_baseline_case_id"), ["baseline_case_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_follow_ups_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_follow_ups_specialist_id"), ["specialist_id"], unique=False
        )

    op.create_table(
        "case_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_case_replies_assessment_id_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_replies_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_replies")),
        sa.UniqueConstraint("public_id", name=op.f("uq_case_replies_public_id")),
    )
    with op.batch_alter_table("case_replies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_replies_case_id"), ["case_id"], unique=False)


def downgrade():
    with op.batch_alter_table("case_replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_replies_case_id"))

    op.drop_table("case_replies")
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_ups_specialist_id"))
        batch_op.drop_index(batch_op.f("ix_follow_ups_patient_id"))
        batch_op.drop_index(batch_op.f("ix_follow_ups_baseline_case_id"))
        batch_op.drop_index("ix_follow_ups_status_due")

    op.drop_table("follow_ups")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_cases_preferred_specialist_id_users"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("fk_cases_follow_up_of_id_cases"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_cases_follow_up_of_id"))
        batch_op.drop_column("preferred_specialist_id")
        batch_op.drop_column("follow_up_of_id")
