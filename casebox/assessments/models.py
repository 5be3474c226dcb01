"""A specialist's assessment of a case: diagnosis, decision, messages, view of the AI."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casebox.accounts.models import User
from casebox.cases.models import Case
from casebox.database import UTCDateTime, db, new_public_id, utcnow


class Certainty(enum.StrEnum):
    """How sure the specialist is of the diagnosis."""

    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


class Management(enum.StrEnum):
    """What happens next for the patient."""

    REASSURE_DISCHARGE = "reassure_discharge"
    TREAT = "treat"
    BIOPSY_EXCISION = "biopsy_excision"
    REFER_URGENT = "refer_urgent"
    REFER_ROUTINE = "refer_routine"
    MORE_INFORMATION = "more_information"


class AiAgreement(enum.StrEnum):
    """Whether the specialist agreed with the model's pre-analysis."""

    AGREE = "agree"
    DISAGREE = "disagree"
    NOT_APPLICABLE = "not_applicable"


class Assessment(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """One review of a case; a case asked for more information may be assessed again."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    specialist_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    diagnosis_code: Mapped[str | None] = mapped_column(String(18))
    diagnosis_display: Mapped[str | None] = mapped_column(String(200))
    diagnosis_text: Mapped[str | None] = mapped_column(String(500))
    certainty: Mapped[Certainty] = mapped_column(Enum(Certainty, native_enum=False, length=16))
    management: Mapped[Management] = mapped_column(Enum(Management, native_enum=False, length=32))
    information_request: Mapped[str | None] = mapped_column(Text)
    patient_message: Mapped[str] = mapped_column(Text)
    internal_note: Mapped[str | None] = mapped_column(Text)
    ai_agreement: Mapped[AiAgreement] = mapped_column(
        Enum(AiAgreement, native_enum=False, length=16)
    )
    # The model whose output the specialist judged, so agreement is reported per version.
    model_name: Mapped[str | None] = mapped_column(String(100))
    model_version: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship()
    specialist: Mapped[User] = relationship()
