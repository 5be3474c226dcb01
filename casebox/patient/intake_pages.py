"""The intake wizard: body site, questionnaire, photos with live verdicts, review and submit."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from casebox import services
from casebox.cases import operations as cases
from casebox.cases.body_sites import BODY_SITES
from casebox.cases.models import Case, CaseStatus, PhotoStatus, PhotoView
from casebox.cases.questionnaire import QUESTIONS
from casebox.cases.schemas import CaseCreateSchema
from casebox.database import db
from casebox.errors import CaseboxError, PayloadTooLarge, ValidationFailed
from casebox.patient.blueprint import bp, patient_page, signed_in_patient
from casebox.patient.body_map import BACK, FRONT, sites_by_region
from casebox.patient.forms import lines, load_form, yes_no
from casebox.patient.guidance import VIEW_GUIDANCE, baseline_guide
from casebox.web.routes import check_form_csrf

PHOTOS_OPEN = (CaseStatus.DRAFT, CaseStatus.MORE_INFO_REQUESTED)


@bp.get("/my/cases/new")
@patient_page
def choose_site() -> str:
    """Step 1: where on the body, on a front and back map or from a list."""
    return render_template(
        "patient/intake_site.html", front=FRONT, back=BACK, regions=sites_by_region()
    )


@bp.route("/my/cases/new/questions", methods=["GET", "POST"])
@patient_page
def questions() -> str | Response | tuple[str, int]:
    """Step 2: the questionnaire; answering it opens the draft case."""
    site = request.values.get("site", "")
    if site not in BODY_SITES:
        return redirect(url_for("patient.choose_site"))
    if request.method == "GET":
        return _questions_page(site, {}, None)
    check_form_csrf()
    try:
        data = load_form(CaseCreateSchema(), {"body_site": site, "questionnaire": _answers()})
        case = cases.create_case(signed_in_patient(), **data)
        db.session.commit()
    except CaseboxError as error:
        db.session.rollback()
        return _questions_page(site, request.form.to_dict(), error), error.status
    return redirect(url_for("patient.photos", case_id=case.public_id))


@bp.route("/my/cases/<string:case_id>/questions", methods=["GET", "POST"])
@patient_page
def change_answers(case_id: str) -> str | Response | tuple[str, int]:
    """Change the answers (or the body site) of a case not yet sent."""
    patient = signed_in_patient()
    if request.method == "GET":
        case = cases.view_case(patient, case_id)
        db.session.commit()
        if case.status != CaseStatus.DRAFT:
            return redirect(url_for("patient.case_page", case_id=case_id))
        site = request.args.get("site", case.body_site)
        if site not in BODY_SITES:
            site = case.body_site
        return _questions_page(site, _form_of(case.questionnaire), None, case_id=case_id)
    check_form_csrf()
    site = request.form.get("site", "")
    try:
        data = load_form(CaseCreateSchema(), {"body_site": site, "questionnaire": _answers()})
        cases.change_answers(patient, case_id, **data)
        db.session.commit()
    except CaseboxError as error:
        db.session.rollback()
        known = site if site in BODY_SITES else "left_forearm"
        page = _questions_page(known, request.form.to_dict(), error, case_id=case_id)
        return page, error.status
    return redirect(url_for("patient.review", case_id=case_id))


def _answers() -> dict[str, Any]:
    form = request.form
    return {
        **{q.key: yes_no(form, q.key) for q in QUESTIONS if q.kind == "yes_no"},
        "duration": form.get("duration", ""),
        "fitzpatrick": form.get("fitzpatrick", ""),
        "medications": lines(form.get("medications", "")),
        "allergies": lines(form.get("allergies", "")),
        "description": form.get("description", "").strip(),
    }


def _form_of(questionnaire: dict[str, Any]) -> dict[str, str]:
    """Saved answers as the form shows them (the inverse of ``_answers``)."""
    form = {}
    for key, value in questionnaire.items():
        if isinstance(value, bool):
            form[key] = "yes" if value else "no"
        elif isinstance(value, list):
            form[key] = "\n".join(value)
        else:
            form[key] = str(value)
    return form


def _questions_page(
    site: str, form: dict[str, Any], error: CaseboxError | None, *, case_id: str | None = None
) -> str:
    return render_template(
        "patient/intake_questions.html",
        site=BODY_SITES[site],
        questions=QUESTIONS,
        form=form,
        error=error,
        errors=(error.errors or {}) if error else {},
        case_id=case_id,
    )


@bp.route("/my/cases/<string:case_id>/photos", methods=["GET", "POST"])
@patient_page
def photos(case_id: str) -> str | Response | tuple[str, int]:
    """Step 3-5: take the photos; each gets its quality verdict as soon as it is checked."""
    patient = signed_in_patient()
    error = None
    if request.method == "POST":  # the no-JavaScript upload: one photo per post
        check_form_csrf()
        try:
            cases.add_photo(patient, case_id, view=_view(request.form.get("view")), data=_file())
            db.session.commit()
            return redirect(url_for("patient.photos", case_id=case_id))
        except CaseboxError as exc:
            db.session.rollback()
            error = exc
    case = cases.view_case(patient, case_id)
    if case.status not in PHOTOS_OPEN:
        return redirect(url_for("patient.case_page", case_id=case_id))
    db.session.commit()  # the read is audited
    page = render_template(
        "patient/intake_photos.html",
        case=case,
        site=BODY_SITES[case.body_site],
        guidance=VIEW_GUIDANCE,
        guide=baseline_guide(case),
        error=error,
        checking=any(photo.status == PhotoStatus.PROCESSING for photo in case.photos),
        chunk_size=256 * 1024,
        max_bytes=services.settings().max_upload_bytes,
    )
    return (page, error.status) if error else page


def _view(value: str | None) -> PhotoView:
    try:
        return PhotoView(value or "")
    except ValueError:
        raise ValidationFailed(
            gettext("Say which kind of photo this is."),
            errors={"view": [gettext("Choose regional, close-up or dermoscopic.")]},
        ) from None


def _file() -> bytes:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed(
            gettext("Choose a photo to send."), errors={"file": [gettext("No photo was chosen.")]}
        )
    limit = services.settings().max_upload_bytes
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(
            gettext("A photo may be at most %(mb)d MB.", mb=limit // (1024 * 1024))
        )
    return data


@bp.post("/my/cases/<string:case_id>/photos/<string:photo_id>/delete")
@patient_page
def delete_photo(case_id: str, photo_id: str) -> Response:
    """Remove a photo to take it again."""
    check_form_csrf()
    cases.delete_photo(signed_in_patient(), case_id, photo_id)
    db.session.commit()
    return redirect(url_for("patient.photos", case_id=case_id))


@bp.route("/my/cases/<string:case_id>/review", methods=["GET", "POST"])
@patient_page
def review(case_id: str) -> str | Response | tuple[str, int]:
    """Step 6: check everything and send it to the dermatologist."""
    patient = signed_in_patient()
    error = None
    if request.method == "POST":
        check_form_csrf()
        try:
            cases.submit_case(
                patient, case_id, accept_quality_warnings="accept_warnings" in request.form
            )
            db.session.commit()
            flash(
                gettext(
                    "Your case was sent. You will get a message when the dermatologist answers."
                )
            )
            return redirect(url_for("patient.case_page", case_id=case_id))
        except CaseboxError as exc:
            db.session.rollback()
            error = exc
    case = cases.view_case(patient, case_id)
    if case.status != CaseStatus.DRAFT:
        return redirect(url_for("patient.case_page", case_id=case_id))
    db.session.commit()
    page = render_template(
        "patient/intake_review.html",
        case=case,
        site=BODY_SITES[case.body_site],
        questions=QUESTIONS,
        warnings=_warnings(case),
        has_close_up=any(p.view == PhotoView.CLOSE_UP for p in case.photos),
        error=error,
    )
    return (page, error.status) if error else page


def _warnings(case: Case) -> list[dict[str, str]]:
    return [
        reason
        for photo in case.photos
        for reason in photo.quality_reasons or []
        if reason.get("severity") == "warn"
    ]
