"""Driving the patient pages with the Flask test client: forms, CSRF tokens, sessions."""

from __future__ import annotations

import io
import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support import PASSWORD, ApiClient, jpeg, questionnaire

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(page: TestResponse) -> str:
    """The CSRF token of the first form on a page."""
    match = TOKEN.search(page.get_data(as_text=True))
    assert match, "the page has no form"
    return match.group(1)


def questionnaire_form(**changes: Any) -> dict[str, str]:
    """The demo questionnaire as the questions page posts it."""
    answers = questionnaire()
    form: dict[str, str] = {}
    for key, value in answers.items():
        if isinstance(value, bool):
            form[key] = "yes" if value else "no"
        elif isinstance(value, list):
            form[key] = "\n".join(value)
        else:
            form[key] = str(value)
    form.update(changes)
    return form


class PatientBrowser:
    """A patient using the pages, with a browser session (cookies) of their own."""

    def __init__(self, client: FlaskClient, api: ApiClient) -> None:
        self.client = client
        self.api = api

    def token(self, path: str = "/login") -> str:
        return form_token(self.client.get(path))

    def sign_in(self, email: str, password: str = PASSWORD) -> TestResponse:
        return self.client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": self.token()},
        )

    def registered(self, **changes: Any) -> str:
        """A patient registered through the API, signed in here; returns the e-mail."""
        body = self.api.register(**changes)
        assert self.sign_in(body["email"]).status_code == 302
        return str(body["email"])

    def post(self, path: str, data: dict[str, Any], **kwargs: Any) -> TestResponse:
        """Post a form with the session's CSRF token (taken from ``/my/``)."""
        token = form_token(self.client.get("/my/"))
        return self.client.post(path, data={**data, "csrf_token": token}, **kwargs)

    def new_case(self, site: str = "left_forearm", **answers: str) -> str:
        """Answer the questions for ``site``; returns the draft case's id."""
        response = self.post(f"/my/cases/new/questions?site={site}", questionnaire_form(**answers))
        assert response.status_code == 302, response.get_data(as_text=True)
        match = re.search(r"/my/cases/([0-9a-f-]{36})/photos", response.headers["Location"])
        assert match
        return match.group(1)

    def send_photo(
        self, case_id: str, data: bytes | None = None, view: str = "close_up"
    ) -> TestResponse:
        """The no-JavaScript upload form."""
        return self.post(
            f"/my/cases/{case_id}/photos",
            {"view": view, "file": (io.BytesIO(jpeg() if data is None else data), "p.jpg")},
            content_type="multipart/form-data",
        )
