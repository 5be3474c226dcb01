"""Registration with consent, the patient's home, settings, language, consent and erasure."""

from __future__ import annotations

from typing import Any

import markdown
from flask import flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import login_user, logout_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from casebox.accounts import operations as accounts
from casebox.accounts.consent import consent_for_language
from casebox.accounts.schemas import RegistrationSchema
from casebox.cases.operations import list_own_cases
from casebox.database import db
from casebox.errors import CaseboxError, ReauthenticationFailed, ValidationFailed
from casebox.i18n import LANGUAGE_COOKIE, LANGUAGES, select_locale
from casebox.notifications import operations as notifications
from casebox.notifications.schemas import NotificationPreferencesInputSchema
from casebox.patient.blueprint import bp, patient_page, signed_in_patient
from casebox.patient.forms import checkbox, load_form
from casebox.patient.links import page_link
from casebox.web.routes import check_form_csrf, csrf_token, safe_next_path


def consent_html() -> Markup:
    """The current consent text in the page's language, as HTML (a text casebox ships)."""
    text = consent_for_language(select_locale())
    return Markup(markdown.markdown(text.text))  # noqa: S704  # trusted, shipped text


@bp.route("/register", methods=["GET", "POST"])
def register() -> str | Response | tuple[str, int]:
    """Create a patient account, accepting the consent text shown on the page."""
    consent = consent_for_language(select_locale())
    form: dict[str, Any] = {}
    if request.method == "POST":
        check_form_csrf()
        form = request.form.to_dict()
        try:
            data = load_form(
                RegistrationSchema(),
                {
                    "email": form.get("email", ""),
                    "password": form.get("password", ""),
                    "name": form.get("name", ""),
                    "date_of_birth": form.get("date_of_birth", ""),
                    "sex": form.get("sex", ""),
                    "consent": {"version": consent.version, "accepted": checkbox(form, "consent")},
                },
            )
            user = accounts.register_patient(
                email=data["email"],
                password=data["password"],
                name=data["name"],
                date_of_birth=data["date_of_birth"],
                sex=data["sex"],
                consent_version=data["consent"]["version"],
                consent_language=select_locale(),
            )
            user.locale = select_locale()
            db.session.commit()
        except CaseboxError as error:
            db.session.rollback()
            form.pop("password", None)
            return _register_page(form, error), error.status
        session.clear()
        login_user(user)
        csrf_token()
        return redirect(url_for("patient.home"))
    return _register_page(form, None)


def _register_page(form: dict[str, Any], error: CaseboxError | None) -> str:
    return render_template(
        "patient/register.html",
        form=form,
        error=error,
        errors=(error.errors or {}) if error else {},
        consent=consent_html(),
    )


@bp.get("/my/")
@patient_page
def home() -> str:
    """The patient's cases and notices, and the way to start a new case."""
    patient = signed_in_patient()
    cases = list_own_cases(patient, page=1, per_page=50)
    notices = notifications.list_notifications(patient, limit=10)
    has_consent = accounts.active_consent(patient) is not None
    return render_template(
        "patient/home.html",
        cases=cases.items,
        notices=notices,
        has_consent=has_consent,
    )


@bp.post("/my/notifications/<string:notification_id>/open")
@patient_page
def open_notice(notification_id: str) -> Response:
    """Mark a notice read and open the page it is about."""
    check_form_csrf()
    patient = signed_in_patient()
    notice = notifications.mark_read(patient, notification_id)
    db.session.commit()
    return redirect(page_link(notice.link, patient))


@bp.route("/my/settings", methods=["GET", "POST"])
@patient_page
def settings_page() -> str | Response | tuple[str, int]:
    """Notification channels, consent, data export and erasure."""
    patient = signed_in_patient()
    error = None
    if request.method == "POST":
        check_form_csrf()
        try:
            data = load_form(
                NotificationPreferencesInputSchema(),
                {
                    "email": checkbox(request.form, "email"),
                    "sms": checkbox(request.form, "sms"),
                    "phone": request.form.get("phone", "").strip() or None,
                },
            )
            notifications.set_preferences(patient, data)
            db.session.commit()
            flash(gettext("Your choices are saved."))
            return redirect(url_for("patient.settings_page"))
        except CaseboxError as exc:
            db.session.rollback()
            error = exc
    page = render_template(
        "patient/settings.html",
        preferences=notifications.preferences_of(patient),
        consent=accounts.active_consent(patient),
        error=error,
        errors=(error.errors or {}) if error else {},
    )
    return (page, error.status) if error else page


@bp.route("/my/consent", methods=["GET", "POST"])
@patient_page
def consent_page() -> str | Response:
    """Read the consent text; give it again or withdraw it."""
    patient = signed_in_patient()
    if request.method == "POST":
        check_form_csrf()
        if request.form.get("action") == "withdraw":
            accounts.withdraw_consent(patient)
        else:
            if not checkbox(request.form, "consent"):
                raise ValidationFailed(
                    gettext("Tick the box to accept the consent text."),
                    errors={"consent": [gettext("Consent must be accepted.")]},
                )
            language = select_locale()
            accounts.give_consent(
                patient, consent_for_language(language).version, language=language
            )
        db.session.commit()
        return redirect(url_for("patient.consent_page"))
    return render_template(
        "patient/consent.html",
        consent=accounts.active_consent(patient),
        text=consent_html(),
        version=consent_for_language(select_locale()).version,
    )


@bp.route("/my/erasure", methods=["GET", "POST"])
@patient_page
def erasure_page() -> str | Response | tuple[str, int]:
    """Ask for the account and its records to be erased (after the retention period)."""
    from casebox.erasure.operations import request_erasure

    if request.method == "POST":
        check_form_csrf()
        patient = signed_in_patient()
        try:
            if request.form.get("confirm", "").strip() != "ERASE":
                raise ValidationFailed(
                    gettext("Type ERASE to confirm."),
                    errors={"confirm": [gettext("Type ERASE to confirm.")]},
                )
            erasure = request_erasure(
                patient,
                request.form.get("password", ""),
                source="web",
                address=request.remote_addr,
            )
            db.session.commit()
        except ReauthenticationFailed as error:
            db.session.commit()  # the refused attempt stays audited
            return render_template("patient/erasure.html", error=error), error.status
        except CaseboxError as error:
            db.session.rollback()
            return render_template("patient/erasure.html", error=error), error.status
        logout_user()
        session.clear()
        return make_response(render_template("patient/erased.html", erasure=erasure))
    return render_template("patient/erasure.html", error=None)


@bp.post("/language")
def choose_language() -> Response:
    """Switch the pages' language (remembered in a cookie and, signed in, on the account)."""
    check_form_csrf()
    language = request.form.get("language", "")
    if language not in LANGUAGES:
        raise ValidationFailed(
            "Choose English or French.", errors={"language": [f"one of {', '.join(LANGUAGES)}"]}
        )
    from flask_login import current_user

    if current_user.is_authenticated:
        current_user.locale = language
        db.session.commit()
    response = redirect(safe_next_path(request.form.get("next", ""), url_for("web.index")))
    response.set_cookie(
        LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
    )
    return response
