"""Follow-ups in the workspace: set from the assessment form; the follow-up case opens
compared with its baseline photo."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from playwright.sync_api import Page, expect

from casebox.database import utcnow
from tests.api.follow_up_support import (
    INSTRUCTIONS,
    assess,
    assessment,
    followed_up_case,
    sweep_and_work,
)
from tests.api.review_support import routed_case
from tests.browser.pages import StaffAccount, sign_in, wait_until_ready
from tests.support import ApiClient, clock_ahead, run_pipeline


def test_a_follow_up_case_opens_beside_its_baseline(
    page: Page, live_api: ApiClient, make_specialist: Callable[[str], StaffAccount]
) -> None:
    doctor = make_specialist("Dr Ada Lovelace")
    specialist = live_api.auth(live_api.login(doctor.email, doctor.password))
    patient = live_api.patient()
    baseline_id, _ = followed_up_case(live_api, patient, specialist)
    app = live_api.client.application
    with clock_ahead(app, timedelta(days=43)):
        sweep_and_work(app)
    baseline = live_api.client.get(f"/api/v1/cases/{baseline_id}", headers=live_api.auth(patient))
    new_id = baseline.get_json()["follow_up"]["follow_up_case_id"]
    baseline_photo = baseline.get_json()["photos"][0]["id"]
    assert live_api.upload(patient, new_id, view="close_up").status_code == 201
    live_api.process_photos()
    submit = f"/api/v1/cases/{new_id}/submit"
    assert live_api.client.post(submit, headers=live_api.auth(patient)).status_code == 202
    run_pipeline(app)  # routed, and reserved for Dr Lovelace

    sign_in(page, doctor)
    page.goto(f"/review/cases/{new_id}")
    wait_until_ready(page)
    expect(page.locator("#compare-moving")).to_have_value(baseline_photo)
    expect(page.locator("#compare")).to_have_attribute("data-baseline", baseline_photo)
    expect(page.locator("#compare svg.viewer")).to_have_count(2)  # side by side
    expect(page.locator("#exchange")).to_contain_text("Follow-up of the case submitted")
    expect(page.locator("#exchange")).to_contain_text(INSTRUCTIONS)


def test_the_specialist_sets_a_follow_up_from_the_assessment_form(
    page: Page, live_api: ApiClient, make_specialist: Callable[[str], StaffAccount]
) -> None:
    doctor = make_specialist("Dr Ada Lovelace")
    patient = live_api.patient()
    case_id = routed_case(live_api, patient)
    sign_in(page, doctor)
    page.goto(f"/review/cases/{case_id}")
    wait_until_ready(page)
    page.get_by_role("combobox", name="Diagnosis").fill("Atypical naevus, to watch")
    page.get_by_label("Moderate").check()
    page.get_by_label("Reassure and discharge").check()
    page.get_by_label("See this spot again").select_option("interval")
    page.get_by_label("Message to the patient").fill("Harmless for now; we will compare it.")
    page.get_by_label("Agree", exact=True).check()
    page.get_by_role("button", name="Submit assessment").click()
    expect(page.locator("#follow_up-error")).to_contain_text("number of days")
    page.get_by_label("Days from now (1 to 730)").fill("42")
    page.get_by_label("What the patient should photograph").fill(INSTRUCTIONS)
    page.get_by_role("button", name="Submit assessment").click()
    page.wait_for_url(re.compile(r"/review/\?"))

    own = live_api.client.get(f"/api/v1/cases/{case_id}", headers=live_api.auth(patient))
    follow_up = own.get_json()["follow_up"]
    assert follow_up["status"] == "scheduled" and follow_up["instructions"] == INSTRUCTIONS
    due_at = datetime.fromisoformat(follow_up["due_at"])
    assert abs(due_at - (utcnow() + timedelta(days=42))) < timedelta(minutes=5)


def test_the_patients_reply_is_shown_beside_the_request_it_answers(
    page: Page, live_api: ApiClient, make_specialist: Callable[[str], StaffAccount]
) -> None:
    doctor = make_specialist("Dr Ada Lovelace")
    specialist = live_api.auth(live_api.login(doctor.email, doctor.password))
    patient = live_api.patient()
    case_id = routed_case(live_api, patient)
    body = assessment(management="more_information", information_request="Is it itchy?")
    del body["follow_up"]
    assert assess(live_api, specialist, case_id, body).status_code == 201
    reply = {"message": "Only at night."}
    url = f"/api/v1/cases/{case_id}/reply"
    assert live_api.client.post(url, json=reply, headers=live_api.auth(patient)).status_code == 201
    run_pipeline(live_api.client.application)  # back to Dr Lovelace

    sign_in(page, doctor)
    page.goto(f"/review/cases/{case_id}")
    wait_until_ready(page)
    items = page.locator("#exchange-items li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("Dr Ada Lovelace asked: Is it itchy?")
    expect(items.nth(1)).to_contain_text("the patient replied: Only at night.")
