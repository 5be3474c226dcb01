"""A follow-up case opens in the workspace compared with its baseline photo."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from playwright.sync_api import Page, expect

from tests.api.follow_up_support import clock_ahead, followed_up_case, sweep_and_work
from tests.browser.pages import StaffAccount, sign_in, wait_until_ready
from tests.support import ApiClient, run_pipeline


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
