"""A patient on a phone, on a slow network: intake, retake, response, follow-up, export.

Chromium runs with a 360 px wide touch viewport, and its network is throttled through
the DevTools protocol (as DevTools' own presets do); the upload test also cuts the
connection in the middle of a photo and checks that the upload resumes where it stopped.
"""

from __future__ import annotations

import io
import math
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from PIL import Image, ImageFilter
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Request, expect
from sqlalchemy import select

from casebox.cases.models import Case, CaseStatus, Photo
from casebox.database import db
from casebox.demo import synthetic_lesion_photo
from casebox.uploads.models import Upload
from tests.api.follow_up_support import assessment, sweep_and_work
from tests.api.review_support import claim
from tests.browser.pages import screenshot
from tests.support import PASSWORD, ApiClient, clock_ahead, run_pipeline

PHONE = {"width": 360, "height": 740}
# DevTools' "Fast 3G" preset (bytes per second, milliseconds): photos of a few hundred
# kilobytes take seconds, as they do on a phone outdoors.
FAST_3G = {"latency": 563, "downloadThroughput": 180_000, "uploadThroughput": 84_000}
CHUNK = 256 * 1024


def _jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _good(seed: int = 1, size: tuple[int, int] = (1024, 768)) -> bytes:
    return synthetic_lesion_photo(seed, size=size)


def _blurred() -> bytes:
    return _jpeg(Image.open(io.BytesIO(_good(2))).filter(ImageFilter.GaussianBlur(6)))


@pytest.fixture
def phone(browser: Browser, live_server: str) -> Iterator[BrowserContext]:
    """A phone-sized touch browser in English, its network throttled."""
    context = browser.new_context(
        base_url=live_server,
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        locale="en-CA",
        accept_downloads=True,
    )
    yield context
    context.close()


def _new_page(context: BrowserContext) -> Page:
    """A page whose script errors and failed requests are printed (shown on failure)."""
    page = context.new_page()
    page.on("pageerror", lambda error: print(f"page error: {error}"))
    page.on("console", lambda m: print(f"console: {m.text}") if m.type == "error" else None)
    page.on("response", lambda r: print(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    return page


def _throttle(page: Page, **conditions: object) -> Callable[..., None]:
    """Throttle the page's network; returns a function that changes the conditions."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")

    def apply(**changes: object) -> None:
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, **FAST_3G, **conditions, **changes},
        )

    apply()
    return apply


def _until(app: Flask, locator: Locator, timeout: float = 90) -> None:
    """Run the pipeline until ``locator`` shows what the job decided."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run_pipeline(app)
        if locator.count() and locator.first.is_visible():
            return
        time.sleep(0.25)
    expect(locator.first).to_be_visible()


def _register(page: Page, email: str) -> None:
    page.goto("/register")
    page.get_by_label("Your full name").fill("Marie Gagnon")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Date of birth").fill("1979-03-14")
    page.get_by_label("Female").check()
    page.get_by_label("I have read and accept this consent.").check()
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="My cases")).to_be_visible()


def _answer_questions(page: Page) -> None:
    for name in (
        "changed_size", "changed_shape", "changed_colour", "itch", "bleeding", "pain",
        "scaly", "previous_skin_cancer", "family_history_melanoma", "pregnant_or_breastfeeding",
    ):  # fmt: skip
        page.locator(f'input[name="{name}"][value="no"]').check()
    page.get_by_label("A year or more").check()
    page.get_by_label("Type III").check()
    page.get_by_label("Which medicines do you take?").fill("Vitamin D")
    page.get_by_role("button", name="Next: photos").click()
    _photo_step_ready(page)


def _photo_step_ready(page: Page) -> None:
    """The photo step's script is running (on a slow network it arrives after the page)."""
    page.locator("#photo-steps[data-ready=true]").wait_for()


def _photo(name: str, data: bytes) -> dict[str, object]:
    return {"name": name, "mimeType": "image/jpeg", "buffer": data}


