"""Model pre-analysis: stored once per photo, labelled decision support, used for routing."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from casebox.analysis.models import PhotoAnalysis
from casebox.cases import pipeline
from casebox.cases.models import Case, CaseStatus
from casebox.database import db
from casebox.queues.rules import RoutingRules
from tests.support import ApiClient, questionnaire, run_pipeline

CALM = questionnaire(
    changed_size=False, changed_shape=False, changed_colour=False, bleeding=False,
    previous_skin_cancer=False, duration="years",
)  # fmt: skip


def _processed_case(api: ApiClient, token: str, *views: str) -> str:
    case = api.create_case(token, questionnaire=CALM)
    for view in views:
        assert api.upload(token, case["id"], view=view).status_code == 201
    api.process_photos()
    url = f"/api/v1/cases/{case['id']}/submit"
    assert api.client.post(url, headers=api.auth(token)).status_code == 202
    run_pipeline(api.client.application)
    return str(case["id"])


def test_staff_see_labelled_analysis_of_close_ups_only(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case_id = _processed_case(api, token, "regional", "close_up", "dermoscopic")
    staff = api.auth(api.staff())
    body = api.client.get(f"/api/v1/cases/{case_id}", headers=staff).get_json()
    analyses = body["analysis"]
    views = {photo["id"]: photo["view"] for photo in body["photos"]}
    assert sorted(views[a["photo_id"]] for a in analyses) == ["close_up", "dermoscopic"]
    for analysis in analyses:
        assert analysis["model"]["name"] == "ham10000_xception"
        assert analysis["model"]["version"] and len(analysis["model"]["sha256"]) == 64
        assert "not a diagnosis" in analysis["notice"]
        assert abs(sum(analysis["probabilities"].values()) - 1) < 0.01
        expected = sum(analysis["probabilities"][k] for k in ("akiec", "bcc", "mel"))
        assert abs(analysis["malignancy_score"] - expected) < 1e-6
        assert analysis["out_of_distribution"] is (views[analysis["photo_id"]] != "dermoscopic")


def test_patients_do_not_see_raw_model_output(api: ApiClient) -> None:
    token = api.patient()
    case_id = _processed_case(api, token, "close_up")
    own = api.client.get(f"/api/v1/cases/{case_id}", headers=api.auth(token)).get_json()
    assert own["status"] == "awaiting_review"
    assert "analysis" not in own and "triage" not in own


def test_repeating_the_case_job_does_not_analyze_twice(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case_id = _processed_case(api, token, "close_up")
    with app.app_context():
        # As if a worker died after analyzing but before the case moved on, and ran again.
        case = db.session.scalar(select(Case).where(Case.public_id == case_id))
        assert case is not None
        case.status = CaseStatus.PROCESSING
        db.session.commit()
        assert pipeline.finish_processing(case_id) == CaseStatus.AWAITING_REVIEW
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(PhotoAnalysis)) == 1


def test_high_model_score_routes_to_urgent_with_the_reason(api: ApiClient, app: Flask) -> None:
    settings = app.extensions["casebox.settings"]
    app.extensions["casebox.settings"] = settings.replace(
        routing=RoutingRules(malignancy_threshold=0.0)
    )
    try:
        token = api.patient()
        case_id = _processed_case(api, token, "close_up")
    finally:
        app.extensions["casebox.settings"] = settings
    triage = api.client.get(f"/api/v1/cases/{case_id}", headers=api.auth(api.staff())).get_json()[
        "triage"
    ]
    assert triage["queue"] == "urgent"
    assert any("model malignancy score" in reason for reason in triage["routing_reasons"])
