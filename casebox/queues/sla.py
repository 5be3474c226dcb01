"""Service-level deadlines counted in working days (Monday to Friday)."""

from __future__ import annotations

from datetime import datetime, timedelta


def add_working_days(start: datetime, days: int) -> datetime:
    """The moment ``days`` working days after ``start``; weekends do not count."""
    moment = start
    # A case submitted at the weekend starts its clock on Monday morning's date.
    while moment.weekday() >= 5:
        moment += timedelta(days=1)
    remaining = days
    while remaining > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            remaining -= 1
    return moment
