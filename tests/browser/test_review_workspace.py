"""A specialist works a case in a real browser: queue, claim, annotate, compare, assess."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.pages import (
    StaffAccount,
    annotation_geometry,
    click_image,
    drag_image,
    expect_announcement,
    photo_figure,
    record_requests,
    screenshot,
    sign_in,
    viewer_box,
    wait_until_ready,
)
from tests.support import ApiClient, run_pipeline

MakeSpecialist = Callable[[str], StaffAccount]


def _submitted_cases(api: ApiClient, count_per_patient: tuple[int, ...]) -> list[list[str]]:
    """Patients with submitted, analysed and routed cases; their case ids, oldest first."""
    ids = []
    for count in count_per_patient:
        token = api.patient()
        ids.append([api.submitted_case(token)["id"] for _ in range(count)])
    run_pipeline(api.client.application)
    return ids


def _queue_order(api: ApiClient, token: str) -> list[str]:
    queues = api.client.get("/api/v1/queues", headers=api.auth(token)).get_json()
    name = next(queue["name"] for queue in queues if queue["waiting"])
    page = api.client.get(f"/api/v1/queues/{name}/cases", headers=api.auth(token)).get_json()
    return [item["id"] for item in page["items"]]


def test_specialist_reviews_a_case_from_queue_to_assessment(
    page: Page, live_api: ApiClient, make_specialist: MakeSpecialist
) -> None:
    doctor = make_specialist("Dr Ada Lovelace")
    _submitted_cases(live_api, (2, 1))
    order = _queue_order(live_api, live_api.login(doctor.email, doctor.password))
    sign_in(page, doctor)

    # The queue: counts, SLA clocks in words, the list in working order.
    expect(page.get_by_role("button", name=re.compile("waiting")).first).to_be_visible()
    links = page.locator("#cases .case-link")
    expect(links).to_have_count(3)
    assert [links.nth(i).get_attribute("data-case-id") for i in range(3)] == order
    expect(links.first).to_contain_text(
        re.compile("(On time|Due soon|Breached): (due in|overdue by)")
    )
    screenshot(page, "queue")

    # Keyboard: j/k move, ? explains, Enter claims and opens.
    links.first.focus()
    page.keyboard.press("j")
    expect(links.nth(1)).to_be_focused()
    page.keyboard.press("k")
    expect(links.first).to_be_focused()
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Queue shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(links.first).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/review/cases/{order[0]}")
    wait_until_ready(page)
    expect(page.locator("#claim-status")).to_contain_text("Claimed by you")
    expect(page.locator("#questionnaire")).to_contain_text("darker and a little bigger")
    expect(page.locator("#patient-facts")).to_contain_text("Fitzpatrick skin type")
    expect(page.locator(".decision-support")).to_contain_text("Decision support")

    # Annotate: a polygon at the fitted zoom, then a ruler drawn while zoomed in.
    image_requests = record_requests(page, lambda request: "variant=review" in request.url)
    figure = photo_figure(page)
    svg = figure.locator("svg.viewer")
    svg.focus()
    page.keyboard.press("p")
    for x, y in ((300, 250), (600, 240), (650, 520), (320, 540)):
        click_image(page, svg, x, y)
    page.keyboard.press("Enter")
    page.keyboard.press("+")
    page.keyboard.press("+")
    zoomed = viewer_box(svg)
    assert zoomed[2] < 1024 * 0.7
    page.keyboard.press("ArrowLeft")
    assert image_requests == []  # zoom and pan change the viewBox, never the image
    page.keyboard.press("m")
    drag_image(page, svg, (450, 350), (560, 420))
    expect(figure.locator(".annotation-list")).to_contain_text(
        re.compile(r"Polygon: [\d,.]+ px² \(uncalibrated\)")
    )
    expect(figure.locator(".annotation-list")).to_contain_text(
        re.compile(r"Ruler: [\d,.]+ px \(uncalibrated\)")
    )
    drawn = annotation_geometry(figure)
    assert _flat(drawn["polygon"]) == pytest.approx(
        [300, 250, 600, 240, 650, 520, 320, 540], abs=1.5
    )
    assert drawn["ruler"] == pytest.approx([450, 350, 560, 420], abs=1.5)
    screenshot(page, "case-annotations")

    # Undo deletes the ruler on the server, redo stores it again, at the same place.
    page.keyboard.press("Control+z")
    expect(figure.locator("g.annotation")).to_have_count(1)
    page.keyboard.press("Control+Shift+z")
    expect(figure.locator("g.annotation[data-tool=ruler]:not(.pending)")).to_have_count(1)
    assert annotation_geometry(figure) == drawn

    # Reload: the annotations come back from the API at the same original-pixel coordinates.
    page.reload()
    wait_until_ready(page)
    figure = photo_figure(page)
    expect(figure.locator("g.annotation")).to_have_count(2)
    assert annotation_geometry(figure) == drawn
    photo_id = figure.get_attribute("data-photo-id")
    stored = page.request.get(f"/api/v1/photos/{photo_id}/annotations").json()
    assert _stored_geometry(stored) == drawn

    # Compare with the patient's other case: zoom one side, the other follows.
    compare = page.locator("#compare")
    compare.scroll_into_view_if_needed()
    left, right = compare.locator("svg.viewer").nth(0), compare.locator("svg.viewer").nth(1)
    before = viewer_box(left)
    right.hover()
    page.mouse.wheel(0, -600)
    expect(right).not_to_have_attribute("viewBox", " ".join(_fmt(n) for n in before))
    assert viewer_box(left) == pytest.approx(viewer_box(right), abs=0.05)
    left.focus()
    page.keyboard.press("ArrowRight")
    assert viewer_box(right) == pytest.approx(viewer_box(left), abs=0.05)
    page.get_by_role("button", name="Align photos").click()
    expect(page.locator("#alignment-result")).to_contain_text("inliers")
    page.get_by_role("button", name="Accept alignment").click()
    expect(page.get_by_label("Difference")).to_be_enabled()
    page.get_by_label("Overlay").check()
    expect(compare.locator("g.moving g[transform^=matrix]")).to_have_count(1)
    page.get_by_label("Side by side (linked zoom)").check()
    screenshot(page, "compare", compare)

    # Assess: a coded diagnosis, a request for more information, which must say what.
    page.get_by_role("combobox", name="Diagnosis").fill("naev")
    option = page.get_by_role("listbox", name="Coded diagnoses").get_by_role("option").first
    expect(option).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#diagnosis-coding")).to_contain_text("Coded:")
    page.get_by_label("Moderate").check()
    page.get_by_label("Ask the patient for more information").check()
    page.get_by_label("Message to the patient").fill("Thank you. Please send one more photo.")
    page.get_by_label("Disagree").check()
    page.get_by_role("button", name="Submit assessment").click()
    expect(page.locator("#assessment-errors")).to_be_focused()
    expect(page.locator("#information_request-error")).to_contain_text("Say exactly")
    screenshot(page, "assessment", page.locator("section", has=page.locator("#assessment-form")))
    page.get_by_label("What exactly should the patient send or answer?").fill(
        "A close-up with a ruler beside the mole, in daylight."
    )
    page.get_by_role("button", name="Submit assessment").click()

    # Back at the queue, the next case has focus and a screen reader hears why.
    page.wait_for_url(re.compile(r"/review/\?.*focus="))
    wait_until_ready(page)
    next_case = order[1]
    expect(page.locator(f'.case-link[data-case-id="{next_case}"]')).to_be_focused()
    expect_announcement(page, "Assessment submitted")


def test_second_specialist_sees_who_reviews_a_claimed_case(
    page: Page, live_api: ApiClient, make_specialist: MakeSpecialist
) -> None:
    first = make_specialist("Dr Grace Hopper")
    second = make_specialist("Dr Alan Turing")
    [[case_id]] = _submitted_cases(live_api, (1,))
    token = live_api.login(first.email, first.password)
    claimed = live_api.client.post(f"/api/v1/cases/{case_id}/claim", headers=live_api.auth(token))
    assert claimed.status_code == 200

    sign_in(page, second)
    link = page.locator(f'.case-link[data-case-id="{case_id}"]')
    expect(link).to_contain_text("Being reviewed by Dr Grace Hopper")
    page.goto(f"/review/cases/{case_id}")
    blocked = page.locator("#blocked")
    expect(blocked).to_be_visible()
    expect(blocked).to_contain_text("Dr Grace Hopper")
    expect(page.locator("#case-content")).to_be_hidden()
    expect(page.locator("figure.photo, #questionnaire dt, image")).to_have_count(0)


def test_claim_is_renewed_while_in_use_and_returned_on_request(
    page: Page, live_api: ApiClient, make_specialist: MakeSpecialist
) -> None:
    doctor = make_specialist("Dr Ada Lovelace")
    [[case_id]] = _submitted_cases(live_api, (1,))
    sign_in(page, doctor)
    claim_url = f"/cases/{case_id}/claim"
    requests = record_requests(page, lambda request: request.url.endswith(claim_url))

    def claims() -> list[str]:
        return [request.method for request in requests]

    page.clock.install()
    page.goto(f"/review/cases/{case_id}")
    wait_until_ready(page)
    assert claims() == ["POST"]

    page.clock.fast_forward("05:01")  # untouched: the lease is left to lapse
    page.wait_for_timeout(300)
    assert claims() == ["POST"]
    photo_figure(page).locator("svg.viewer").click()
    with page.expect_request(lambda r: r.url.endswith(claim_url) and r.method == "POST"):
        page.clock.fast_forward("05:01")
    assert claims() == ["POST", "POST"]

    page.get_by_role("button", name="Return to queue").click()
    page.wait_for_url(re.compile(r"/review/\?.*focus="))
    wait_until_ready(page)
    assert claims()[-1] == "DELETE"
    expect(page.locator(f'.case-link[data-case-id="{case_id}"]')).to_be_focused()
    expect_announcement(page, "returned to the queue")


@pytest.mark.parametrize("where", ["queue", "case"])
def test_workspace_pages_have_no_serious_accessibility_violations(
    page: Page, live_api: ApiClient, make_specialist: MakeSpecialist, where: str
) -> None:
    doctor = make_specialist("Dr Ada Lovelace")
    [[case_id]] = _submitted_cases(live_api, (1,))
    sign_in(page, doctor)
    if where == "case":
        page.goto(f"/review/cases/{case_id}")
        wait_until_ready(page)
    results = Axe().run(page)
    serious = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []


def _stored_geometry(page: dict[str, Any]) -> dict[str, Any]:
    """The same shape as annotation_geometry(), read from the API's annotation page."""
    geometry: dict[str, Any] = {}
    for item in page["items"]:
        value = item["target"]["selector"]["value"]
        if item["tool"] == "polygon":
            pairs = _attribute(value, "points").split()
            geometry["polygon"] = [[float(n) for n in pair.split(",")] for pair in pairs]
        elif item["tool"] == "ruler":
            geometry["ruler"] = [
                float(_attribute(value, name)) for name in ("x1", "y1", "x2", "y2")
            ]
    return geometry


