"""Exporting a patient's data: collect what casebox holds on them, write it as one zip.

The zip is written to a spooled temporary file (in memory up to ``SPOOL_BYTES``, then an
unnamed file in the system's temporary directory, gone when closed) and only then sent:
every photo and PDF is decrypted and checked against its recorded SHA-256 on the way in,
so a damaged object fails the whole request with an error instead of a zip cut short.
Objects are copied chunk by chunk, so a 25 MB photo is never held in memory at once.

The export holds only what the patient may already see through the API, plus the
originals of their photos and the diagnosis of each assessment: no internal notes, no
routing decision, no model output, no password hash, tokens or second-factor secret.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casebox import services
from casebox.accounts.models import ConsentRecord, User
from casebox.accounts.schemas import UserSchema
from casebox.assessments.models import Assessment
from casebox.assessments.operations import assessments_of
from casebox.assessments.schemas import DiagnosisSchema, PatientResponseSchema
from casebox.audit import trail
from casebox.cases.models import Case, Photo
from casebox.database import db, utcnow
from casebox.exports.fhir import build_export_bundle
from casebox.exports.readme import readme_text
from casebox.exports.record import (
    CaseExport,
    PatientExport,
    PhotoExport,
    PrescriptionExport,
    StoredFile,
)
from casebox.notifications.operations import preferences_of
from casebox.review.case_view import patient_view
from prescriptions import operations as prescribing
from prescriptions.models import Prescription
from prescriptions.schemas import PharmacySchema, PrescriptionDetailSchema
from storage import EncryptedStore

SPOOL_BYTES = 16 * 1024 * 1024
BUNDLE_PATH = "fhir/bundle.json"


@dataclass(frozen=True)
class ExportArchive:
    """The finished zip, positioned at its start, ready to stream; the caller closes it."""

    file: IO[bytes]
    size: int
    filename: str


def export_patient_data(patient: User) -> ExportArchive:
    """Everything casebox holds on the patient as one zip (audited with counts only)."""
    export = collect_export(patient)
    exported_at = utcnow()
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115  # the response closes it
    try:
        counts = write_archive(
            export,
            spool,
            services.object_store(),
            base_url=services.settings().public_url,
            exported_at=exported_at,
        )
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    trail.record(
        "patient.export", object_type="user", object_id=patient.public_id,
        details={**counts, "bytes": size},
    )  # fmt: skip
    return ExportArchive(spool, size, f"casebox-export-{exported_at:%Y-%m-%d}.zip")


# --------------------------------------------------------------------------- collecting


def collect_export(patient: User) -> PatientExport:
    """The patient's account, cases and signed prescriptions, as they will be written."""
    cases = db.session.scalars(
        select(Case)
        .where(Case.patient_id == patient.id)
        .options(selectinload(Case.photos))
        .order_by(Case.created_at, Case.id)
    ).all()
    export = PatientExport(patient=patient, account=_account(patient))
    for case in cases:
        signed = prescribing.case_prescriptions(patient, case.public_id)
        prescriptions = [_prescription(prescription) for prescription in signed]
        export.cases.append(_case(case, prescriptions))
        export.prescriptions.extend(prescriptions)
    return export


def _account(patient: User) -> dict[str, Any]:
    profile = patient.patient
    consents = db.session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.user_id == patient.id)
        .order_by(ConsentRecord.accepted_at, ConsentRecord.id)
    ).all()
    pharmacy = prescribing.nominated_pharmacy(patient)
    return {
        "user": {**UserSchema().dump(patient), "created_at": _time(patient.created_at)},
        "profile": None
        if profile is None
        else {"date_of_birth": profile.date_of_birth.isoformat(), "sex": str(profile.sex)},
        "consents": [
            {
                "version": consent.version,
                "text_sha256": consent.text_sha256,
                "accepted_at": _time(consent.accepted_at),
                "withdrawn_at": _time(consent.withdrawn_at),
            }
            for consent in consents
        ],
        # Whether a second factor is set up, never its secret.
        "second_factor": {
            "enrolled": patient.totp_confirmed_at is not None,
            "confirmed_at": _time(patient.totp_confirmed_at),
        },
        "nominated_pharmacy": PharmacySchema().dump(pharmacy) if pharmacy else None,
        "language": patient.locale,
        "notification_preferences": _channels(patient),
    }


