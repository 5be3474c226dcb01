"""Notices are written in the recipient's language, whoever's request or job sends them."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from flask import Flask
from sqlalchemy import select

from casebox.accounts.models import User
from casebox.database import db
from casebox.i18n import LANGUAGE_COOKIE
from casebox.notifications.sms import SMS_PROVIDERS
from tests.api import test_notifications
from tests.api.test_notifications import (
    CLINICAL_WORDS,
    NOTICES,
    Mailbox,
    _assessed,
    _choose,
    _text_of,
    _use_settings,
)
from tests.support import ApiClient, run_pipeline

mailbox = test_notifications.mailbox  # the local SMTP server (aiosmtpd) fixture

FRENCH_NOTICE = (
    "Vous avez un nouveau message de votre service de dermatologie; "
    "ouvrez une session pour le lire."
)
ENGLISH_NOTICE = "You have a new message from your dermatology service; log in to read it."
# French words a clinical message could carry (the assessment's, translated).
FRENCH_CLINICAL_WORDS = ("kératose", "séborrhéique", "bénigne", "traitement", "diagnostic")


def _patient_speaking(api: ApiClient, app: Flask, language: str | None) -> tuple[str, dict]:  # type: ignore[type-arg]
    body = api.register()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == body["email"]))
        assert user is not None
        user.locale = language
        db.session.commit()
    return api.login(body["email"]), body


def test_a_french_speaking_patient_gets_a_french_email_and_an_english_one_english(
    api: ApiClient, app: Flask, mailbox: Mailbox
) -> None:
    french, french_body = _patient_speaking(api, app, "fr")
    english, english_body = _patient_speaking(api, app, "en")
    for token in (french, english):
        assert _choose(api, token, email=True).status_code == 200
    # The specialist's requests are in English: the notices still follow each patient.
    french_case = _assessed(api, french)
    english_case = _assessed(api, english)
    run_pipeline(app)

    sent = {str(message["To"]): message for message in mailbox.messages}
    assert set(sent) == {french_body["email"], english_body["email"]}
    in_french = _text_of(sent[french_body["email"]])
    in_english = _text_of(sent[english_body["email"]])

    assert str(sent[french_body["email"]]["Subject"]) == (
        "Un nouveau message de votre service de dermatologie"
    )
    assert FRENCH_NOTICE in in_french and "Bonjour," in in_french
    assert 'lang="fr"' in sent[french_body["email"]].get_body(("html",)).get_content()
    assert "Ouvrir une session" in in_french
    assert ENGLISH_NOTICE not in in_french

    assert str(sent[english_body["email"]]["Subject"]) == (
        "A new message from your dermatology service"
    )
    assert ENGLISH_NOTICE in in_english and "Hello," in in_english
    assert 'lang="en"' in sent[english_body["email"]].get_body(("html",)).get_content()
    assert FRENCH_NOTICE not in in_english

    for text, body, case_id in (
        (in_french, french_body, french_case),
        (in_english, english_body, english_case),
    ):
        for word in (*CLINICAL_WORDS, *FRENCH_CLINICAL_WORDS, body["name"], case_id):
            assert word.lower() not in text.lower(), word


def test_a_patient_without_a_saved_language_is_written_to_in_english(
    api: ApiClient, app: Flask, mailbox: Mailbox
) -> None:
    patient, _ = _patient_speaking(api, app, None)
    _choose(api, patient, email=True)
    _assessed(api, patient)
    run_pipeline(app)
    [message] = mailbox.messages
    assert ENGLISH_NOTICE in _text_of(message)


@dataclass
class Phone:
    """A text-message provider that keeps what it sends (no gateway runs in tests)."""

    received: list[tuple[str, str]] = field(default_factory=list)

    def send(self, to: str, body: str) -> None:
        self.received.append((to, body))


def test_a_french_text_message_and_in_app_title(
    api: ApiClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    phone = Phone()
    monkeypatch.setitem(SMS_PROVIDERS, "phone", lambda settings: phone)
    _use_settings(app, monkeypatch, sms_backend="phone")
    patient, body = _patient_speaking(api, app, "fr")
    assert _choose(api, patient, sms=True, phone="+1 514 555 0123").status_code == 200
    case_id = _assessed(api, patient)
    run_pipeline(app)
    [(number, text)] = phone.received
    assert number == "+15145550123"
    assert FRENCH_NOTICE in text
    for word in (*CLINICAL_WORDS, *FRENCH_CLINICAL_WORDS, body["name"], case_id):
        assert word.lower() not in text.lower(), word
    # The in-app list follows the reader's language, like every page.
    listed = api.client.get(
        NOTICES, headers={**api.auth(patient), "Accept-Language": "fr"}
    ).get_json()
    assert listed["items"][0]["title"] == "Votre spécialiste vous a répondu."
    english = api.client.get(
        NOTICES, headers={**api.auth(patient), "Accept-Language": "en"}
    ).get_json()
    # A saved language wins over the browser's, unless the switcher's cookie says otherwise.
    assert english["items"][0]["title"] == "Votre spécialiste vous a répondu."
    api.client.set_cookie(LANGUAGE_COOKIE, "en")
    switched = api.client.get(NOTICES, headers=api.auth(patient)).get_json()
    assert switched["items"][0]["title"] == "Your specialist has responded."
