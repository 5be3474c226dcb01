"""The patient pages over HTTP: registration, intake, verdicts, submit, the case page."""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageFilter
from sqlalchemy import func, select

from casebox.accounts.consent import consent_for_language, current_consent
from casebox.accounts.models import ConsentRecord, User
from casebox.audit.models import AuditEvent
from casebox.cases.models import Case, CaseStatus, Photo
from casebox.database import db
from tests.api.review_support import claim, routed_case
from tests.patient.pages_support import PatientBrowser, form_token, questionnaire_form
from tests.support import PASSWORD, ApiClient, jpeg, run_pipeline

ASSESSMENT = {
    "diagnosis": {"text": "Seborrhoeic keratosis"},
    "certainty": "high",
    "management": "reassure_discharge",
    "patient_message": "A harmless growth. No treatment is needed.",
    "internal_note": "Stuck-on appearance.",
    "ai_agreement": "agree",
}


@pytest.fixture
def portal(client: FlaskClient, api: ApiClient) -> PatientBrowser:
    return PatientBrowser(client, api)


def _count(app: Flask, model: type) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def _blurred() -> bytes:
    image = Image.open(io.BytesIO(jpeg())).filter(ImageFilter.GaussianBlur(6))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _registration(portal: PatientBrowser, **changes: str) -> dict[str, str]:
    form = {
        "name": "Ana Tremblay",
        "email": "ana@example.org",
        "password": PASSWORD,
        "date_of_birth": "1984-05-06",
        "sex": "female",
        "consent": "yes",
        "csrf_token": portal.token("/register"),
    }
    form.update(changes)
    return form


