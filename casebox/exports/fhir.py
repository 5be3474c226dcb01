"""The patient's record as a FHIR R4 ``collection`` Bundle, built with the fhir.resources models.

FHIR version: as in :mod:`prescriptions.fhir`, the ``R4B`` models (FHIR 4.3.0, the R4
line). Patient, QuestionnaireResponse, Media and DiagnosticReport did not change from
R4 in what this Bundle uses, so it is also valid R4 (Media exists in R4 and R4B only).

What the Bundle holds:

- one Patient;
- one QuestionnaireResponse per case, its items the questionnaire's answers (linkId is
  the answer's name in case.json) and the body site; ``completed`` once submitted,
  ``in-progress`` for a draft;
- one Media per photo, ``partOf`` its case's QuestionnaireResponse. The image is not
  inlined: ``content.url`` is the path of the original *inside the export zip* (relative
  to the zip's root), with its size and the SHA-1 that FHIR's Attachment.hash defines
  (the SHA-256 casebox checks is in case.json);
- one DiagnosticReport per assessment: LOINC 34758-3 "Dermatology Consult note" as its
  ``code`` (what kind of report it is; FHIR requires one), the diagnosis in
  ``conclusionCode`` (SNOMED CT when coded, its text otherwise), the specialist's message
  to the patient as ``conclusion``, status ``final``, and the photos assessed as ``media``.

Internal notes, certainty, the routing decision and the model's output are never read
here: AI output stays with staff.

Every ``fullUrl`` is a ``urn:uuid:`` derived from the installation's base URL and the
record's public id, so exporting the same record again gives the same identities.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.attachment import Attachment
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.contactpoint import ContactPoint
from fhir.resources.R4B.diagnosticreport import DiagnosticReport, DiagnosticReportMedia
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.media import Media
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaireresponse import (
    QuestionnaireResponse,
    QuestionnaireResponseItem,
    QuestionnaireResponseItemAnswer,
)
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource

from casebox.assessments.diagnoses import SNOMED_SYSTEM
from casebox.assessments.models import Assessment
from casebox.cases.body_sites import BODY_SITES
from casebox.cases.models import PhotoStatus
from casebox.exports.record import CaseExport, PatientExport, PhotoExport

LOINC = "http://loinc.org"
DERMATOLOGY_CONSULT_NOTE = ("34758-3", "Dermatology Consult note")
MEDIA_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/media-type"
URI_IDENTIFIER = "urn:ietf:rfc:3986"

# The namespace of every export Bundle's UUIDs (uuid5 names below).
_NAMESPACE = uuid.UUID("0b7d8a51-3f64-4c2e-9d1a-6e5f2c7b9a30")

# The questions behind each answer of casebox.cases.schemas.QuestionnaireSchema, in order.
QUESTIONS: dict[str, str] = {
    "duration": "How long have you had it?",
    "changed_size": "Has it changed in size?",
    "changed_shape": "Has it changed in shape?",
    "changed_colour": "Has it changed in colour?",
    "itch": "Does it itch?",
    "bleeding": "Does it bleed?",
    "pain": "Is it painful?",
    "scaly": "Is it scaly?",
    "previous_skin_cancer": "Have you had skin cancer before?",
    "family_history_melanoma": "Has anyone in your family had melanoma?",
    "fitzpatrick": "Your skin type (Fitzpatrick I to VI)",
    "medications": "Medicines you take",
    "allergies": "Allergies",
    "pregnant_or_breastfeeding": "Are you pregnant or breastfeeding?",
    "description": "Describe the problem in your own words",
}
VIEWS = {"regional": "Regional view", "close_up": "Close-up", "dermoscopic": "Dermoscopic"}


def build_export_bundle(
    export: PatientExport,
    *,
    base_url: str,
    exported_at: datetime,
    sha1_by_path: Mapping[str, bytes],
) -> dict[str, Any]:
    """The patient's record as a FHIR collection Bundle, as JSON-ready data.

    ``sha1_by_path`` gives the base64 SHA-1 of each file written to the zip, by path.
    """
    ids = _Ids(base_url)
    patient_urn = ids.urn("patient", export.patient.public_id)
    entries: list[tuple[str, Resource]] = [(patient_urn, _patient(export, ids))]
    for case in export.cases:
        response_urn = ids.urn("questionnaire-response", case.case.public_id)
        entries.append((response_urn, _questionnaire_response(case, ids, patient_urn)))
        for photo in case.photos:
            media = _media(photo, ids, patient_urn, response_urn, sha1_by_path)
            entries.append((ids.urn("media", photo.photo.public_id), media))
        for assessment in case.assessments:
            report = _diagnostic_report(assessment, case, ids, patient_urn)
            entries.append((ids.urn("diagnostic-report", assessment.public_id), report))
    bundle_urn = ids.urn("export", f"{export.patient.public_id}|{exported_at.isoformat()}")
    bundle = Bundle(
        id=_id(bundle_urn),
        identifier=Identifier(system=URI_IDENTIFIER, value=bundle_urn),
        type="collection",
        timestamp=exported_at,
        entry=[BundleEntry(fullUrl=urn, resource=resource) for urn, resource in entries],
    )
    return bundle.model_dump(mode="json")


class _Ids:
    """The urn:uuid: of each exported record and the identifier systems of this site."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")

    def urn(self, kind: str, public_id: str) -> str:
        return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{self.base}|{kind}|{public_id}')}"

    def identifier(self, kind: str, public_id: str) -> Identifier:
        return Identifier(system=f"{self.base}/fhir/sid/{kind}", value=public_id)


