"""casebox's clock: the real time plus the configured offset (``Settings.clock_offset``).

Follow-up due dates, reminders and retention periods are decided by this clock, so
tests and drills move time by changing a setting instead of waiting.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_app_context

from casebox.database import utcnow


def now() -> datetime:
    """The current time in UTC as casebox sees it."""
    if not has_app_context():
        return utcnow()
    settings = current_app.extensions["casebox.settings"]
    return utcnow() + settings.clock_offset
