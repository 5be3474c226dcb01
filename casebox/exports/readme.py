"""The README.txt at the top of every export: what each file is, in plain words."""

from __future__ import annotations

from datetime import datetime

_README = """\
Your casebox data
=================

This file was made on {exported_at} (UTC). It holds everything this dermatology
service keeps about you: your account, every case you opened, your photos, the
specialist's answers and your prescriptions.

Keep it somewhere safe: it contains your health information.

What each file is
-----------------

account.json
    Your account: name, e-mail, date of birth, sex, when you joined, each consent
    you gave (the version of the text, its fingerprint, when you gave it and when
    you withdrew it), whether a second sign-in step is set up, and your chosen
    pharmacy. Your password and sign-in codes are never included.

cases/<case number>/case.json
    One case, as you see it in the app: where on your body, your answers to the
    questions, its status and dates, your photos' details and the photo check's
    verdict ("quality_reasons"), and the specialist's replies ("responses"; the
    latest is also under "response"), with the diagnosis they recorded.
    "prescriptions" names the prescriptions written on this case.

cases/<case number>/photos/<photo number>-original.<jpg, png or heic>
    Each photo exactly as we stored it when you sent it (location data taken out).
    Its "sha256" in case.json is a fingerprint you can check it against.

cases/<case number>/photos/<photo number>-review.jpg
    The copy the specialist looked at: turned the right way up, colours adjusted,
    at most 2048 pixels wide. Only for photos that passed the check.

prescriptions/<prescription number>.json
    A prescription as you see it in the app: the medicine, how to take it, its
    status and history at the pharmacy.

prescriptions/<prescription number>.pdf
    The signed prescription document, as a pharmacy receives it.

fhir/bundle.json
    The same health information in FHIR R4, a standard format that other health
    records can import: you (Patient), your answers for each case
    (QuestionnaireResponse), your photos (Media) and each specialist report
    (DiagnosticReport). The photos are not copied into it: each Media points to
    its photo in this zip ("content.url" is the path from the top of the zip).

What is not included
--------------------

Notes that staff write for each other, and the results of the computer's
pre-analysis of your photos, which only supports the specialist and is never a
diagnosis. Ask the service if you want to know more.
"""


def readme_text(exported_at: datetime) -> str:
    """The README for an export made at ``exported_at``."""
    return _README.format(exported_at=exported_at.strftime("%Y-%m-%d %H:%M"))
