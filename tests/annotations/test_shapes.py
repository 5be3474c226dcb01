"""Annotations as a dermatologist draws them: what the server keeps, refuses and measures."""

from __future__ import annotations

import math
from typing import Any

import pytest

from casebox.annotations.shapes import (
    Calibration,
    Shape,
    measure,
    parse_annotation,
    parse_calibration,
    parse_selector,
    selector_of,
)
from casebox.errors import ValidationFailed

WIDTH, HEIGHT = 1000, 800
CONTEXT = "http://www.w3.org/ns/anno.jsonld"
SVG = "http://www.w3.org/2000/svg"
VALUE = "target.selector.value"


def svg(element: str, *, namespace: bool = True) -> dict[str, str]:
    root = f'<svg xmlns="{SVG}">' if namespace else "<svg>"
    return {"type": "SvgSelector", "value": f"{root}{element}</svg>"}


def fragment(value: str) -> dict[str, str]:
    return {
        "type": "FragmentSelector",
        "conformsTo": "http://www.w3.org/TR/media-frags/",
        "value": value,
    }


def annotation(selector: dict[str, Any], **members: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "type": "Annotation",
        "target": {"source": "ignored", "selector": selector},
    }
    document.update(members)
    return document


def label(text: str = "irregular border") -> dict[str, str]:
    return {"type": "TextualBody", "value": text, "purpose": "describing"}


def parse(document: dict[str, Any]) -> Any:
    return parse_annotation(document, width=WIDTH, height=HEIGHT)


