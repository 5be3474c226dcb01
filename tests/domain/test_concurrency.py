"""Concurrent requests keep the audit chain linear and idempotency keys single-use."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from sqlalchemy import func, select

from casebox.audit.trail import verify_chain
from casebox.cases.models import Case
from casebox.database import db
from tests.support import ApiClient, questionnaire


def test_parallel_case_creation_keeps_one_unbroken_chain(api: ApiClient, app: Flask) -> None:
    tokens = [api.patient() for _ in range(4)]

    def create(index: int) -> int:
        client = app.test_client()
        body = {"body_site": "scalp", "questionnaire": questionnaire()}
        headers = {"Authorization": f"Bearer {tokens[index % 4]}"}
        return client.post("/api/v1/cases", json=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(create, range(24)))
    assert statuses == [201] * 24
    with app.app_context():
        checked, broken = verify_chain()
        assert broken is None
        assert db.session.scalar(select(func.count()).select_from(Case)) == 24
    assert checked > 24


def test_parallel_retries_with_one_key_create_one_case(api: ApiClient, app: Flask) -> None:
    token = api.patient()

    def create(_: int) -> int:
        client = app.test_client()
        body = {"body_site": "scalp", "questionnaire": questionnaire()}
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "same-key"}
        return client.post("/api/v1/cases", json=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(create, range(6)))
    assert set(statuses) <= {201, 409}
    assert 201 in statuses
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 1
