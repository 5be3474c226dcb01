"""Stored annotations of photos, kept as the parts of a W3C Web Annotation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casebox.accounts.models import User
from casebox.cases.models import Photo
from casebox.database import UTCDateTime, db, new_public_id, utcnow


class Annotation(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """One shape on a photo, in the original's pixel coordinates, with optional text."""

    __tablename__ = "annotations"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    tool: Mapped[str] = mapped_column(String(16))
    motivation: Mapped[str] = mapped_column(String(16))
    selector: Mapped[dict[str, Any]] = mapped_column(JSON)
    bodies: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    photo: Mapped[Photo] = relationship()
    author: Mapped[User] = relationship()
