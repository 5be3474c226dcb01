"""RQ job entry points. Each runs inside the worker's app context and commits once."""

from __future__ import annotations

from casebox.cases import pipeline
from casebox.database import db


def normalize_photo(photo_id: str) -> str | None:
    """Job: derivatives and status for one uploaded photo."""
    status = pipeline.normalize_photo(photo_id)
    db.session.commit()
    return str(status) if status else None


def start_review(case_id: str) -> str | None:
    """Job: move a submitted case into the review backlog."""
    status = pipeline.start_review(case_id)
    db.session.commit()
    return str(status) if status else None