def _id(urn: str) -> str:
    return urn.removeprefix("urn:uuid:")


def _patient(export: PatientExport, ids: _Ids) -> Patient:
    user = export.patient
    profile = user.patient
    return Patient(
        id=_id(ids.urn("patient", user.public_id)),
        identifier=[ids.identifier("patient", user.public_id)],
        name=[HumanName(text=user.name)],
        telecom=[ContactPoint(system="email", value=user.email)],
        gender=str(profile.sex) if profile else None,
        birthDate=profile.date_of_birth if profile else None,
    )


def _questionnaire_response(
    export: CaseExport, ids: _Ids, patient_urn: str
) -> QuestionnaireResponse:
    case = export.case
    return QuestionnaireResponse(
        id=_id(ids.urn("questionnaire-response", case.public_id)),
        identifier=ids.identifier("case", case.public_id),
        status="completed" if case.submitted_at else "in-progress",
        subject=Reference(reference=patient_urn),
        author=Reference(reference=patient_urn),
        source=Reference(reference=patient_urn),
        authored=case.submitted_at or case.created_at,
        item=[_body_site_item(case.body_site, ids), *_answer_items(case.questionnaire)],
    )


def _body_site_item(code: str, ids: _Ids) -> QuestionnaireResponseItem:
    site = BODY_SITES.get(code)
    coding = Coding(
        system=f"{ids.base}/fhir/CodeSystem/body-site",
        code=code,
        display=site.label if site else None,
    )
    return QuestionnaireResponseItem(
        linkId="body_site",
        text="Where on your body is it?",
        answer=[QuestionnaireResponseItemAnswer(valueCoding=coding)],
    )


def _answer_items(questionnaire: Mapping[str, Any]) -> list[QuestionnaireResponseItem]:
    # Known questions first, in the intake's order; anything newer follows, never dropped.
    names = [*QUESTIONS, *sorted(set(questionnaire) - set(QUESTIONS))]
    items = []
    for name in names:
        answers = _answers(questionnaire.get(name))
        # FHIR has no empty answer: "no medicines" stays an empty list in case.json.
        if answers:
            text = QUESTIONS.get(name, name.replace("_", " ").capitalize())
            items.append(QuestionnaireResponseItem(linkId=name, text=text, answer=answers))
    return items


def _answers(value: Any) -> list[QuestionnaireResponseItemAnswer]:
    if isinstance(value, bool):
        return [QuestionnaireResponseItemAnswer(valueBoolean=value)]
    if isinstance(value, int | float):
        return [QuestionnaireResponseItemAnswer(valueDecimal=Decimal(str(value)))]
    if isinstance(value, list):
        return [answer for entry in value for answer in _answers(entry)]
    if isinstance(value, str) and value.strip():
        return [QuestionnaireResponseItemAnswer(valueString=value)]
    return []


def _media(
    export: PhotoExport,
    ids: _Ids,
    patient_urn: str,
    response_urn: str,
    sha1_by_path: Mapping[str, bytes],
) -> Media:
    photo = export.photo
    site = BODY_SITES.get(photo.case.body_site)
    return Media(
        id=_id(ids.urn("media", photo.public_id)),
        identifier=[ids.identifier("photo", photo.public_id)],
        status="completed",
        type=CodeableConcept(
            coding=[Coding(system=MEDIA_TYPE_SYSTEM, code="image", display="Image")]
        ),
        view=CodeableConcept(text=VIEWS.get(str(photo.view), str(photo.view))),
        subject=Reference(reference=patient_urn),
        partOf=[Reference(reference=response_urn)],
        createdDateTime=photo.created_at,
        bodySite=CodeableConcept(text=site.label if site else photo.case.body_site),
        width=photo.width,
        height=photo.height,
        content=Attachment(
            contentType=photo.media_type,
            url=export.original.path,
            size=photo.size_bytes,
            hash=sha1_by_path[export.original.path],
            title=f"Photo {photo.public_id} as you uploaded it",
            creation=photo.created_at,
        ),
    )


def _diagnostic_report(
    assessment: Assessment, export: CaseExport, ids: _Ids, patient_urn: str
) -> DiagnosticReport:
    code, display = DERMATOLOGY_CONSULT_NOTE
    assessed = [
        DiagnosticReportMedia(link=Reference(reference=ids.urn("media", p.photo.public_id)))
        for p in export.photos
        if p.photo.status == PhotoStatus.READY and p.photo.created_at <= assessment.created_at
    ]
    return DiagnosticReport(
        id=_id(ids.urn("diagnostic-report", assessment.public_id)),
        identifier=[ids.identifier("assessment", assessment.public_id)],
        status="final",
        code=CodeableConcept(coding=[Coding(system=LOINC, code=code, display=display)]),
        subject=Reference(reference=patient_urn),
        effectiveDateTime=assessment.created_at,
        issued=assessment.created_at,
        media=assessed or None,
        conclusion=assessment.patient_message,
        conclusionCode=_conclusion_code(assessment),
    )


def _conclusion_code(assessment: Assessment) -> list[CodeableConcept] | None:
    if assessment.diagnosis_code:
        coding = Coding(
            system=SNOMED_SYSTEM,
            code=assessment.diagnosis_code,
            display=assessment.diagnosis_display,
        )
        text = assessment.diagnosis_text or assessment.diagnosis_display
        return [CodeableConcept(coding=[coding], text=text)]
    if assessment.diagnosis_text:
        return [CodeableConcept(text=assessment.diagnosis_text)]
    return None