def test_registering_accepts_the_consent_and_opens_the_patients_home(
    app: Flask, portal: PatientBrowser
) -> None:
    response = portal.client.post(
        "/register", data=_registration(portal), headers={"Accept-Language": "fr-CA,fr;q=0.9"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/my/"
    home = portal.client.get("/my/")
    assert "Mes demandes" in home.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ana@example.org"))
        assert user is not None and user.locale == "fr"
        record = db.session.scalar(select(ConsentRecord).where(ConsentRecord.user_id == user.id))
        # The hash proves the wording the patient read: the French translation here.
        assert record is not None and record.text_sha256 == consent_for_language("fr").sha256
        assert record.text_sha256 != current_consent().sha256


@pytest.mark.parametrize(
    ("change", "field_message"),
    [
        ({"consent": ""}, "Consent must be accepted."),
        ({"password": "short"}, "password"),
        ({"date_of_birth": "2999-01-01"}, "birth"),
        ({"email": "not-an-email"}, "email"),
    ],
)
def test_a_refused_registration_says_why_keeps_the_answers_and_creates_nobody(
    app: Flask, portal: PatientBrowser, change: dict[str, str], field_message: str
) -> None:
    form = _registration(portal)
    if change.get("consent") == "":
        form.pop("consent")
        change = {}
    form.update(change)
    response = portal.client.post("/register", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'role="alert"' in page and field_message.lower() in page.lower()
    assert 'value="Ana Tremblay"' in page  # the answers are kept
    assert PASSWORD not in page  # but never the password
    assert _count(app, User) == 0


def test_a_form_without_its_csrf_token_is_refused(app: Flask, portal: PatientBrowser) -> None:
    form = _registration(portal)
    form.pop("csrf_token")
    assert portal.client.post("/register", data=form).status_code == 400
    assert _count(app, User) == 0


def test_the_intake_goes_from_the_body_map_to_a_submitted_case(
    app: Flask, portal: PatientBrowser
) -> None:
    portal.registered()
    body_map = portal.client.get("/my/cases/new").get_data(as_text=True)
    assert 'href="/my/cases/new/questions?site=left_forearm"' in body_map
    assert 'aria-label="Left forearm"' in body_map
    case_id = portal.new_case("left_forearm")
    photos = portal.client.get(f"/my/cases/{case_id}/photos").get_data(as_text=True)
    assert 'accept="image/*" capture="environment"' in photos
    assert "20 cm" in photos and "30 to 50 cm" in photos  # guidance per view
    assert portal.send_photo(case_id).status_code == 302
    assert "Checking this photo" in portal.client.get(f"/my/cases/{case_id}/photos").text
    run_pipeline(app)
    assert "Good photo" in portal.client.get(f"/my/cases/{case_id}/photos").text
    review = portal.client.get(f"/my/cases/{case_id}/review").get_data(as_text=True)
    assert "Left forearm" in review and "A few" in review
    sent = portal.post(f"/my/cases/{case_id}/review", {})
    assert sent.status_code == 302
    case_page = portal.client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Your case was sent" in case_page
    assert "You sent it to the dermatology service" in case_page
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.public_id == case_id))
        assert case is not None and case.status == CaseStatus.SUBMITTED


def test_missing_answers_are_named_and_no_case_is_opened(
    app: Flask, portal: PatientBrowser
) -> None:
    portal.registered()
    form = questionnaire_form()
    del form["itch"]
    form["duration"] = "forever"
    response = portal.post("/my/cases/new/questions?site=left_forearm", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="questionnaire-itch-error"' in page
    assert 'id="questionnaire-duration-error"' in page
    assert _count(app, Case) == 0


def test_a_blurred_photo_is_refused_with_its_reason_and_can_be_taken_again(
    app: Flask, portal: PatientBrowser
) -> None:
    portal.registered()
    case_id = portal.new_case()
    portal.send_photo(case_id, _blurred())
    run_pipeline(app)
    page = portal.client.get(f"/my/cases/{case_id}/photos").get_data(as_text=True)
    assert "This photo cannot be used" in page and "blur" in page.lower()
    refused = portal.post(f"/my/cases/{case_id}/review", {})
    assert refused.status_code == 422 and "cannot be used" in refused.get_data(as_text=True)
    photo_id = re.search(r'data-photo="([0-9a-f-]{36})"', page).group(1)  # type: ignore[union-attr]
    removed = portal.post(f"/my/cases/{case_id}/photos/{photo_id}/delete", {})
    assert removed.status_code == 302
    portal.send_photo(case_id)
    run_pipeline(app)
    assert portal.post(f"/my/cases/{case_id}/review", {}).status_code == 302


def test_a_file_that_is_not_a_photo_is_refused_and_nothing_is_stored(
    app: Flask, portal: PatientBrowser
) -> None:
    portal.registered()
    case_id = portal.new_case()
    response = portal.send_photo(case_id, b"%PDF-1.7 not a photo")
    assert response.status_code in (415, 422)
    assert 'role="alert"' in response.get_data(as_text=True)
    assert _count(app, Photo) == 0
    no_file = portal.post(f"/my/cases/{case_id}/photos", {"view": "close_up"})
    assert no_file.status_code == 422 and "Choose a photo" in no_file.get_data(as_text=True)


def test_sending_without_a_close_up_is_refused_with_the_reason(
    app: Flask, portal: PatientBrowser
) -> None:
    portal.registered()
    case_id = portal.new_case()
    portal.send_photo(case_id, view="regional")
    run_pipeline(app)
    refused = portal.post(f"/my/cases/{case_id}/review", {})
    assert refused.status_code == 422
    assert "close-up" in refused.get_data(as_text=True)


def test_the_case_page_shows_the_answer_and_its_history(
    app: Flask, api: ApiClient, portal: PatientBrowser
) -> None:
    email = portal.registered()
    token = api.login(email)
    case_id = routed_case(api, token)
    specialist = api.auth(api.staff())
    claim(api, specialist, case_id)
    assessed = api.client.post(
        f"/api/v1/cases/{case_id}/assessment", json=ASSESSMENT, headers=specialist
    )
    assert assessed.status_code == 201, assessed.get_json()
    page = portal.client.get(f"/my/cases/{case_id}").get_data(as_text=True)
    assert "A harmless growth. No treatment is needed." in page
    assert "Nothing worrying" in page
    assert "Stuck-on appearance" not in page  # the internal note stays internal
    steps = re.findall(r"</time>([^<]+)</li>", page)
    assert steps == [
        "You started the case",
        "You sent it to the dermatology service",
        "Your photos were checked; waiting for a dermatologist",
        "A dermatologist started reviewing your case",
        "The dermatologist responded",
    ]
    home = portal.client.get("/my/").get_data(as_text=True)
    assert "Your specialist has responded." in home


def test_answering_a_request_for_more_information_sends_the_case_back(
    app: Flask, api: ApiClient, portal: PatientBrowser
) -> None:
    email = portal.registered()
    case_id = routed_case(api, api.login(email))
    specialist = api.auth(api.staff())
    claim(api, specialist, case_id)
    asking = {
        **ASSESSMENT,
        "management": "more_information",
        "information_request": "Please send a photo from further away.",
    }
    assert (
        api.client.post(
            f"/api/v1/cases/{case_id}/assessment", json=asking, headers=specialist
        ).status_code
        == 201
    )
    page = portal.client.get(f"/my/cases/{case_id}").get_data(as_text=True)
    assert "Please send a photo from further away." in page and 'id="reply"' in page
    empty = portal.post(f"/my/cases/{case_id}/reply", {"message": "  "})
    assert empty.status_code == 422
    portal.send_photo(case_id, view="regional")
    run_pipeline(app)
    answered = portal.post(f"/my/cases/{case_id}/reply", {"message": "Here it is."})
    assert answered.status_code == 302
    page = portal.client.get(f"/my/cases/{case_id}").get_data(as_text=True)
    assert "You answered the dermatologist" in page and "Here it is." in page
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.public_id == case_id))
        assert case is not None and case.status == CaseStatus.SUBMITTED


