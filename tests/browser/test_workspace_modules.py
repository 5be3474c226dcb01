"""The workspace's pure ES modules, run in the browser that runs them for specialists."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

MODULES = "/review/static/review"


def run_module(page: Page, module: str, body: str, arg: Any = None) -> Any:
    """Import a workspace module as `m` on a served page and evaluate `body` with it."""
    page.goto("/login")
    script = f"async (arg) => {{ const m = await import('{MODULES}/{module}'); {body} }}"
    return page.evaluate(script, arg)


SHAPES: list[dict[str, Any]] = [
    {"tool": "rectangle", "x": 10.5, "y": 20.25, "w": 300, "h": 200.75},
    {"tool": "ellipse", "cx": 400, "cy": 300, "rx": 80.12, "ry": 40},
    {"tool": "polygon", "points": [[1, 2], [300.5, 4], [250, 199.99]]},
    {"tool": "freehand", "points": [[5, 5], [6.25, 7], [9, 11]]},
    {"tool": "point", "cx": 12, "cy": 13},
    {"tool": "text", "cx": 14, "cy": 15},
    {"tool": "arrow", "x1": 0, "y1": 0, "x2": 100, "y2": 50},
    {"tool": "ruler", "x1": 450, "y1": 350, "x2": 560.01, "y2": 420},
]


@pytest.mark.parametrize("shape", SHAPES, ids=[shape["tool"] for shape in SHAPES])
def test_every_tool_survives_the_w3c_round_trip(page: Page, shape: dict[str, Any]) -> None:
    result = run_module(
        page,
        "annotations.js",
        """const photo = {links: {original: '/api/v1/cases/c/photos/p/image?variant=original'}};
           const annotation = m.toAnnotation(arg, photo, arg.tool === 'text' ? 'a label' : '');
           return {shape: m.shapeOf(annotation), text: m.textOf(annotation),
                   selector: annotation.target.selector};""",
        shape,
    )
    assert result["shape"] == shape
    assert result["text"] == ("a label" if shape["tool"] == "text" else "")
    expected_type = "FragmentSelector" if shape["tool"] == "rectangle" else "SvgSelector"
    assert result["selector"]["type"] == expected_type


def test_coordinates_are_sent_at_the_precision_the_server_stores(page: Page) -> None:
    selector = run_module(
        page,
        "annotations.js",
        """const photo = {links: {original: '/x'}};
           return m.toAnnotation(arg, photo).target.selector.value;""",
        {"tool": "ruler", "x1": 1.23456, "y1": 2, "x2": 3.999, "y2": 4.005},
    )
    assert 'x1="1.23"' in selector
    assert 'x2="4"' in selector


def test_an_affine_alignment_is_shown_exactly(page: Page) -> None:
    affine = run_module(
        page,
        "homography.js",
        "return m.affineAt(arg, 512, 384);",
        [[0.9, -0.1, 20], [0.1, 0.9, -5], [0, 0, 1]],
    )
    assert affine == pytest.approx([0.9, 0.1, -0.1, 0.9, 20, -5])


def test_a_perspective_alignment_is_exact_at_the_photo_centre(page: Page) -> None:
    homography = [[1.0, 0.05, 10], [0.02, 0.98, 4], [0.0001, 0.00005, 1]]
    mapped = run_module(
        page,
        "homography.js",
        """const [a, b, c, d, e, f] = m.affineAt(arg, 500, 400);
           return [a * 500 + c * 400 + e, b * 500 + d * 400 + f];""",
        homography,
    )
    w = 0.0001 * 500 + 0.00005 * 400 + 1
    assert mapped == pytest.approx([(500 + 0.05 * 400 + 10) / w, (0.02 * 500 + 0.98 * 400 + 4) / w])


def test_polygon_refuses_edges_that_cross(page: Page) -> None:
    results = run_module(
        page,
        "tools.js",
        """const g = m.gestureFor('polygon');
           const out = [[0, 0], [100, 0], [0, 100], [100, 100]].map(([x, y]) => g.down({x, y}, 1));
           out.push(g.key({key: 'Enter'}, 1));
           return out.map((r) => Object.keys(r || {}));""",
    )
    # Four vertices are accepted (the fourth edge only touches); closing would cross.
    assert results == [["draft"], ["draft"], ["draft"], ["draft"], ["refused"]]


def test_polygon_closes_on_its_first_vertex(page: Page) -> None:
    done = run_module(
        page,
        "tools.js",
        """const g = m.gestureFor('polygon');
           for (const [x, y] of [[0, 0], [100, 0], [100, 100], [0, 100]]) g.down({x, y}, 1);
           return g.down({x: 3, y: 2}, 1);""",
    )
    assert done == {"done": {"tool": "polygon", "points": [[0, 0], [100, 0], [100, 100], [0, 100]]}}
