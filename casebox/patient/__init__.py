"""The patient's pages: registration and consent, the intake wizard, case pages, settings.

Server-rendered and mobile-first; every page works without JavaScript, and the
intake's photo step is enhanced by a small ES module (resumable uploads with a
progress bar, the optional low-data downsizing and the live quality verdict).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the patient pages."""
    from casebox.patient import account_pages, case_pages, intake_pages  # noqa: F401  # routes
    from casebox.patient.blueprint import bp

    app.register_blueprint(bp)