def rejection(document: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        parse(document)
    assert caught.value.errors
    return caught.value.errors


EVERY_TOOL = {
    "rectangle": (fragment("xywh=pixel:10.5,20,30.25,40"), {}),
    "ellipse": (svg('<ellipse cx="500" cy="400" rx="120.5" ry="80"/>'), {}),
    "polygon": (svg('<polygon points="10,10 200,15 150,300 20,250"/>'), {}),
    "freehand": (svg('<polyline points="1,1 2.5,3 4,9 40,90"/>'), {}),
    "point": (svg('<circle cx="640" cy="480" r="0" data-tool="point"/>'), {}),
    "text": (
        svg('<circle cx="640" cy="480" r="0" data-tool="text"/>'),
        {"body": [label("scale")]},
    ),
    "arrow": (svg('<line x1="100" y1="100" x2="300" y2="250" data-tool="arrow"/>'), {}),
    "ruler": (svg('<line x1="0" y1="0" x2="1000" y2="800" data-tool="ruler"/>'), {}),
}


# --- what is kept ------------------------------------------------------------------------


@pytest.mark.parametrize("tool", sorted(EVERY_TOOL))
def test_every_tool_round_trips_through_its_canonical_selector(tool: str) -> None:
    selector, members = EVERY_TOOL[tool]
    first = parse(annotation(selector, **members))
    again = parse(annotation(selector_of(first.shape), **members))
    assert first.shape.tool == tool
    assert again.shape == first.shape
    assert again.selector == first.selector == selector_of(first.shape)
    assert parse_selector(first.selector, width=WIDTH, height=HEIGHT) == first.shape


def test_the_shape_representation_is_the_documented_one() -> None:
    rectangle = parse(annotation(fragment("xywh=pixel:10,20,30,40"))).shape
    ellipse = parse(annotation(EVERY_TOOL["ellipse"][0])).shape
    arrow = parse(annotation(EVERY_TOOL["arrow"][0])).shape
    assert rectangle == Shape("rectangle", ((10, 20),), (30, 40))
    assert ellipse == Shape("ellipse", ((500, 400),), (120.5, 80))
    assert arrow == Shape("arrow", ((100, 100), (300, 250)))


def test_a_client_svg_is_stored_clean_and_canonical() -> None:
    sent = svg(
        '\n  <polygon  stroke="url(https://evil.example/x)" fill="none" stroke-width="2"'
        ' points=" 10,10,20 20\n30,5 " data-tool="polygon"/>\n',
        namespace=False,
    )
    parsed = parse(annotation(sent))
    assert parsed.selector == {
        "type": "SvgSelector",
        "value": f'<svg xmlns="{SVG}">'
        '<polygon points="10,10 20,20 30,5" data-tool="polygon"/></svg>',
    }


def test_points_may_be_packed_as_svg_allows() -> None:
    parsed = parse(annotation(svg('<polyline points="10-0 .5.5 1e2,2E1"/>')))
    assert parsed.shape.points == ((10, 0), (0.5, 0.5), (100, 20))


def test_a_rectangle_without_pixel_unit_is_in_pixels() -> None:
    parsed = parse(annotation(fragment("xywh=10,20,30,40")))
    assert parsed.selector["value"] == "xywh=pixel:10,20,30,40"


def test_coordinates_are_rounded_and_clamped_within_the_one_pixel_margin() -> None:
    shape = parse(annotation(svg('<polyline points="-0.6,-1 1000.8,800.004 3.14159,2"/>'))).shape
    assert shape.points == ((0, 0), (1000, 800), (3.14, 2))


def test_a_rectangle_overlapping_the_edge_within_the_margin_is_clipped() -> None:
    shape = parse(annotation(fragment("xywh=pixel:-0.5,790,100,10.5"))).shape
    assert shape == Shape("rectangle", ((0, 790),), (99.5, 10))


def test_a_repeated_closing_vertex_is_dropped_from_a_polygon() -> None:
    shape = parse(annotation(svg('<polygon points="1,1 9,1 9,9 1,1"/>'))).shape
    assert shape.points == ((1, 1), (9, 1), (9, 9))


def test_motivation_defaults_by_tool_and_bodies_are_normalised() -> None:
    ruler = parse(annotation(EVERY_TOOL["ruler"][0]))
    text = parse(annotation(EVERY_TOOL["text"][0], body={"type": "TextualBody", "value": " a "}))
    comment = parse(annotation(EVERY_TOOL["point"][0], motivation="commenting", body=[label()]))
    assert ruler.motivation == "assessing"
    assert ruler.bodies == []
    assert text.motivation == "describing"
    assert text.bodies == [
        {"type": "TextualBody", "value": "a", "purpose": "describing", "format": "text/plain"}
    ]
    assert comment.motivation == "commenting"
    assert parse(annotation(EVERY_TOOL["polygon"][0])).motivation == "highlighting"


def test_server_set_members_sent_back_on_update_are_ignored() -> None:
    document = annotation(
        EVERY_TOOL["point"][0], id="urn:x", created="2024-01-01T00:00:00Z", creator={"id": "me"}
    )
    assert parse(document).shape.tool == "point"


# --- what is refused ---------------------------------------------------------------------

POINT = EVERY_TOOL["point"][0]

REFUSED_SELECTORS = {
    "far outside the image": svg('<circle cx="1500" cy="10" r="0" data-tool="point"/>'),
    "just beyond the margin": fragment("xywh=pixel:-1.5,0,10,10"),
    "ellipse sticking out": svg('<ellipse cx="990" cy="400" rx="50" ry="10"/>'),
    "NaN": svg('<ellipse cx="NaN" cy="400" rx="5" ry="5"/>'),
    "Infinity": svg('<line x1="Infinity" y1="1" x2="2" y2="2" data-tool="ruler"/>'),
    "overflowing exponent": svg('<polyline points="1e999,1 2,2"/>'),
    "units": svg('<ellipse cx="10px" cy="40" rx="5" ry="5"/>'),
    "polygon with 2 points": svg('<polygon points="1,1 5,5"/>'),
    "odd coordinate count": svg('<polygon points="1,1 5,5 7,7 8"/>'),
    "double comma": svg('<polygon points="1,1,,5,5 7,7"/>'),
    "too many polygon points": svg(
        '<polygon points="' + " ".join(f"{i % 900},{i % 700}" for i in range(2001)) + '"/>'
    ),
    "too many freehand points": svg(
        '<polyline points="' + " ".join(f"{i % 900},{i % 700}" for i in range(5001)) + '"/>'
    ),
    "oversized value": svg('<polyline points="' + "1 " * 100_001 + '"/>'),
    "script": svg("<script>alert(1)</script>"),
    "script beside a shape": svg('<circle cx="1" cy="1" r="0" data-tool="point"/><script/>'),
    "foreignObject": svg(
        '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml"/></foreignObject>'
    ),
    "href": svg('<polygon points="1,1 5,5 7,1" href="https://evil.example/"/>'),
    "xlink:href": svg(
        '<polygon xmlns:xlink="http://www.w3.org/1999/xlink" points="1,1 5,5 7,1"'
        ' xlink:href="javascript:alert(1)"/>'
    ),
    "onload": svg('<ellipse cx="10" cy="10" rx="5" ry="5" onload="alert(1)"/>'),
    "style with url": svg('<ellipse cx="10" cy="10" rx="5" ry="5" style="fill:url(#x)"/>'),
    "transform": svg('<ellipse cx="10" cy="10" rx="5" ry="5" transform="scale(9)"/>'),
    "viewBox on root": {
        "type": "SvgSelector",
        "value": f'<svg xmlns="{SVG}" viewBox="0 0 10 10"><ellipse cx="1" cy="1" rx="1" ry="1"/>'
        "</svg>",
    },
    "external entity": {
        "type": "SvgSelector",
        "value": '<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        f'<svg xmlns="{SVG}"><polygon points="&x;"/></svg>',
    },
    "entity bomb": {
        "type": "SvgSelector",
        "value": '<!DOCTYPE svg [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        f'<svg xmlns="{SVG}"><circle cx="1" cy="1" r="0" data-tool="point">&b;</circle></svg>',
    },
    "undeclared entity": svg('<polygon points="1,1 5,5 &x;"/>'),
    "processing instruction": {
        "type": "SvgSelector",
        "value": f'<?xml-stylesheet href="https://evil.example/x.xsl"?><svg xmlns="{SVG}"/>',
    },
    "not XML": svg("<ellipse"),
    "two shapes": svg(
        '<ellipse cx="10" cy="10" rx="5" ry="5"/><ellipse cx="9" cy="9" rx="5" ry="5"/>'
    ),
    "nested shape": svg('<ellipse cx="10" cy="10" rx="5" ry="5"><title>t</title></ellipse>'),
    "no shape": svg(""),
    "foreign namespace": {
        "type": "SvgSelector",
        "value": '<svg xmlns="urn:other"><ellipse cx="10" cy="10" rx="5" ry="5"/></svg>',
    },
    "circle without data-tool": svg('<circle cx="10" cy="10" r="0"/>'),
    "circle with a radius": svg('<circle cx="10" cy="10" r="4" data-tool="point"/>'),
    "mismatched data-tool": svg('<polyline points="1,1 2,2" data-tool="ruler"/>'),
    "line of zero length": svg('<line x1="5" y1="5" x2="5" y2="5" data-tool="ruler"/>'),
    "ellipse without radius": svg('<ellipse cx="10" cy="10" rx="0" ry="5"/>'),
    "missing attribute": svg('<line x1="5" y1="5" x2="9" data-tool="arrow"/>'),
    "percent fragment": fragment("xywh=percent:10,10,20,20"),
    "rectangle of zero width": fragment("xywh=pixel:10,10,0,20"),
    "malformed fragment": fragment("xywh=pixel:10,10,20"),
    "fragment with exponent": fragment("xywh=pixel:1e2,10,20,20"),
}


@pytest.mark.parametrize("case", sorted(REFUSED_SELECTORS))
def test_unsafe_or_invalid_selector_values_are_refused(case: str) -> None:
    errors = rejection(annotation(REFUSED_SELECTORS[case]))
    assert list(errors) == [VALUE]


@pytest.mark.parametrize(
    ("case", "rule"),
    [
        ("script", "The shape must be one of"),
        ("foreignObject", "The shape must be one of"),
        ("external entity", "DOCTYPE, ENTITY"),
        ("entity bomb", "DOCTYPE, ENTITY"),
        ("href", "may only have the attributes"),
        ("xlink:href", "may only have the attributes"),
        ("onload", "may only have the attributes"),
        ("style with url", "may only have the attributes"),
        ("two shapes", "exactly one shape"),
        ("polygon with 2 points", "at least 3 points"),
        ("too many polygon points", "at most 2000 points"),
        ("too many freehand points", "at most 5000 points"),
        ("NaN", "finite"),
        ("Infinity", "finite"),
        ("far outside the image", "within the image"),
        ("percent fragment", "Percent coordinates are not supported"),
    ],
)
def test_refusals_name_the_rule(case: str, rule: str) -> None:
    assert rule in rejection(annotation(REFUSED_SELECTORS[case]))[VALUE][0]


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (annotation(POINT, **{"@context": "https://schema.org/"}), "@context"),
        ({"type": "Annotation", "target": {"selector": POINT}}, "@context"),
        (annotation(POINT, type="Note"), "type"),
        (annotation(POINT, motivation="bookmarking"), "motivation"),
        (annotation(POINT, motivation=["tagging"]), "motivation"),
        (annotation(EVERY_TOOL["text"][0]), "body"),
        (annotation(EVERY_TOOL["text"][0], body=[]), "body"),
        (annotation(POINT, body=[label()] * 6), "body"),
        (annotation(POINT, body="a comment"), "body"),
        (annotation(POINT, body=[label("x" * 501)]), "body[0].value"),
        (annotation(POINT, body=[label(), label("  ")]), "body[1].value"),
        (annotation(POINT, body=[label("a\x00b")]), "body[0].value"),
        (annotation(POINT, body={**label(), "format": "text/html"}), "body.format"),
        (annotation(POINT, body={**label(), "purpose": "x"}), "body.purpose"),
        (annotation(POINT, body={"value": "no type"}), "body.type"),
        (annotation(POINT, motivaton="tagging"), "annotation"),
        (annotation({"type": "CssSelector", "value": "#x"}), "target.selector.type"),
        (annotation({"type": "SvgSelector", "value": 5}), VALUE),
        ({"@context": CONTEXT, "type": "Annotation", "target": "urn:photo"}, "target"),
        ({"@context": CONTEXT, "type": "Annotation", "target": {"source": "x"}}, "target.selector"),
    ],
)
def test_invalid_documents_are_refused_naming_the_field(
    document: dict[str, Any], field: str
) -> None:
    assert field in rejection(document)


