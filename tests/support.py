"""Test helpers: an API client that knows casebox's routes, and valid request bodies."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from werkzeug.test import TestResponse

from casebox import services
from casebox.accounts.models import Role
from casebox.accounts.operations import create_user
from casebox.audit.models import AuditHead
from casebox.database import db
from casebox.demo import DEMO_QUESTIONNAIRE, synthetic_lesion_photo
from casebox.review.memberships import all_queue_names, set_queues
from workers.queues import default_queue
from workers.relay import relay_pending
from workers.worker import PipelineWorker

PASSWORD = "correct horse battery"
STAFF_PASSWORD = "staff password 123"
_counter = itertools.count(1)


def questionnaire(**changes: Any) -> dict[str, Any]:
    """A complete, valid questionnaire (the demo one), with some answers changed."""
    return {**DEMO_QUESTIONNAIRE, **changes}


def jpeg(seed: int = 1) -> bytes:
    """A realistic skin photo as JPEG bytes."""
    return synthetic_lesion_photo(seed, size=(1024, 768))


@contextmanager
def clock_ahead(app: Flask, delta: timedelta) -> Iterator[None]:
    """Run casebox's clock ``delta`` ahead of the real one (``Settings.clock_offset``)."""
    original = app.extensions["casebox.settings"]
    app.extensions["casebox.settings"] = original.replace(clock_offset=delta)
    try:
        yield
    finally:
        app.extensions["casebox.settings"] = original


def run_pipeline(app: Flask) -> int:
    """Relay committed outbox events and run every queued job; returns events relayed."""
    with app.app_context():
        queue = default_queue(services.redis_connection())
        relayed = relay_pending(queue)
        PipelineWorker([queue], connection=queue.connection, app=app).work(burst=True)
    return relayed


class ApiClient:
    """Thin helpers over the Flask test client for the casebox API."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        """The Authorization header for a token."""
        return {"Authorization": f"Bearer {token}"}

    def registration(self, **changes: Any) -> dict[str, Any]:
        """A valid registration body with a unique email."""
        consent = self.client.get("/api/v1/consent").get_json()
        body: dict[str, Any] = {
            "email": f"patient{next(_counter)}@example.org",
            "password": PASSWORD,
            "name": "Test Patient",
            "date_of_birth": "1980-02-29",
            "sex": "female",
            "consent": {"version": consent["version"], "accepted": True},
        }
        body.update(changes)
        return body

    def register(self, **changes: Any) -> dict[str, Any]:
        """Register a patient; returns the registration body used."""
        body = self.registration(**changes)
        response = self.client.post("/api/v1/patients", json=body)
        assert response.status_code == 201, response.get_json()
        return body

    def login(self, email: str, password: str = PASSWORD) -> str:
        """Get a bearer token."""
        response = self.client.post(
            "/api/v1/auth/tokens", json={"email": email, "password": password}
        )
        assert response.status_code == 201, response.get_json()
        return str(response.get_json()["token"])

    def patient(self, **changes: Any) -> str:
        """Register a patient and return their token."""
        body = self.register(**changes)
        return self.login(body["email"], body["password"])

    def create_case(self, token: str, **changes: Any) -> dict[str, Any]:
        """Open a draft case; returns its JSON."""
        body = {"body_site": "left_forearm", "questionnaire": questionnaire()}
        body.update(changes)
        response = self.client.post("/api/v1/cases", json=body, headers=self.auth(token))
        assert response.status_code == 201, response.get_json()
        return dict(response.get_json())

    def upload(
        self,
        token: str,
        case_id: str,
        data: bytes | None = None,
        *,
        view: str = "close_up",
        filename: str = "photo.jpg",
        content_type: str = "image/jpeg",
        headers: dict[str, str] | None = None,
    ) -> TestResponse:
        """Post a photo to a case."""
        payload = {
            "view": view,
            "file": (io.BytesIO(jpeg() if data is None else data), filename, content_type),
        }
        return self.client.post(
            f"/api/v1/cases/{case_id}/photos",
            data=payload,
            content_type="multipart/form-data",
            headers={**self.auth(token), **(headers or {})},
        )

    def staff(self, role: Role = Role.SPECIALIST, queues: list[str] | None = None) -> str:
        """Create a staff account of ``role`` (unique per call) and return its token.

        Specialists work ``queues`` (default: every queue).
        """
        email = f"{role}{next(_counter)}@clinic.example"
        with self.client.application.app_context():
            user = create_user(email, STAFF_PASSWORD, name=f"Test {role}", role=role)
            if role == Role.SPECIALIST:
                set_queues(user, all_queue_names() if queues is None else queues)
            db.session.commit()
        return self.login(email, STAFF_PASSWORD)

    def process_photos(self) -> None:
        """Run the relay and a burst worker, as the pipeline would after uploads."""
        run_pipeline(self.client.application)

    def submitted_case(self, token: str) -> dict[str, Any]:
        """A case with a checked close-up photo, submitted."""
        case = self.create_case(token)
        assert self.upload(token, case["id"]).status_code == 201
        self.process_photos()
        response = self.client.post(f"/api/v1/cases/{case['id']}/submit", headers=self.auth(token))
        assert response.status_code == 202, response.get_json()
        return case


def can_write_elsewhere(app: Flask) -> bool:
    """Whether another connection could start writing the audit trail without waiting."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    try:
        with engine.connect() as other:
            if other.dialect.name == "sqlite":
                other.exec_driver_sql("PRAGMA busy_timeout=0")
            else:
                other.exec_driver_sql("SET lock_timeout = '10ms'")
            other.execute(select(AuditHead).with_for_update())
            other.rollback()
        return True
    except OperationalError:
        return False
    finally:
        engine.dispose()
