"""What goes into a patient's export, collected before any file is written."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from casebox.accounts.models import User
from casebox.assessments.models import Assessment
from casebox.cases.models import Case, Photo


@dataclass(frozen=True)
class StoredFile:
    """An object from the encrypted store and the path it takes inside the zip."""

    path: str
    key: str
    sha256: str
    media_type: str


@dataclass(frozen=True)
class PhotoExport:
    """One photo: its original as uploaded and, once normalized, its review copy."""

    photo: Photo
    original: StoredFile
    review: StoredFile | None


@dataclass(frozen=True)
class CaseExport:
    """One case: the document written as case.json, its photos and assessments."""

    case: Case
    document: dict[str, Any]
    photos: list[PhotoExport]
    assessments: list[Assessment]

    def files(self) -> Iterator[StoredFile]:
        """Every stored object of the case, in the order written."""
        for photo in self.photos:
            yield photo.original
            if photo.review is not None:
                yield photo.review


@dataclass(frozen=True)
class PrescriptionExport:
    """One signed prescription: what the patient sees of it, and its PDF once rendered."""

    number: str
    document: dict[str, Any]
    pdf: StoredFile | None


@dataclass(frozen=True)
class PatientExport:
    """Everything to write for one patient."""

    patient: User
    account: dict[str, Any]
    cases: list[CaseExport] = field(default_factory=list)
    prescriptions: list[PrescriptionExport] = field(default_factory=list)
