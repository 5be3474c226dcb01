"""RQ job entry points. Each runs inside the worker's app context and commits once."""

from __future__ import annotations

from casebox.cases import pipeline
from casebox.database import db


def normalize_photo(photo_id: str) -> str | None:
    """Job: derivatives and status for one uploaded photo."""
    status = pipeline.normalize_photo(photo_id)
    db.session.commit()
    return str(status) if status else None


def route_case(case_id: str) -> str | None:
    """Job: route a submitted case to its review queue."""
    status = pipeline.route_case(case_id)
    db.session.commit()
    return str(status) if status else None
