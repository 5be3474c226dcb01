"""Users, their roles, patient profiles, consent records and API tokens."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, Date, Enum, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casebox.database import UTCDateTime, db, new_public_id, utcnow


class Role(enum.StrEnum):
    """What a user is allowed to do."""

    PATIENT = "patient"
    SPECIALIST = "specialist"
    PHARMACIST = "pharmacist"
    ADMIN = "admin"


class Sex(enum.StrEnum):
    """Sex as recorded for clinical decision support."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class User(db.Model, UserMixin):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """Anyone who logs in."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # TOTP second factor (casebox.accounts.mfa): the secret sealed under the data key,
    # when the user proved their app holds it (None: enrolment pending or none), and
    # the last time step accepted, so that each code opens exactly one action.
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary())
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger())
    # The language the user chose for pages and notifications ("en", "fr"); None
    # until they choose, when the browser's Accept-Language decides.
    locale: Mapped[str | None] = mapped_column(String(8))

    patient: Mapped[PatientProfile | None] = relationship(back_populates="user", uselist=False)

    def get_id(self) -> str:
        """Flask-Login session identifier: the public id, never the row number."""
        return self.public_id

    @property
    def is_active(self) -> bool:
        """Deactivated users cannot log in or use tokens."""
        return self.active


class PatientProfile(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """The demographic facts a specialist and the models need about a patient."""

    __tablename__ = "patient_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[Sex] = mapped_column(Enum(Sex, native_enum=False, length=10))

    user: Mapped[User] = relationship(back_populates="patient")


class ConsentRecord(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """One acceptance of a consent text, and its withdrawal if any."""

    __tablename__ = "consent_records"
    __table_args__ = (Index("ix_consent_records_user_active", "user_id", "withdrawn_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    version: Mapped[str] = mapped_column(String(20))
    text_sha256: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiToken(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
