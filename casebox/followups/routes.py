"""Follow-up endpoints under /api/v1/follow-ups."""

from __future__ import annotations

from flask_smorest import Blueprint

from casebox.followups import models as _models  # noqa: F401  # the tables exist for the app

blp = Blueprint("follow_ups", __name__, url_prefix="/api/v1/follow-ups")
