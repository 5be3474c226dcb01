"""Where a notice's link takes a patient in the pages."""

from __future__ import annotations

import re

_CASE_API = re.compile(r"^/api/v1/cases/(?P<case>[0-9a-f-]{36})(?:/.*)?$")


def page_link(link: str) -> str:
    """The patient page for a notice's link (API paths of a case open its case page)."""
    match = _CASE_API.match(link)
    if match:
        return f"/my/cases/{match['case']}"
    if link.startswith("/my/"):
        return link
    return "/my/"
