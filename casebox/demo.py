"""Demo clinic data for evaluation (``casebox demo``); refused in production."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import date

from PIL import Image, ImageChops, ImageDraw
from sqlalchemy import select

from casebox import services
from casebox.accounts.consent import current_consent
from casebox.accounts.mfa import start_totp_enrolment
from casebox.accounts.models import Role, Sex, User
from casebox.accounts.operations import create_user, register_patient
from casebox.cases import operations as cases
from casebox.cases import pipeline
from casebox.cases.models import PhotoView
from casebox.database import db, utcnow
from casebox.errors import ConfigurationError
from casebox.review.memberships import all_queue_names, set_queues
from prescriptions.directory import attach_pharmacist, create_pharmacy, record_licence
from prescriptions.models import PharmacyStaff
from prescriptions.operations import nominate_pharmacy


@dataclass(frozen=True)
class DemoAccount:
    """A demo login."""

    role: str
    email: str
    password: str
    name: str


DEMO_ACCOUNTS = (
    DemoAccount("patient", "patient@demo.casebox", "demo-patient-pass", "Dana Demo"),
    DemoAccount("specialist", "derm@demo.casebox", "demo-specialist-pass", "Dr Sam Skinner"),
    DemoAccount("pharmacist", "pharmacy@demo.casebox", "demo-pharmacy-pass", "Pat Pharmacist"),
    DemoAccount("admin", "admin@demo.casebox", "demo-admin-pass", "Alex Admin"),
)

DEMO_QUESTIONNAIRE = {
    "duration": "months",
    "changed_size": True,
    "changed_shape": False,
    "changed_colour": True,
    "itch": False,
    "bleeding": False,
    "pain": False,
    "scaly": False,
    "previous_skin_cancer": False,
    "family_history_melanoma": True,
    "fitzpatrick": "II",
    "medications": [],
    "allergies": ["penicillin"],
    "pregnant_or_breastfeeding": False,
    "description": "A mole that seems darker and a little bigger than last year.",
}


def synthetic_lesion_photo(seed: int, size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A skin-toned JPEG with skin grain and a brown spot (demo and test data, not a patient).

    The grain matters: without fine texture the quality gate rightly calls a
    picture blurred.
    """
    rng = random.Random(seed)  # noqa: S311  # reproducible picture, not security
    base = Image.new("RGB", size, (224, 180, 150))
    # Seeded grain, so the same seed always gives the same bytes.
    grain = Image.frombytes("L", size, rng.randbytes(size[0] * size[1])).convert("RGB")
    image = Image.blend(base, ImageChops.multiply(base, grain), 0.5)
    draw = ImageDraw.Draw(image)
    width, height = size
    cx = width // 2 + rng.randint(-width // 10, width // 10)
    cy = height // 2 + rng.randint(-height // 10, height // 10)
    scale = min(size) / 1200
    for radius, colour in ((150, (150, 100, 70)), (110, (110, 70, 45)), (60, (80, 50, 35))):
        r = int((radius + rng.randint(-20, 20)) * scale)
        draw.ellipse((cx - r, cy - int(r * 0.8), cx + r, cy + int(r * 0.8)), fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _demo_user(account: DemoAccount) -> User:
    existing = db.session.scalar(select(User).where(User.email == account.email))
    if existing is not None:
        return existing
    if account.role == "patient":
        return register_patient(
            email=account.email,
            password=account.password,
            name=account.name,
            date_of_birth=date(1971, 5, 14),
            sex=Sex.FEMALE,
            consent_version=current_consent().version,
        )
    user = create_user(account.email, account.password, name=account.name, role=Role(account.role))
    if user.role == Role.SPECIALIST:
        set_queues(user, all_queue_names())
    return user


def follow_up_photo(baseline: bytes, *, angle: float = 4.0, zoom: float = 1.12) -> bytes:
    """The same skin photographed again a little turned and closer (demo comparison)."""
    image = Image.open(io.BytesIO(baseline)).convert("RGB")
    width, height = image.size
    turned = image.rotate(angle, resample=Image.Resampling.BICUBIC)
    # Crop inside the corners the turn left empty, then scale back to the full frame.
    crop_w, crop_h = int(width / zoom), int(height / zoom)
    left, top = (width - crop_w) // 2 + width // 40, (height - crop_h) // 2
    closer = turned.crop((left, top, left + crop_w, top + crop_h)).resize(
        (width, height), Image.Resampling.LANCZOS
    )
    buffer = io.BytesIO()
    closer.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _demo_photos(index: int) -> list[tuple[PhotoView, bytes]]:
    # The second case follows up the first: the same forearm, a few weeks later.
    first = index if index != 1 else 0
    photos = [
        (view, synthetic_lesion_photo(first * 2 + offset))
        for offset, view in enumerate((PhotoView.REGIONAL, PhotoView.CLOSE_UP))
    ]
    if index == 1:
        photos = [(view, follow_up_photo(data)) for view, data in photos]
    return photos


DEMO_TOTP_FILE = "demo_totp_secret"


def _demo_prescribing(users: dict[str, User]) -> None:
    """A pharmacy with the demo pharmacist, the patient's nomination, and a specialist who
    can sign: a licence and an authenticator whose secret is kept in the data dir."""
    if db.session.scalar(
        select(PharmacyStaff).where(PharmacyStaff.user_id == users["pharmacist"].id)
    ):
        return
    pharmacy = create_pharmacy("Demo Pharmacy", "2 Market Square, Springfield", "+1 555 0100")
    attach_pharmacist(users["pharmacist"], pharmacy)
    nominate_pharmacy(users["patient"], pharmacy.public_id)
    specialist = users["specialist"]
    record_licence(
        specialist,
        number="DEMO-12345",
        authority="Demo College of Physicians",
        system="https://casebox.invalid/licences/demo",
    )
    enrolment = start_totp_enrolment(specialist)
    # The secret was made here, so it needs no proof; confirming by code would need Redis.
    specialist.totp_confirmed_at = utcnow()
    path = services.settings().data_dir / DEMO_TOTP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(enrolment.secret + "\n")
    path.chmod(0o600)


def demo_totp_secret() -> str | None:
    """The demo specialist's authenticator secret, for an evaluator's app (development)."""
    path = services.settings().data_dir / DEMO_TOTP_FILE
    return path.read_text().strip() if path.exists() else None


def seed_demo() -> None:
    """Create the demo accounts and, once, a draft and two submitted cases.

    The two submitted cases show the same lesion twice (a baseline and its follow-up),
    so that the workspace's comparison and alignment have something to show.
    """
    if services.settings().is_production:
        raise ConfigurationError("Demo data is never created in production.")
    users = {account.role: _demo_user(account) for account in DEMO_ACCOUNTS}
    patient = users["patient"]
    _demo_prescribing(users)
    if cases.list_own_cases(patient, page=1, per_page=1).total == 0:
        sites = (("left_forearm", True), ("left_forearm", True), ("right_cheek", False))
        for index, (site, submit) in enumerate(sites):
            case = cases.create_case(patient, body_site=site, questionnaire=DEMO_QUESTIONNAIRE)
            for view, data in _demo_photos(index):
                photo = cases.add_photo(patient, case.public_id, view=view, data=data)
                # Check the photo now, as a worker would, so the demo can submit at once.
                pipeline.normalize_photo(photo.public_id)
            if submit:
                cases.submit_case(patient, case.public_id)
    db.session.commit()
