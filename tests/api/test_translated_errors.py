"""Patients read the API's refusals in their language: the browser's, or the one they chose."""

from __future__ import annotations

import io

from flask import Flask
from PIL import Image, ImageFilter
from sqlalchemy import func, select

from casebox.accounts.models import User
from casebox.database import db
from casebox.i18n import LANGUAGE_COOKIE
from tests.support import ApiClient, jpeg

FRENCH = {"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-CA,en;q=0.9"}


def _users(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count(User.id))) or 0)


def test_a_weak_password_is_refused_in_french_or_english(api: ApiClient, app: Flask) -> None:
    before = _users(app)
    french = api.client.post(
        "/api/v1/patients", json=api.registration(password="elevenchars"), headers=FRENCH
    )
    english = api.client.post(
        "/api/v1/patients", json=api.registration(password="elevenchars"), headers=ENGLISH
    )
    assert french.status_code == english.status_code == 422
    assert french.mimetype == english.mimetype == "application/problem+json"
    fr, en = french.get_json(), english.get_json()
    assert fr["title"] == "La requête n’est pas valide"  # noqa: RUF001  # French typography
    assert fr["detail"] == "Le mot de passe doit comporter au moins 12 caractères."
    assert fr["errors"]["password"] == ["Doit comporter au moins 12 caractères."]
    assert en["title"] == "The request is not valid"
    assert en["detail"] == "The password must have at least 12 characters."
    assert en["errors"]["password"] == ["Must have at least 12 characters."]
    assert fr["type"] == en["type"]  # the machine-readable part does not change
    assert _users(app) == before  # nothing half-written


def test_missing_fields_are_named_with_french_messages(api: ApiClient) -> None:
    body = api.registration()
    del body["name"]
    response = api.client.post("/api/v1/patients", json=body, headers=FRENCH)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["errors"]["name"] == ["Ce champ est obligatoire."]
    assert problem["detail"] == "Champs non valides ou manquants : name."


def test_the_chosen_language_wins_over_the_browser(api: ApiClient) -> None:
    api.client.set_cookie(LANGUAGE_COOKIE, "fr")
    response = api.client.post(
        "/api/v1/auth/tokens",
        json={"email": "nobody@example.org", "password": "wrong password"},
        headers=ENGLISH,
    )
    assert response.status_code == 401
    assert response.get_json()["title"] == "Authentification requise"
    assert response.get_json()["detail"] == "L’adresse courriel ou le mot de passe est erroné."  # noqa: RUF001  # French typography
    api.client.delete_cookie(LANGUAGE_COOKIE)
    again = api.client.post(
        "/api/v1/auth/tokens",
        json={"email": "nobody@example.org", "password": "wrong password"},
        headers=ENGLISH,
    )
    assert again.get_json()["detail"] == "The email or password is wrong."


def _blurred() -> bytes:
    image = Image.open(io.BytesIO(jpeg())).filter(ImageFilter.GaussianBlur(6))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def test_a_blurred_photo_is_explained_in_the_readers_language(api: ApiClient) -> None:
    token = api.patient()
    case = api.create_case(token)
    photo = api.upload(token, case["id"], _blurred()).get_json()
    api.process_photos()  # the verdict is reached by a job, with no reader's language
    url = f"/api/v1/cases/{case['id']}/photos/{photo['id']}"

    def reason(headers: dict[str, str]) -> dict[str, str]:
        checked = api.client.get(url, headers={**api.auth(token), **headers}).get_json()
        assert checked["status"] == "rejected"
        [found] = [r for r in checked["quality_reasons"] if r["code"] == "blurred"]
        return found

    french, english = reason(FRENCH), reason(ENGLISH)
    assert french["message"].startswith("La photo est floue : tenez le téléphone immobile")
    assert english["message"].startswith("The photo is blurred: hold the phone steady")
    assert french["code"] == english["code"] == "blurred"


def test_a_file_that_is_not_a_photo_is_refused_in_french(api: ApiClient) -> None:
    token = api.patient()
    case = api.create_case(token)
    response = api.upload(
        token, case["id"], b"%PDF-1.7 not a photo " * 10, filename="a.pdf", headers=FRENCH
    )
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["title"] == "La photo ne peut pas être acceptée"
    assert problem["detail"].startswith("Ce fichier n’est pas une photo que nous pouvons accepter")  # noqa: RUF001  # French typography
    assert problem["errors"]["file"] == [problem["detail"]]


def test_body_site_labels_follow_the_language(api: ApiClient) -> None:
    french = api.client.get("/api/v1/body-sites", headers=FRENCH)
    english = api.client.get("/api/v1/body-sites", headers=ENGLISH)
    label = {site["code"]: site["label"] for site in french.get_json()}
    assert label["left_cheek"] == "Joue gauche"
    assert label["neck_back"] == "Nuque"
    assert {site["code"]: site["label"] for site in english.get_json()}["left_cheek"] == (
        "Left cheek"
    )


def test_an_unknown_address_is_answered_in_french(api: ApiClient) -> None:
    response = api.client.get("/api/v1/no-such-thing", headers=FRENCH)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["title"] == "Introuvable"
    assert response.get_json()["detail"] == "Il n’y a rien à cette adresse."  # noqa: RUF001  # French typography


def test_out_of_bounds_answers_are_explained_in_french(api: ApiClient) -> None:
    response = api.client.post(
        "/api/v1/patients", json=api.registration(sex="martian", name=""), headers=FRENCH
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["sex"] == ["Choisissez une des réponses proposées."]
    assert errors["name"] == ["Inscrivez un nom de 1 à 200 caractères."]


def test_a_case_without_a_close_up_is_refused_in_the_readers_language(api: ApiClient) -> None:
    token = api.patient()
    case = api.create_case(token)
    assert api.upload(token, case["id"], view="regional").status_code == 201
    api.process_photos()
    submit = f"/api/v1/cases/{case['id']}/submit"
    french = api.client.post(submit, headers={**api.auth(token), **FRENCH})
    english = api.client.post(submit, headers={**api.auth(token), **ENGLISH})
    assert french.status_code == english.status_code == 422
    assert french.get_json()["detail"] == (
        "Ajoutez au moins une photo en gros plan avant d’envoyer la demande."  # noqa: RUF001  # French typography
    )
    assert english.get_json()["detail"] == "Add at least one close-up photo before submitting."
    status = api.client.get(f"/api/v1/cases/{case['id']}", headers=api.auth(token))
    assert status.get_json()["status"] == "draft"  # nothing was sent


def test_a_blurred_photo_blocks_the_submission_in_french(api: ApiClient) -> None:
    token = api.patient()
    case = api.create_case(token)
    api.upload(token, case["id"], _blurred())
    api.process_photos()
    response = api.client.post(
        f"/api/v1/cases/{case['id']}/submit", headers={**api.auth(token), **FRENCH}
    )
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["detail"] == (
        "Certaines photos ne peuvent pas être utilisées. Supprimez-les et reprenez-les."
    )
    assert "La photo est floue" in problem["errors"]["photos"][0]