def _tap_targets_are_large(page: Page) -> None:
    small = page.evaluate(
        """() => [...document.querySelectorAll('main button, main .button, header button')]
             .filter(e => e.offsetParent !== null)
             .map(e => e.getBoundingClientRect())
             .filter(r => r.height < 44 || r.width < 44).length"""
    )
    assert small == 0


def _no_serious_accessibility_issue(page: Page) -> None:
    results = Axe().run(page)
    serious = [
        violation
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert serious == [], results.generate_report()


def test_a_patient_on_a_phone_goes_from_intake_to_follow_up_and_export(
    phone: BrowserContext, live_api: ApiClient, live_app: Flask
) -> None:
    page = _new_page(phone)
    _throttle(page)
    _register(page, "marie@example.org")
    _no_serious_accessibility_issue(page)

    # 1. Intake with two photos, from the body map.
    page.get_by_role("link", name="Start a new case").click()
    screenshot(page, "patient-body-map")
    page.get_by_role("link", name="Left forearm").first.click()
    _no_serious_accessibility_issue(page)  # the questionnaire
    _answer_questions(page)
    expect(page.get_by_role("heading", name="Overview photo")).to_be_visible()
    _tap_targets_are_large(page)
    _no_serious_accessibility_issue(page)
    page.locator("#file-regional").set_input_files(_photo("overview.jpg", _good(3)))
    regional = page.locator('[data-photos="regional"] .verdict-good')
    expect(page.locator('form[data-upload="regional"] .upload-status')).to_contain_text(
        "Sending", timeout=30000
    )
    _until(live_app, regional)

    # 2. A blurred close-up is refused with its reason, retaken and the case sent.
    page.locator("#file-close_up").set_input_files(_photo("close.jpg", _blurred()))
    refused = page.locator('[data-photos="close_up"] .verdict-bad')
    _until(live_app, refused)
    expect(page.locator('[data-photos="close_up"]')).to_contain_text("blurred")
    screenshot(page, "patient-retake", page.locator('section:has([data-photos="close_up"])'))
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Take it again").click()
    chooser.value.set_files(_photo("close-again.jpg", _good(4)))
    _until(live_app, page.locator('[data-photos="close_up"] .verdict-good'))
    expect(page.locator('[data-photos="close_up"] .verdict-bad')).to_have_count(0)
    page.get_by_role("link", name="Next: check and send").click()
    expect(page.get_by_text("Left forearm")).to_be_visible()
    _no_serious_accessibility_issue(page)
    _tap_targets_are_large(page)
    page.get_by_role("button", name="Send to the dermatologist").click()
    expect(page.get_by_text("Your case was sent")).to_be_visible()
    case_id = page.url.split("/my/cases/")[1].split("?")[0]

    # 3. A specialist answers, with a follow-up in six weeks.
    run_pipeline(live_app)
    specialist = live_api.auth(live_api.staff())
    claim(live_api, specialist, case_id)
    answered = live_api.client.post(
        f"/api/v1/cases/{case_id}/assessment", json=assessment(), headers=specialist
    )
    assert answered.status_code == 201, answered.get_json()
    page.reload()
    expect(
        page.get_by_text("This looks harmless; we will compare it in six weeks.")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Follow-up")).to_be_visible()
    expect(page.get_by_text("We will remind you when it is time.")).to_be_visible()
    _no_serious_accessibility_issue(page)
    screenshot(page, "patient-case")

    # 4. Six weeks later the reminder arrives and opens the linked follow-up case.
    with clock_ahead(live_app, timedelta(days=43)):
        sweep_and_work(live_app)
    page.goto("/my/")
    notice = page.locator("li.card", has_text="follow-up")
    expect(notice.first).to_be_visible()
    notice.first.get_by_role("button", name="Open").click()
    page.get_by_role("link", name="Continue: take the photos").click()
    expect(page.get_by_role("heading", name="Line up with your earlier photo")).to_be_visible()
    expect(page.get_by_text("Photograph the same spot in 6 weeks")).to_be_visible()
    expect(
        page.get_by_role("img", name="Your earlier photo, shown faintly as a guide")
    ).to_be_visible()
    _no_serious_accessibility_issue(page)
    with live_app.app_context():
        follow_up = db.session.scalar(select(Case).where(Case.status == CaseStatus.DRAFT))
        assert follow_up is not None and follow_up.body_site == "left_forearm"
        assert follow_up.follow_up_of_id is not None

    # 5. The patient downloads everything held on them.
    page.goto("/my/settings")
    _no_serious_accessibility_issue(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data").click()
    with zipfile.ZipFile(download.value.path()) as archive:
        names = archive.namelist()
    assert any(name.endswith(".jpg") for name in names)
    assert any("fhir" in name.lower() for name in names)


def test_an_upload_cut_off_mid_photo_resumes_and_resends_at_most_one_chunk(
    phone: BrowserContext, live_api: ApiClient, live_app: Flask
) -> None:
    page = _new_page(phone)
    network = _throttle(page)
    _register(page, "luc@example.org")
    page.get_by_role("link", name="Start a new case").click()
    page.get_by_role("link", name="Chin").first.click()
    _answer_questions(page)
    photo = _good(5, size=(2600, 1950))
    assert len(photo) > 3 * CHUNK
    patches: list[Request] = []
    page.on("request", lambda r: patches.append(r) if r.method == "PATCH" else None)

    page.locator("#file-close_up").set_input_files(_photo("big.jpg", photo))
    progress = page.locator('form[data-upload="close_up"] progress')
    page.wait_for_function("p => p.value >= 30", arg=progress.element_handle(), timeout=60000)
    network(offline=True)
    status = page.locator('form[data-upload="close_up"] .upload-status')
    expect(status).to_contain_text("Connection lost", timeout=60000)
    time.sleep(1)
    network(offline=False)
    expect(status).to_contain_text("Checking", timeout=120000)

    chunks = math.ceil(len(photo) / CHUNK)
    assert chunks + 1 <= len(patches) <= chunks + 2  # the cut-off chunk at most is re-sent
    with live_app.app_context():
        upload = db.session.scalar(select(Upload))
        assert upload is not None and upload.upload_offset == upload.upload_length == len(photo)
        stored = db.session.scalar(select(Photo))
        assert stored is not None
    _until(live_app, page.locator('[data-photos="close_up"] .verdict-good'))


def test_low_data_shrinks_the_photo_on_the_phone_and_the_case_records_it(
    phone: BrowserContext, live_api: ApiClient, live_app: Flask
) -> None:
    page = _new_page(phone)
    _throttle(page)
    _register(page, "remi@example.org")
    page.get_by_role("link", name="Start a new case").click()
    page.get_by_role("link", name="Nose").first.click()
    _answer_questions(page)
    page.get_by_label("Save mobile data").check()
    photo = _good(6, size=(3200, 2400))
    page.locator("#file-close_up").set_input_files(_photo("large.jpg", photo))
    _until(live_app, page.locator('[data-photos="close_up"] .verdict-good'))
    with live_app.app_context():
        stored = db.session.scalar(select(Photo))
        assert stored is not None and max(stored.width, stored.height) == 2048
        assert stored.case.low_data is True
        upload = db.session.scalar(select(Upload))
        assert upload is not None and upload.upload_length < len(photo)


def test_the_french_pages_render_and_pass_the_accessibility_check(
    browser: Browser, live_server: str, live_api: ApiClient
) -> None:
    context = browser.new_context(base_url=live_server, viewport=PHONE, locale="fr-CA")
    page = _new_page(context)
    page.goto("/register")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", name="Créer un compte")).to_be_visible()
    expect(page.get_by_text("Consentement aux soins de télédermatologie")).to_be_visible()
    _no_serious_accessibility_issue(page)
    body = live_api.register(email="jeanne@example.org")
    page.goto("/login")
    page.locator("#email").fill(body["email"])
    page.locator("#password").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.goto("/my/cases/new")
    expect(page.locator("h1")).not_to_contain_text("Where is the skin problem?")
    _no_serious_accessibility_issue(page)
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Where is the skin problem?")).to_be_visible()
    context.close()
