"""Server-rendered pages: the landing page, browser login and logout, health."""

from __future__ import annotations

from flask import Flask

from casebox.web.routes import bp


def init_app(app: Flask) -> None:
    """Register the page routes."""
    app.register_blueprint(bp)