def test_a_case_is_private_to_its_patient(
    app: Flask, api: ApiClient, portal: PatientBrowser
) -> None:
    owner = api.patient()
    case_id = routed_case(api, owner)
    portal.registered()
    other = portal.client.get(f"/my/cases/{case_id}")
    assert other.status_code == 404 and "No such case" not in other.get_data(as_text=True)[:0]
    as_json = portal.client.get(f"/my/cases/{case_id}", headers={"Accept": "application/json"})
    assert as_json.status_code == 404 and as_json.content_type == "application/problem+json"
    portal.client.post("/logout", data={"csrf_token": form_token(portal.client.get("/my/"))})
    anonymous = portal.client.get(f"/my/cases/{case_id}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_staff_cannot_use_the_patient_pages(api: ApiClient, portal: PatientBrowser) -> None:
    api.staff()
    from tests.support import STAFF_PASSWORD

    with api.client.application.app_context():
        email = db.session.scalar(select(User.email).where(User.role == "specialist"))
    assert portal.sign_in(str(email), STAFF_PASSWORD).status_code == 302
    assert portal.client.get("/my/").status_code == 403


def test_the_language_follows_the_browser_and_the_switch(
    app: Flask, portal: PatientBrowser
) -> None:
    english = portal.client.get("/login", headers={"Accept-Language": "en-CA"}).text
    french = portal.client.get("/login", headers={"Accept-Language": "fr-CA"}).text
    assert '<html lang="en">' in english and '<html lang="fr">' in french
    assert "Sign in" in english and "Ouvrir une session" in french
    switched = portal.client.post(
        "/language", data={"language": "fr", "next": "/login", "csrf_token": portal.token()}
    )
    assert switched.status_code == 302 and switched.headers["Location"] == "/login"
    assert '<html lang="fr">' in portal.client.get("/login", headers={"Accept-Language": "en"}).text
    refused = portal.client.post(
        "/language",
        data={"language": "de", "csrf_token": portal.token()},
        headers={"Accept": "application/json"},
    )
    assert refused.status_code == 422 and refused.content_type == "application/problem+json"


def test_withdrawn_consent_stops_new_cases_until_given_again(
    app: Flask, portal: PatientBrowser
) -> None:
    portal.registered()
    assert portal.post("/my/consent", {"action": "withdraw"}).status_code == 302
    assert "You withdrew your consent" in portal.client.get("/my/").text
    refused = portal.post("/my/cases/new/questions?site=chin", questionnaire_form())
    assert refused.status_code == 403 and "Consent is withdrawn" in refused.text
    assert portal.post("/my/consent", {"action": "give", "consent": "yes"}).status_code == 302
    assert portal.new_case("chin")


def test_notification_choices_are_saved_and_a_bad_number_is_named(
    app: Flask, portal: PatientBrowser
) -> None:
    portal.registered()
    saved = portal.post("/my/settings", {"email": "yes"})
    assert saved.status_code == 302
    assert "checked" in portal.client.get("/my/settings").text.split('name="email"')[1][:40]
    bad = portal.post("/my/settings", {"sms": "yes", "phone": "12"})
    assert bad.status_code == 422 and "international form" in bad.text


def test_erasure_from_the_pages_needs_the_password_then_closes_the_account(
    app: Flask, portal: PatientBrowser
) -> None:
    from casebox.erasure.models import ErasureRequest

    email = portal.registered()
    wrong = portal.post("/my/erasure", {"password": "not my password", "confirm": "ERASE"})
    assert wrong.status_code == 403 and 'role="alert"' in wrong.text
    unconfirmed = portal.post("/my/erasure", {"password": PASSWORD, "confirm": "yes"})
    assert unconfirmed.status_code == 422 and "ERASE" in unconfirmed.text
    assert _count(app, ErasureRequest) == 0
    done = portal.post("/my/erasure", {"password": PASSWORD, "confirm": "ERASE"})
    assert done.status_code == 200 and "deleted for good on" in done.text
    assert portal.client.get("/my/").status_code == 302  # signed out
    assert portal.sign_in(email).status_code == 200  # and cannot sign in again
    with app.app_context():
        audited = db.session.scalars(
            select(AuditEvent.outcome).where(AuditEvent.action == "patient.erasure_requested")
        ).all()
    assert audited == ["failure", "success"]


def test_answers_can_be_changed_before_sending_but_not_after(
    app: Flask, portal: PatientBrowser
) -> None:
    portal.registered()
    case_id = portal.new_case(itch="no")
    form = portal.client.get(f"/my/cases/{case_id}/questions").text
    assert 'name="itch" value="no" checked' in form
    changed = portal.post(
        f"/my/cases/{case_id}/questions", {**questionnaire_form(itch="yes"), "site": "chin"}
    )
    assert changed.status_code == 302 and changed.headers["Location"].endswith("/review")
    bad = portal.post(
        f"/my/cases/{case_id}/questions", {**questionnaire_form(itch="maybe"), "site": "chin"}
    )
    assert bad.status_code == 422 and "Choose yes or no." in bad.text
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.public_id == case_id))
        assert case is not None and case.body_site == "chin" and case.questionnaire["itch"] is True
    portal.send_photo(case_id)
    run_pipeline(app)
    assert portal.post(f"/my/cases/{case_id}/review", {}).status_code == 302
    late = portal.post(f"/my/cases/{case_id}/questions", {**questionnaire_form(), "site": "chin"})
    assert late.status_code == 409