def test_every_broken_field_is_reported_at_once() -> None:
    document = annotation(
        REFUSED_SELECTORS["percent fragment"], type="Note", motivation="x", body=[label("")]
    )
    document["@context"] = "x"
    assert set(rejection(document)) == {"@context", "type", "motivation", "body[0].value", VALUE}


def test_messages_name_rules_and_never_echo_what_was_sent() -> None:
    secret = "Jane Doe 1970-01-01"
    documents = [
        annotation(svg(f'<ellipse cx="10" cy="10" rx="5" ry="5" data-x="{secret}"/>')),
        annotation(svg(f"<text>{secret}</text>")),
        annotation(svg(f'<polygon points="1,1 {secret}"/>')),
        annotation(EVERY_TOOL["point"][0], motivation=secret, body=[label(secret * 30)]),
        annotation(fragment(f"xywh=pixel:{secret}")),
    ]
    for document in documents:
        with pytest.raises(ValidationFailed) as caught:
            parse(document)
        assert secret not in f"{caught.value.detail} {caught.value.errors}"


def test_a_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_annotation([], width=WIDTH, height=HEIGHT)  # type: ignore[arg-type]
    assert caught.value.errors == {"annotation": ["Must be a JSON object."]}


# --- measurements ------------------------------------------------------------------------