def _channels(patient: User) -> dict[str, Any]:
    choice = preferences_of(patient)
    return {"email": choice.email, "sms": choice.sms, "phone": choice.phone}


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _case(case: Case, prescriptions: list[PrescriptionExport]) -> CaseExport:
    folder = f"cases/{case.public_id}"
    photos = [_photo(photo, f"{folder}/photos") for photo in case.photos]
    assessments = assessments_of(case)
    document = patient_view(case)
    files = {
        p.photo.public_id: {
            "original": p.original.path,
            "review": p.review.path if p.review else None,
        }
        for p in photos
    }
    for photo in document["photos"]:
        photo["files"] = files[photo["id"]]
    # Every response the specialist sent, oldest first (the "response" is the latest one).
    document["responses"] = [_response(assessment) for assessment in assessments]
    document["prescriptions"] = [f"prescriptions/{p.number}.json" for p in prescriptions]
    return CaseExport(case, document, photos, assessments)


def _photo(photo: Photo, folder: str) -> PhotoExport:
    extension = photo.media_type.split("/")[1].replace("jpeg", "jpg")
    original = StoredFile(
        path=f"{folder}/{photo.public_id}-original.{extension}",
        key=photo.original_key,
        sha256=photo.original_sha256,
        media_type=photo.media_type,
    )
    review = None
    if photo.review_key and photo.review_sha256:
        review = StoredFile(
            path=f"{folder}/{photo.public_id}-review.jpg",
            key=photo.review_key,
            sha256=photo.review_sha256,
            media_type="image/jpeg",
        )
    return PhotoExport(photo, original, review)


def _response(assessment: Assessment) -> dict[str, Any]:
    return {
        **PatientResponseSchema().dump(assessment),
        "diagnosis": DiagnosisSchema().dump(assessment),
    }


def _prescription(prescription: Prescription) -> PrescriptionExport:
    # A patient only ever sees signed prescriptions, and signing gives the number.
    assert prescription.number is not None
    pdf = None
    if prescription.pdf_key and prescription.pdf_sha256:
        pdf = StoredFile(
            path=f"prescriptions/{prescription.number}.pdf",
            key=prescription.pdf_key,
            sha256=prescription.pdf_sha256,
            media_type="application/pdf",
        )
    document = PrescriptionDetailSchema().dump(prescription)
    return PrescriptionExport(prescription.number, document, pdf)


# --------------------------------------------------------------------------- writing


def write_archive(
    export: PatientExport,
    target: IO[bytes],
    store: EncryptedStore,
    *,
    base_url: str,
    exported_at: datetime,
) -> dict[str, int]:
    """Write the export as a zip to ``target``; returns how many of each thing it holds."""
    stamp = exported_at.timetuple()[:6]
    sha1_by_path: dict[str, bytes] = {}
    with zipfile.ZipFile(target, "w") as archive:
        writer = _ZipWriter(archive, stamp)
        writer.text("README.txt", readme_text(exported_at))
        writer.json("account.json", export.account)
        for case in export.cases:
            for stored in case.files():
                sha1_by_path[stored.path] = writer.stored(stored, store)
            writer.json(f"cases/{case.case.public_id}/case.json", case.document)
        for prescription in export.prescriptions:
            writer.json(f"prescriptions/{prescription.number}.json", prescription.document)
            if prescription.pdf is not None:
                writer.stored(prescription.pdf, store)
        bundle = build_export_bundle(
            export, base_url=base_url, exported_at=exported_at, sha1_by_path=sha1_by_path
        )
        writer.json(BUNDLE_PATH, bundle)
    photos = sum(len(case.photos) for case in export.cases)
    return {
        "cases": len(export.cases),
        "photos": photos,
        "assessments": sum(len(case.assessments) for case in export.cases),
        "prescriptions": len(export.prescriptions),
        "pdfs": sum(1 for p in export.prescriptions if p.pdf is not None),
    }


class _ZipWriter:
    """Adds entries with the export's timestamp: JSON and text compressed, images stored."""

    def __init__(self, archive: zipfile.ZipFile, stamp: tuple[int, ...]) -> None:
        self.archive = archive
        self.stamp = stamp

    def _info(self, path: str, compress: bool) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(path, date_time=self.stamp)  # type: ignore[arg-type]  # six fields
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        return info

    def text(self, path: str, text: str) -> None:
        self.archive.writestr(self._info(path, compress=True), text.encode("utf-8"))

    def json(self, path: str, document: Any) -> None:
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        self.text(path, text)

    def stored(self, stored: StoredFile, store: EncryptedStore) -> bytes:
        """Copy one object, decrypted and verified, into the zip; returns its base64 SHA-1."""
        # Photos and PDFs are compressed already: storing them costs nothing and saves CPU.
        digest = hashlib.sha1()  # noqa: S324  # FHIR's Attachment.hash is SHA-1 by definition
        with self.archive.open(self._info(stored.path, compress=False), "w") as entry:
            # The store raises IntegrityViolation instead of yielding the last chunk of an
            # object that does not match its SHA-256, which aborts the whole export.
            for chunk in store.open(stored.key, sha256=stored.sha256):
                digest.update(chunk)
                entry.write(chunk)
        return base64.b64encode(digest.digest())
