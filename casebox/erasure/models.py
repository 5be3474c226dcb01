"""A patient's request for erasure, kept after the purge so staff can see what happened."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casebox.accounts.models import User
from casebox.database import UTCDateTime, db, new_public_id


class ErasureRequest(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """One patient's erasure: asked for, waiting out the retention period, purged.

    The row outlives the purge (its user row is anonymised, never deleted), so staff can
    see every request and the audit trail's events keep pointing at something. It holds
    numbers and dates only, never clinical content.
    """

    __tablename__ = "erasure_requests"
    # The purge's query: not yet purged, due by now.
    __table_args__ = (Index("ix_erasure_requests_purged_due", "purged_at", "purge_due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    # One request per patient: asking again returns the first one.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    # Who asked (the patient themselves today) and through what ("api" or "web").
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(16))
    # Times by casebox's clock (casebox.clock.now), which decides retention.
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The retention rule in force when the patient asked, and the purge date it gave.
    retention_days: Mapped[int] = mapped_column()
    purge_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The purge in two steps (casebox.erasure.purge): the rows go in one transaction, which
    # records the stored objects still to delete; purged_at is set once those are gone too.
    rows_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    objects_pending: Mapped[list[str] | None] = mapped_column(JSON)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # How many of each thing the request stopped and the purge deleted: numbers only.
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def status(self) -> str:
        """``pending`` (waiting out retention), ``purging`` (rows gone, objects not yet) or
        ``purged``."""
        if self.purged_at is not None:
            return "purged"
        return "purging" if self.rows_purged_at is not None else "pending"
