"""What the browser tests do on the workspace pages, named as a specialist would say it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, Request, expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass(frozen=True)
class StaffAccount:
    """A member of staff who signs in through the login form."""

    email: str
    password: str
    name: str


def sign_in(page: Page, account: StaffAccount) -> None:
    """Sign in through the login form; staff land on their queues."""
    page.goto("/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/review/**")
    wait_until_ready(page)


def wait_until_ready(page: Page) -> None:
    """The page's modules set body[data-ready] once their data is on screen."""
    page.locator("body[data-ready=true]").wait_for()


def screenshot(page: Page, name: str, part: Locator | None = None) -> None:
    """Keep a picture of a main screen (or the part of it that matters) for the documentation.

    Photos of skin compress badly, so large screens are kept to the visible window.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = str(SCREENSHOTS / f"{name}.png")
    if part is None:
        page.screenshot(path=path)
    else:
        part.screenshot(path=path)


def record_requests(page: Page, wanted: Callable[[Request], bool]) -> list[Request]:
    """The requests the page makes from now on that `wanted` selects, as they happen."""
    seen: list[Request] = []

    def note(request: Request) -> None:
        if wanted(request):
            seen.append(request)

    page.on("request", note)
    return seen


def photo_figure(page: Page, index: int = 0) -> Locator:
    return page.locator("#photos figure.photo").nth(index)


def viewer_box(svg: Locator) -> list[float]:
    """An SVG's viewBox as four numbers."""
    return [float(n) for n in (svg.get_attribute("viewBox") or "").split()]


def to_screen(svg: Locator, x: float, y: float) -> dict[str, float]:
    """Where the image pixel (x, y) is on screen, through the SVG's current viewBox."""
    point: dict[str, float] = svg.evaluate(
        """(svg, [x, y]) => {
            const p = new DOMPoint(x, y).matrixTransform(svg.getScreenCTM());
            return {x: p.x, y: p.y};
        }""",
        [x, y],
    )
    return point


def click_image(page: Page, svg: Locator, x: float, y: float) -> None:
    point = to_screen(svg, x, y)
    page.mouse.click(point["x"], point["y"])


def drag_image(
    page: Page, svg: Locator, start: tuple[float, float], end: tuple[float, float]
) -> None:
    """Press at one image pixel and release at another, moving in steps as a hand does."""
    a = to_screen(svg, *start)
    b = to_screen(svg, *end)
    page.mouse.move(a["x"], a["y"])
    page.mouse.down()
    page.mouse.move(b["x"], b["y"], steps=8)
    page.mouse.up()


def annotation_geometry(figure: Locator) -> dict[str, Any]:
    """The polygon's points and the ruler's ends as drawn in the viewer."""
    polygon = figure.locator("g.annotation[data-tool=polygon] polygon")
    ruler = figure.locator("g.annotation[data-tool=ruler] line")
    points = [
        [float(n) for n in pair.split(",")]
        for pair in (polygon.get_attribute("points") or "").split()
    ]
    ends = [float(ruler.get_attribute(name) or "nan") for name in ("x1", "y1", "x2", "y2")]
    return {"polygon": points, "ruler": ends}


def expect_announcement(page: Page, text: str) -> None:
    expect(page.locator("#announcer")).to_contain_text(text)