def _attribute(svg: str, name: str) -> str:
    found = re.search(rf'\b{name}="([^"]+)"', svg)
    assert found, f"no {name} in {svg}"
    return found.group(1)


def _flat(points: list[list[float]]) -> list[float]:
    return [n for point in points for n in point]


def _fmt(number: float) -> str:
    return f"{number:g}"


def test_j_and_k_move_between_photos_unless_shortcuts_are_off(
    page: Page, live_api: ApiClient, make_specialist: MakeSpecialist
) -> None:
    doctor = make_specialist("Dr Ada Lovelace")
    token = live_api.patient()
    case = live_api.create_case(token)
    for view in ("close_up", "regional"):
        assert live_api.upload(token, case["id"], view=view).status_code == 201
    live_api.process_photos()
    submitted = live_api.client.post(
        f"/api/v1/cases/{case['id']}/submit", headers=live_api.auth(token)
    )
    assert submitted.status_code == 202
    run_pipeline(live_api.client.application)
    sign_in(page, doctor)
    page.goto(f"/review/cases/{case['id']}")
    wait_until_ready(page)
    first = photo_figure(page, 0).locator("svg.viewer")
    second = photo_figure(page, 1).locator("svg.viewer")
    first.focus()
    page.keyboard.press("j")
    expect(second).to_be_focused()
    expect_announcement(page, "2 of 2")
    page.keyboard.press("k")
    expect(first).to_be_focused()

    page.get_by_label("Keyboard shortcuts").uncheck()
    first.focus()
    page.keyboard.press("j")
    expect(first).to_be_focused()
    page.keyboard.press("p")
    expect(first).to_have_attribute("data-tool", "select")
