"""The specialist workspace: queue and case pages (Flask blueprint, templates, ES modules).

The pages are shells: every piece of clinical data is fetched by the page's modules
from the same JSON API other clients use, with the session cookie and X-CSRF-Token.
"""

from __future__ import annotations

from flask import Flask

from annotation_ui.pages import bp


def init_app(app: Flask) -> None:
    """Register the workspace pages under /review."""
    app.register_blueprint(bp)