def shape_of(selector: dict[str, str]) -> Shape:
    return parse_selector(selector, width=WIDTH, height=HEIGHT)


def ruler(x1: float, y1: float, x2: float, y2: float) -> Shape:
    return shape_of(svg(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" data-tool="ruler"/>'))


TEN_MM_PER_100_PX = Calibration(line=(0, 0, 100, 0), length_mm=10)


def test_a_3_4_5_ruler_is_5_pixels() -> None:
    result = measure(ruler(10, 10, 13, 14), None)
    assert result is not None
    assert result.kind == "length"
    assert result.pixels == 5
    assert result.millimetres is None
    assert result.label == "5.0 px (uncalibrated)"


def test_a_calibrated_ruler_reads_in_millimetres() -> None:
    result = measure(ruler(100, 100, 150, 100), TEN_MM_PER_100_PX)
    assert result is not None
    assert result.millimetres == pytest.approx(5)
    assert result.label == "5.0 mm"


def test_a_calibrated_rectangle_reads_in_square_millimetres() -> None:
    result = measure(shape_of(fragment("xywh=pixel:0,0,10,20")), TEN_MM_PER_100_PX)
    assert result is not None
    assert (result.kind, result.pixels) == ("area", 200)
    assert result.millimetres == pytest.approx(2)
    assert result.label == "2.0 mm²"


def test_an_ellipse_area_is_pi_rx_ry() -> None:
    result = measure(shape_of(svg('<ellipse cx="500" cy="400" rx="30" ry="20"/>')), None)
    assert result is not None
    assert result.pixels == pytest.approx(math.pi * 600)
    assert result.label == "1,885 px² (uncalibrated)"


def test_a_polygon_area_is_the_same_in_either_drawing_direction() -> None:
    square = shape_of(svg('<polygon points="0,0 40,0 40,30 0,30"/>'))
    reversed_square = shape_of(svg('<polygon points="0,30 40,30 40,0 0,0"/>'))
    for shape in (square, reversed_square):
        result = measure(shape, None)
        assert result is not None
        assert result.pixels == 1200


def test_a_self_intersecting_polygon_reports_its_net_area() -> None:
    bow_tie = shape_of(svg('<polygon points="0,0 10,10 10,0 0,10"/>'))
    result = measure(bow_tie, None)
    assert result is not None
    assert result.pixels == 0


def test_freehand_measures_its_path_length() -> None:
    result = measure(shape_of(svg('<polyline points="0,0 3,4 3,14"/>')), None)
    assert result is not None
    assert (result.kind, result.pixels) == ("length", 15)


@pytest.mark.parametrize("tool", ["point", "text", "arrow"])
def test_markers_and_arrows_have_no_measurement(tool: str) -> None:
    assert measure(shape_of(EVERY_TOOL[tool][0]), TEN_MM_PER_100_PX) is None


@pytest.mark.parametrize(
    ("pixels", "text"),
    [(245.4, "245 px (uncalibrated)"), (12_345.6, "12,346 px (uncalibrated)"), (0.5, "0.50 px")],
)
def test_uncalibrated_labels_round_sensibly(pixels: float, text: str) -> None:
    result = measure(Shape("ruler", ((0, 0), (pixels, 0))), None)  # longer than the photo
    assert result is not None
    assert result.label.startswith(text)
    assert result.label.endswith("(uncalibrated)")


def test_calibrated_labels_round_sensibly() -> None:
    fine = Calibration(line=(0, 0, 1000, 0), length_mm=1)  # 0.001 mm per pixel
    short = measure(ruler(0, 0, 450, 0), fine)
    long = measure(ruler(0, 0, 123, 0), TEN_MM_PER_100_PX)
    assert short is not None
    assert long is not None
    assert (short.label, long.label) == ("0.45 mm", "12.3 mm")


# --- calibration -------------------------------------------------------------------------


def test_a_calibration_gives_millimetres_per_pixel() -> None:
    calibration = parse_calibration(
        {"line": [10, 10, 13, 14], "length_mm": 2}, width=WIDTH, height=HEIGHT
    )
    assert calibration.line == (10, 10, 13, 14)
    assert calibration.mm_per_pixel == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"line": [0, 0, 4, 0], "length_mm": 10}, "line"),
        ({"line": [0, 0, 100, 0], "length_mm": 0}, "length_mm"),
        ({"line": [0, 0, 100, 0], "length_mm": -3}, "length_mm"),
        ({"line": [0, 0, 100, 0], "length_mm": 1000.5}, "length_mm"),
        ({"line": [0, 0, 100, 0], "length_mm": float("nan")}, "length_mm"),
        ({"line": [0, 0, 100, 0], "length_mm": True}, "length_mm"),
        ({"line": [0, 0, 100, 0], "length_mm": "10"}, "length_mm"),
        ({"line": [0, 0, 100, 0]}, "length_mm"),
        ({"line": [0, 0, float("inf"), 0], "length_mm": 10}, "line"),
        ({"line": [0, 0, 10**400, 0], "length_mm": 10}, "line"),
        ({"line": [0, 0, 2000, 0], "length_mm": 10}, "line"),
        ({"line": [0, 0, 100], "length_mm": 10}, "line"),
        ({"line": [0, 0, 100, 0], "length_mm": 10, "unit": "cm"}, "calibration"),
    ],
)
def test_invalid_calibrations_are_refused(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_calibration(data, width=WIDTH, height=HEIGHT)
    assert caught.value.errors is not None
    assert field in caught.value.errors


def test_a_calibration_built_in_code_is_checked_too() -> None:
    with pytest.raises(ValidationFailed):
        Calibration(line=(0, 0, 3, 0), length_mm=10)
