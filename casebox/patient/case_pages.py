"""A patient's case page: where it stands, the specialist's answer, prescriptions, follow-up."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from casebox.cases import operations as cases
from casebox.cases.body_sites import BODY_SITES
from casebox.cases.models import CaseStatus
from casebox.database import db
from casebox.errors import CaseboxError, ValidationFailed
from casebox.followups.replies import reply_to_request
from casebox.patient.blueprint import bp, patient_page, signed_in_patient
from casebox.patient.timeline import timeline_of
from casebox.review.case_view import patient_view
from casebox.web.routes import check_form_csrf
from prescriptions.dosage import reader_text
from prescriptions.operations import signed_prescriptions_of
from prescriptions.schemas import PrescriptionSchema

MAX_REPLY = 4000

STATUS_LABELS = {
    CaseStatus.DRAFT: _l("Not sent yet"),
    CaseStatus.SUBMITTED: _l("Sent; checking your photos"),
    CaseStatus.PROCESSING: _l("Sent; checking your photos"),
    CaseStatus.PROCESSING_FAILED: _l("Sent; the clinic is looking into a problem with it"),
    CaseStatus.AWAITING_REVIEW: _l("Waiting for a dermatologist"),
    CaseStatus.IN_REVIEW: _l("A dermatologist is reviewing it"),
    CaseStatus.MORE_INFO_REQUESTED: _l("The dermatologist needs more information"),
    CaseStatus.COMPLETED: _l("Answered"),
}
DECISION_LABELS = {
    "reassure_discharge": _l("Nothing worrying: no treatment needed"),
    "treat": _l("Treatment"),
    "biopsy_excision": _l("A sample or removal of the spot is recommended"),
    "refer_urgent": _l("Please see a specialist in person urgently"),
    "refer_routine": _l("Please see a specialist in person"),
    "more_information": _l("More information needed"),
}
PRESCRIPTION_LABELS = {
    "issued": _l("Sent to your pharmacy"),
    "accepted": _l("Your pharmacy is preparing it"),
    "dispensed": _l("Dispensed by your pharmacy"),
    "cancelled": _l("Cancelled"),
    "expired": _l("Expired"),
}


def status_label(status: str) -> str:
    """A case status in the patient's words."""
    label = STATUS_LABELS.get(status)  # type: ignore[call-overload]  # StrEnum keys match str
    return str(label) if label else status.replace("_", " ")


@bp.get("/my/cases/<string:case_id>")
@patient_page
def case_page(case_id: str) -> str | Response:
    """The case: status, timeline, response and instructions, prescriptions, follow-up."""
    case = cases.view_case(signed_in_patient(), case_id)
    view = patient_view(case)
    # Signed prescriptions show as soon as they are sent to the pharmacy, even while the
    # written answer is still to come.
    prescriptions = PrescriptionSchema(many=True).dump(signed_prescriptions_of(case))
    steps = timeline_of(case)
    db.session.commit()  # the read is audited
    return render_template(
        "patient/case.html",
        case=case,
        view=view,
        site=BODY_SITES[case.body_site],
        status=status_label(str(case.status)),
        steps=steps,
        prescriptions=prescriptions,
        instructions_of=lambda rx: reader_text(rx.get("dosage"), rx["route"], rx["instructions"]),
        decisions=DECISION_LABELS,
        prescription_labels=PRESCRIPTION_LABELS,
    )


@bp.post("/my/cases/<string:case_id>/reply")
@patient_page
def reply(case_id: str) -> str | Response | tuple[str, int]:
    """Answer a request for more information; the case goes back to the dermatologist."""
    check_form_csrf()
    patient = signed_in_patient()
    message = request.form.get("message", "").strip()
    try:
        if not message or len(message) > MAX_REPLY:
            raise ValidationFailed(
                gettext("Write your answer (at most %(max)d characters).", max=MAX_REPLY),
                errors={"message": [gettext("Write your answer.")]},
            )
        reply_to_request(
            patient,
            case_id,
            message=message,
            accept_quality_warnings="accept_warnings" in request.form,
        )
        db.session.commit()
    except CaseboxError:
        db.session.rollback()
        raise
    flash(gettext("Your answer was sent to the dermatologist."))
    return redirect(url_for("patient.case_page", case_id=case_id))
