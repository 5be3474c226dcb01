"""Patients hear that their specialist answered: in the app always, by e-mail or text
message when they choose, each sent once, and never with a clinical word in it."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import func, select

from casebox.accounts.models import Role
from casebox.database import db, utcnow
from casebox.errors import ConfigurationError
from casebox.notifications.delivery import stuck_notifications
from casebox.notifications.mail import email_available
from casebox.notifications.models import DeliveryStatus, NotificationDelivery
from casebox.notifications.sms import sms_available
from casebox.notifications.texts import NOTICE
from casebox.outbox.events import NOTIFICATION_CREATED
from casebox.outbox.models import OutboxEvent
from casebox.settings import Settings, new_data_key
from tests.api.review_support import claim, routed_case
from tests.api.test_review import ASSESSMENT
from tests.prescriptions.prescribing_support import Prescribing, prescribing
from tests.support import ApiClient, run_pipeline
from workers.jobs import send_notification

CLINICAL_WORDS = ("Seborrhoeic", "keratosis", "harmless", "treatment", "stuck-on", "Classic")
PREFERENCES = "/api/v1/me/notification-preferences"
NOTICES = "/api/v1/me/notifications"


@dataclass
class Mailbox:
    """What a local SMTP server received."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802  # aiosmtpd's hook name
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _use_settings(app: Flask, monkeypatch: pytest.MonkeyPatch, **changes: Any) -> None:
    settings: Settings = app.extensions["casebox.settings"]
    monkeypatch.setitem(app.extensions, "casebox.settings", settings.replace(**changes))


