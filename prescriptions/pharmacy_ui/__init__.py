"""The pharmacy's pages: the inbox of prescriptions, and the public verification page.

The inbox is a shell whose ES module works through the JSON API (session cookie and
X-CSRF-Token), reusing the workspace's api/dom/announce/dialog modules. The
verification page is rendered on the server, so a phone that scanned the QR code
needs no JavaScript.
"""

from __future__ import annotations

from flask import Flask

from prescriptions.pharmacy_ui.pages import bp


def init_app(app: Flask) -> None:
    """Register /pharmacy/ and /verify."""
    app.register_blueprint(bp)