def test_a_prescription_notice_opens_the_case_with_the_prescription_and_its_pdf(
    app: Flask, api: ApiClient, portal: PatientBrowser
) -> None:
    from tests.prescriptions.prescribing_support import prescribing, render_pdfs

    rx = prescribing(api)
    issued = rx.issued()
    render_pdfs(api)
    email = api.client.get("/api/v1/me", headers=rx.patient).get_json()["email"]
    assert portal.sign_in(email).status_code == 302
    home = portal.client.get("/my/").text
    assert "A prescription has been issued for you." in home
    notice_id = re.search(r"/my/notifications/([0-9a-f-]{36})/open", home).group(1)  # type: ignore[union-attr]
    opened = portal.post(f"/my/notifications/{notice_id}/open", {})
    assert opened.status_code == 302 and opened.headers["Location"] == f"/my/cases/{rx.case_id}"
    page = portal.client.get(opened.headers["Location"]).text
    assert "Doxycycline" in page or "doxycycline" in page.lower()
    assert "Sent to your pharmacy" in page and "Main Street Pharmacy" in page
    pdf_link = f"/api/v1/prescriptions/{issued['id']}/pdf"
    assert pdf_link in page
    pdf = portal.client.get(pdf_link)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert issued["instructions"] in page
    french = portal.client.get(opened.headers["Location"], headers={"Accept-Language": "fr"})
    assert "Envoyée à votre pharmacie" in french.text or "pharmacie" in french.text
    assert issued["instructions"] not in french.text  # the dose text is written in French