@pytest.fixture
def mailbox(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """An SMTP server on loopback, and the application sending its e-mail there."""
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    _use_settings(app, monkeypatch, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)
    try:
        yield box
    finally:
        controller.stop()


class Recorded(logging.Handler):
    """Keeps the messages logged by notifications (pytest's logging plugin may be off)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def sms_log() -> Iterator[Recorded]:
    handler = Recorded()
    logger = logging.getLogger("casebox.notifications")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _choose(api: ApiClient, token: str, **choice: Any) -> Any:
    body = {"email": False, "sms": False, **choice}
    return api.client.put(PREFERENCES, json=body, headers=api.auth(token))


def _assessed(api: ApiClient, patient: str, **changes: Any) -> str:
    """A case of ``patient`` assessed by a specialist; its id."""
    case_id = routed_case(api, patient)
    specialist = api.auth(api.staff())
    claim(api, specialist, case_id)
    done = api.client.post(
        f"/api/v1/cases/{case_id}/assessment", json={**ASSESSMENT, **changes}, headers=specialist
    )
    assert done.status_code == 201, done.get_json()
    return case_id


def _notices(api: ApiClient, token: str) -> dict[str, Any]:
    response = api.client.get(NOTICES, headers=api.auth(token))
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def _text_of(message: EmailMessage) -> str:
    parts = [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
    return "\n".join([str(message["Subject"]), *parts])


def _deliveries(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id))
        return [(str(row.channel), str(row.status)) for row in rows]


def test_an_assessment_gives_the_patient_a_notice_and_one_generic_email(
    api: ApiClient, app: Flask, mailbox: Mailbox
) -> None:
    body = api.register()
    patient = api.login(body["email"])
    assert _choose(api, patient, email=True).status_code == 200
    case_id = _assessed(api, patient)

    listed = _notices(api, patient)
    assert listed["unread"] == 1
    [notice] = listed["items"]
    assert (notice["kind"], notice["link"]) == ("case.response", f"/api/v1/cases/{case_id}")
    assert notice["read_at"] is None
    opened = api.client.get(notice["link"], headers=api.auth(patient)).get_json()
    assert opened["response"]["message"] == ASSESSMENT["patient_message"]
    assert mailbox.messages == []  # sent by a job, after the commit

    run_pipeline(app)
    [message] = mailbox.messages
    assert mailbox.recipients == [[body["email"]]]
    text = _text_of(message)
    assert NOTICE in text
    assert message.get_body(("html",)) is not None
    for word in (*CLINICAL_WORDS, body["name"], case_id):
        assert word not in text, word

    with app.app_context():
        assert send_notification(notice["id"]) == 0  # the job again: nothing more is sent
    run_pipeline(app)
    assert len(mailbox.messages) == 1
    assert _deliveries(app) == [("email", "sent")]


def test_a_patient_who_opted_out_gets_no_email_and_no_text(
    api: ApiClient, app: Flask, mailbox: Mailbox, sms_log: Recorded
) -> None:
    patient = api.patient()
    assert _choose(api, patient, email=True, sms=True, phone="+15145550123").status_code == 200
    assert _choose(api, patient, email=False, sms=False).status_code == 200
    _assessed(api, patient)
    run_pipeline(app)
    assert _notices(api, patient)["unread"] == 1  # the app still says so
    assert mailbox.messages == []
    assert not [line for line in sms_log.lines if "text message" in line]
    with app.app_context():
        topics = db.session.scalars(select(OutboxEvent.topic)).all()
    assert NOTIFICATION_CREATED not in topics


def test_a_patient_withdrawing_email_before_the_job_runs_gets_none(
    api: ApiClient, app: Flask, mailbox: Mailbox
) -> None:
    patient = api.patient()
    _choose(api, patient, email=True)
    _assessed(api, patient)
    _choose(api, patient, email=False)
    run_pipeline(app)
    assert mailbox.messages == []
    assert _deliveries(app) == [("email", "cancelled")]


def test_a_text_is_logged_with_a_masked_number_and_no_clinical_word(
    api: ApiClient, app: Flask, sms_log: Recorded
) -> None:
    patient = api.patient()
    chosen = _choose(api, patient, sms=True, phone="+1 (514) 555-0123")
    assert chosen.status_code == 200, chosen.get_json()
    assert chosen.get_json()["phone"] == "+15145550123"
    request = "Please send a close-up in daylight with a ruler beside it."
    _assessed(api, patient, management="more_information", information_request=request)
    assert _notices(api, patient)["items"][0]["kind"] == "case.more_info"
    run_pipeline(app)
    sent = [line for line in sms_log.lines if "text message sent" in line]
    assert sent == [f"text message sent to +*********23 ({_sms_length(app)} characters)"]
    logged = "\n".join(sms_log.lines)
    for secret in ("5145550123", "daylight", *CLINICAL_WORDS):
        assert secret not in logged, secret
    assert _deliveries(app) == [("sms", "sent")]
    run_pipeline(app)
    assert len([line for line in sms_log.lines if "text message sent" in line]) == 1


def _sms_length(app: Flask) -> int:
    settings: Settings = app.extensions["casebox.settings"]
    return len(f"{settings.clinic.name}: {NOTICE} {settings.public_url}/login")


def test_a_failed_send_is_retried_and_still_sent_once(
    api: ApiClient, app: Flask, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = api.patient()
    _choose(api, patient, email=True)
    _assessed(api, patient)
    [notice] = _notices(api, patient)["items"]
    working: Settings = app.extensions["casebox.settings"]
    _use_settings(app, monkeypatch, smtp_port=_free_port())  # nobody listens there
    with app.app_context(), pytest.raises(OSError):
        send_notification(notice["id"])
    assert _deliveries(app) == [("email", "pending")]  # the claim was given back
    monkeypatch.setitem(app.extensions, "casebox.settings", working)
    with app.app_context():
        assert send_notification(notice["id"]) == 1
        assert send_notification(notice["id"]) == 0
    assert len(mailbox.messages) == 1


def test_a_delivery_claimed_by_a_run_that_died_is_not_sent_again(
    api: ApiClient, app: Flask, mailbox: Mailbox
) -> None:
    patient = api.patient()
    _choose(api, patient, email=True)
    _assessed(api, patient)
    with app.app_context():
        delivery = db.session.scalars(select(NotificationDelivery)).one()
        delivery.status = DeliveryStatus.SENDING  # a worker claimed it and was killed
        db.session.commit()
    run_pipeline(app)
    assert mailbox.messages == []
    assert _deliveries(app) == [("email", "sending")]


def test_an_issued_prescription_notifies_the_patient(api: ApiClient) -> None:
    rx = prescribing(api)
    issued = rx.issued()
    listed = api.client.get(NOTICES, headers=rx.patient).get_json()
    kinds = {item["kind"]: item["link"] for item in listed["items"]}
    assert kinds == {"prescription.issued": f"/api/v1/prescriptions/{issued['id']}"}
    assert "doxycycline" not in str(listed).lower()
    prescriber = api.client.get(NOTICES, headers=rx.prescriber).get_json()
    assert prescriber == {"items": [], "unread": 0}


def test_marking_a_notice_read_keeps_the_first_time(api: ApiClient) -> None:
    patient = api.patient()
    _assessed(api, patient)
    [notice] = _notices(api, patient)["items"]
    url = f"{NOTICES}/{notice['id']}/read"
    first = api.client.post(url, headers=api.auth(patient))
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["read_at"] is not None
    again = api.client.post(url, headers=api.auth(patient)).get_json()
    assert again["read_at"] == first.get_json()["read_at"]
    listed = _notices(api, patient)
    assert listed["unread"] == 0 and listed["items"][0]["read_at"] == again["read_at"]
    unread_only = api.client.get(f"{NOTICES}?unread=true", headers=api.auth(patient))
    assert unread_only.get_json()["items"] == []


def test_another_users_notices_are_invisible_and_cannot_be_marked(
    api: ApiClient, app: Flask
) -> None:
    patient, other = api.patient(), api.patient()
    _assessed(api, patient)
    [notice] = _notices(api, patient)["items"]
    assert _notices(api, other) == {"items": [], "unread": 0}
    refused = api.client.post(f"{NOTICES}/{notice['id']}/read", headers=api.auth(other))
    assert refused.status_code == 404
    assert refused.content_type == "application/problem+json"
    assert _notices(api, patient)["unread"] == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(NotificationDelivery)) == 0


def test_channel_choices_are_the_patients_and_texts_need_a_number(api: ApiClient) -> None:
    patient = api.patient()
    mine = api.client.get(PREFERENCES, headers=api.auth(patient))
    assert mine.get_json() == {
        "in_app": True, "email": False, "sms": False, "phone": None,
        "available": ["in_app", "email", "sms"],
    }  # fmt: skip
    no_number = _choose(api, patient, sms=True)
    assert no_number.status_code == 422
    assert "phone" in no_number.get_json()["errors"]
    bad_number = _choose(api, patient, sms=True, phone="call me")
    assert bad_number.status_code == 422
    assert "phone" in bad_number.get_json()["errors"]
    not_boolean = _choose(api, patient, email="yes")
    assert not_boolean.status_code == 422
    assert api.client.get(PREFERENCES, headers=api.auth(patient)).get_json()["sms"] is False
    staff = api.auth(api.staff())
    assert api.client.get(NOTICES, headers=staff).get_json() == {"items": [], "unread": 0}
    admin = api.auth(api.staff(Role.ADMIN))
    assert api.client.get(PREFERENCES, headers=admin).status_code == 403


def test_staff_have_email_until_they_turn_it_off_and_no_texts(api: ApiClient) -> None:
    for role in (Role.SPECIALIST, Role.PHARMACIST):
        staff = api.staff(role)
        mine = api.client.get(PREFERENCES, headers=api.auth(staff))
        assert mine.status_code == 200, mine.get_json()
        assert mine.get_json() == {
            "in_app": True, "email": True, "sms": False, "phone": None,
            "available": ["in_app", "email"],
        }  # fmt: skip
        texts = _choose(api, staff, sms=True, phone="+15145550123")
        assert texts.status_code == 422
        assert texts.content_type == "application/problem+json"
        assert list(texts.get_json()["errors"]) == ["sms"]
        number = _choose(api, staff, phone="+15145550123")
        assert (number.status_code, list(number.get_json()["errors"])) == (422, ["phone"])
        assert api.client.get(PREFERENCES, headers=api.auth(staff)).get_json()["email"] is True
        off = _choose(api, staff, email=False)
        assert off.status_code == 200, off.get_json()
        assert api.client.get(PREFERENCES, headers=api.auth(staff)).get_json()["email"] is False


def _accepted_and_dispensed(app: Flask, rx: Prescribing) -> str:
    """A prescription issued, run through its jobs, accepted and dispensed once; its id."""
    issued = rx.issued()
    run_pipeline(app)  # the PDF, and the patient's in-app notice
    assert rx.pharmacy_post(issued["id"], "accept").status_code == 200
    return str(issued["id"])


def test_a_pharmacy_dispensing_sends_the_prescriber_one_generic_email(
    api: ApiClient, app: Flask, mailbox: Mailbox
) -> None:
    rx = prescribing(api, patient_changes={"name": "Zephyrine Quillfeather"})
    prescription_id = _accepted_and_dispensed(app, rx)
    run_pipeline(app)
    assert mailbox.recipients == [[rx.prescriber_email]]  # accepted; the patient chose none
    mailbox.messages.clear()
    mailbox.recipients.clear()

    dispensed = rx.pharmacy_post(prescription_id, "dispense", dispense_number=1)
    assert dispensed.status_code == 200, dispensed.get_json()
    assert mailbox.messages == []  # sent by a job, after the commit
    run_pipeline(app)
    [message] = mailbox.messages
    assert mailbox.recipients == [[rx.prescriber_email]]
    text = _text_of(message)
    assert NOTICE in text
    for word in ("doxycycline", "Zephyrine", "Quillfeather", "capsule", prescription_id):
        assert word.lower() not in text.lower(), word
    run_pipeline(app)
    assert len(mailbox.messages) == 1
    kinds = [item["kind"] for item in _notices_of(api, rx.prescriber)["items"]]
    assert kinds == ["prescription.updated", "prescription.updated"]


def test_a_prescriber_who_turned_email_off_hears_only_in_the_app(
    api: ApiClient, app: Flask, mailbox: Mailbox
) -> None:
    rx = prescribing(api)
    off = api.client.put(PREFERENCES, json={"email": False, "sms": False}, headers=rx.prescriber)
    assert off.status_code == 200, off.get_json()
    prescription_id = _accepted_and_dispensed(app, rx)
    assert rx.pharmacy_post(prescription_id, "dispense", dispense_number=1).status_code == 200
    run_pipeline(app)
    assert mailbox.messages == []
    assert _notices_of(api, rx.prescriber)["unread"] == 2


def test_a_prescriber_turning_email_off_before_the_job_runs_gets_none(
    api: ApiClient, app: Flask, mailbox: Mailbox
) -> None:
    rx = prescribing(api)
    _accepted_and_dispensed(app, rx)  # its e-mail is waiting for the job
    off = api.client.put(PREFERENCES, json={"email": False, "sms": False}, headers=rx.prescriber)
    assert off.status_code == 200, off.get_json()
    run_pipeline(app)
    assert mailbox.messages == []
    assert ("email", "cancelled") in _deliveries(app)


def _notices_of(api: ApiClient, headers: dict[str, str]) -> dict[str, Any]:
    response = api.client.get(NOTICES, headers=headers)
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def test_notices_whose_job_was_lost_are_found_for_the_sweeper(
    api: ApiClient, app: Flask, mailbox: Mailbox
) -> None:
    patient = api.patient()
    _choose(api, patient, email=True)
    _assessed(api, patient)
    [notice] = _notices(api, patient)["items"]
    later = utcnow() + timedelta(minutes=5)
    with app.app_context():
        assert stuck_notifications(later) == [notice["id"]]
        assert stuck_notifications(utcnow() - timedelta(minutes=5)) == []
        db.session.rollback()
    run_pipeline(app)
    with app.app_context():
        assert stuck_notifications(later) == []  # sent: nothing left to sweep


def test_smtp_and_text_settings_come_from_the_environment(tmp_path: Path) -> None:
    base = {
        "CASEBOX_DATA_DIR": str(tmp_path),
        "CASEBOX_SECRET_KEY": "s" * 40,
        "CASEBOX_DATA_KEY": new_data_key(),
    }
    default = Settings.from_env(base)
    assert (default.smtp_host, default.sms_backend) == (None, "logging")
    assert email_available(default) and sms_available(default)  # files and logs in development
    configured = Settings.from_env(
        {**base, "CASEBOX_SMTP_HOST": "mail.example", "CASEBOX_SMTP_PORT": "2525",
         "CASEBOX_SMTP_STARTTLS": "false", "CASEBOX_MAIL_FROM": "Clinic <care@clinic.example>"}
    )  # fmt: skip
    assert (configured.smtp_host, configured.smtp_port) == ("mail.example", 2525)
    assert configured.smtp_starttls is False
    assert configured.mail_from == "Clinic <care@clinic.example>"
    with pytest.raises(ConfigurationError, match="CASEBOX_SMS_BACKEND"):
        Settings.from_env({**base, "CASEBOX_SMS_BACKEND": "carrier-pigeon"})
    with pytest.raises(ConfigurationError, match="CASEBOX_SMTP_PASSWORD"):
        Settings.from_env({**base, "CASEBOX_SMTP_USERNAME": "casebox"})
    production = default.replace(env="production")
    assert not email_available(production) and not sms_available(production)
    assert email_available(production.replace(smtp_host="mail.example"))
