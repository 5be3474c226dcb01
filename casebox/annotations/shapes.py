"""Shapes drawn on photos: validate W3C Web Annotations, normalise them, measure them.

Pure core, no database, no Flask. Clients send a Web Annotation (W3C annotation model);
:func:`parse_annotation` checks it and returns the normalised parts the server stores
(tool, motivation, bodies, canonical selector). Coordinates are the photo's ORIGINAL
upright pixels: x in 0..width, y in 0..height, after EXIF rotation.

Selectors
    rectangle   FragmentSelector "xywh=pixel:X,Y,W,H" (or "xywh=X,Y,W,H"); W, H > 0.
                "percent:" is refused: the server stores pixels only.
    others      SvgSelector holding ``<svg>`` with exactly one shape element:
                ellipse (cx cy rx ry), polygon (3-2000 points), polyline = freehand
                (2-5000 points), circle r="0" = point or text marker, line = arrow (head at
                x2,y2) or ruler. ``data-tool`` is required on circle and line and must match
                the element when present elsewhere.

Rules chosen
    Numbers are finite decimals (SVG number syntax; no NaN, Infinity, units or percent)
    rounded to 0.01 px, which is finer than any photo needs and makes a round trip exact.
    Every coordinate may lie up to 1 px outside the image, to absorb rounding in viewers
    that scale the photo, and is then clamped onto the image; farther out is refused.
    A rectangle or ellipse is clamped the same way (corners, or radii shrunk to the edge).
    Lines need two different ends; a polygon's repeated closing vertex is dropped.
    SVG is parsed only after any "<!" (DOCTYPE, ENTITY, comment, CDATA) or "<?" has been
    refused, so no entity or external reference can reach the parser. Elements and
    attributes are whitelisted: geometry, data-tool and xmlns are kept; a few harmless
    presentation attributes (stroke, fill, ...) are accepted and dropped, since styling is
    the viewer's business; anything else (script, foreignObject, href, on*, style,
    transform, viewBox, ...) is refused. The stored value is re-serialised canonically.
    Error messages name the field and the rule, never the client's text.

Measurements (:func:`measure`)
    ruler: length; freehand: path length; rectangle, ellipse, polygon: area. Points, text
    labels and arrows are not measured. A polygon's area is the shoelace formula's absolute
    value: for a self-intersecting polygon that is the NET area, lobes drawn in opposite
    directions subtract (a symmetric figure eight gives about 0). Crossings are not
    detected here (an exact check is quadratic in up to 2000 vertices); the viewer should
    not let edges cross.
"""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET  # safe use: see _parse_xml
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, ParamSpec, TypeAlias, TypeVar

from casebox.errors import ValidationFailed

Tool = Literal["rectangle", "ellipse", "polygon", "freehand", "point", "text", "arrow", "ruler"]
Point: TypeAlias = tuple[float, float]

ANNOTATION_CONTEXT: Final = "http://www.w3.org/ns/anno.jsonld"
MEDIA_FRAGMENTS: Final = "http://www.w3.org/TR/media-frags/"
SVG_NAMESPACE: Final = "http://www.w3.org/2000/svg"

MOTIVATIONS: Final = frozenset({"highlighting", "commenting", "describing", "tagging", "assessing"})
BODY_PURPOSES: Final = frozenset({"commenting", "describing", "tagging", "assessing"})
DEFAULT_MOTIVATION: Final[dict[Tool, str]] = {
    "rectangle": "highlighting",
    "ellipse": "highlighting",
    "polygon": "highlighting",
    "freehand": "highlighting",
    "point": "highlighting",
    "arrow": "highlighting",
    "text": "describing",
    "ruler": "assessing",
}

MAX_SELECTOR_CHARS: Final = 200_000
MAX_FRAGMENT_CHARS: Final = 200
MAX_BODIES: Final = 5
MAX_BODY_CHARS: Final = 500
MARGIN_PX: Final = 1.0
DECIMALS: Final = 2
MIN_CALIBRATION_PX: Final = 5.0
MAX_CALIBRATION_MM: Final = 1000.0

# (fewest, most) points per tool; rectangle and ellipse keep their extent in Shape.size.
POINT_COUNTS: Final[dict[Tool, tuple[int, int]]] = {
    "rectangle": (1, 1),
    "ellipse": (1, 1),
    "polygon": (3, 2000),
    "freehand": (2, 5000),
    "point": (1, 1),
    "text": (1, 1),
    "arrow": (2, 2),
    "ruler": (2, 2),
}
_SIZED: Final = frozenset({"rectangle", "ellipse"})

# Server-set members a client may echo back on PUT; they are ignored, never trusted.
_SERVER_KEYS: Final = frozenset({"id", "created", "modified", "creator", "generator", "generated"})
_ANNOTATION_KEYS: Final = frozenset({"@context", "type", "motivation", "body", "target"})
_BODY_KEYS: Final = frozenset({"type", "value", "purpose", "format", "language"})
_TARGET_KEYS: Final = frozenset({"type", "source", "selector"})

_SELECTOR_VALUE: Final = "target.selector.value"

# SVG element -> the tools it can draw; the first is the default when data-tool is absent.
_ELEMENT_TOOLS: Final[dict[str, tuple[Tool, ...]]] = {
    "ellipse": ("ellipse",),
    "polygon": ("polygon",),
    "polyline": ("freehand",),
    "circle": ("point", "text"),
    "line": ("arrow", "ruler"),
}
_TOOL_ELEMENTS: Final[dict[Tool, str]] = {
    tool: element for element, tools in _ELEMENT_TOOLS.items() for tool in tools
}
_NEEDS_DATA_TOOL: Final = frozenset({"circle", "line"})
_GEOMETRY: Final[dict[str, tuple[str, ...]]] = {
    "ellipse": ("cx", "cy", "rx", "ry"),
    "polygon": ("points",),
    "polyline": ("points",),
    "circle": ("cx", "cy", "r"),
    "line": ("x1", "y1", "x2", "y2"),
}
# Accepted so that clients may send their DOM as drawn, but never stored: none can move
# the geometry, and dropping them means a url(...) in a paint value never reaches storage.
_PRESENTATION: Final = frozenset(
    {
        "fill",
        "fill-opacity",
        "stroke",
        "stroke-width",
        "stroke-opacity",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-dasharray",
        "opacity",
        "vector-effect",
    }
)

_WS = r"[ \t\r\n]*"
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_SVG_NUMBER = re.compile(rf"{_WS}({_NUMBER}){_WS}")
# One coordinate and an optional comma; scanned token by token so that a long points list
# cannot make the regular expression backtrack.
_POINTS_TOKEN = re.compile(rf"{_WS}({_NUMBER}){_WS}(,?)")
_DECIMAL = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_XYWH = re.compile(
    rf"xywh=(?:(pixel|percent):)?({_DECIMAL}),({_DECIMAL}),({_DECIMAL}),({_DECIMAL})"
)
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,4}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_P = ParamSpec("_P")
_T = TypeVar("_T")


@dataclass(frozen=True)
class Shape:
    """One annotation's geometry in the photo's original upright pixels.

    ``points``: rectangle its top-left corner; ellipse its centre; polygon and freehand
    their vertices in drawing order (a polygon closes itself); point and text the anchor;
    arrow and ruler (start, end), the arrow's head at the end.
    ``size``: rectangle (width, height); ellipse (rx, ry); None for every other tool.
    """

    tool: Tool
    points: tuple[Point, ...]
    size: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.tool not in POINT_COUNTS:
            raise ValueError("unknown tool")
        fewest, most = POINT_COUNTS[self.tool]
        if not fewest <= len(self.points) <= most:
            raise ValueError(f"a {self.tool} has {fewest}-{most} points")
        if (self.size is not None) != (self.tool in _SIZED):
            raise ValueError("size is given for rectangle and ellipse only")


@dataclass(frozen=True)
class ParsedAnnotation:
    """The validated, normalised parts of a client's annotation."""

    shape: Shape
    motivation: str
    bodies: list[dict[str, str]]
    selector: dict[str, str]


@dataclass(frozen=True)
class Calibration:
    """A known length drawn on the photo, which turns pixels into millimetres."""

    line: tuple[float, float, float, float]
    length_mm: float

    def __post_init__(self) -> None:
        errors = _calibration_errors(self.line, self.length_mm)
        if errors:
            raise ValidationFailed(_summary("calibration", errors), errors=errors)

    @property
    def pixels(self) -> float:
        """Length of the calibration line in original pixels."""
        x1, y1, x2, y2 = self.line
        return math.hypot(x2 - x1, y2 - y1)

    @property
    def mm_per_pixel(self) -> float:
        """Millimetres spanned by one original pixel."""
        return self.length_mm / self.pixels


@dataclass(frozen=True)
class Measurement:
    """A length or an area, in pixels and, once calibrated, in millimetres."""

    kind: Literal["length", "area"]
    pixels: float
    millimetres: float | None
    label: str


class _Invalid(Exception):
    """One broken rule at one field path; parse_* turn these into ValidationFailed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- annotations -------------------------------------------------------------------------


def parse_annotation(document: Mapping[str, Any], *, width: int, height: int) -> ParsedAnnotation:
    """Validate a client's Web Annotation for a width x height photo and normalise it."""
    _require_image_size(width, height)
    if not isinstance(document, Mapping):
        raise ValidationFailed(
            "The annotation must be a JSON object.",
            errors={"annotation": ["Must be a JSON object."]},
        )
    errors: dict[str, list[str]] = {}
    _collect(errors, _check_members, document)
    _collect(errors, _check_constant, document.get("@context"), "@context", ANNOTATION_CONTEXT)
    _collect(errors, _check_constant, document.get("type"), "type", "Annotation")
    shape = _collect(errors, _parse_target, document.get("target"), width, height)
    tool = shape.tool if shape else None
    motivation = _collect(errors, _parse_motivation, document.get("motivation"), tool)
    bodies = _collect(errors, _parse_bodies, document.get("body"), motivation)
    if tool == "text" and bodies == []:
        errors.setdefault("body", []).append("A text label needs a TextualBody with its text.")
    if errors or shape is None or motivation is None or bodies is None:
        raise ValidationFailed(_summary("annotation", errors), errors=errors)
    return ParsedAnnotation(shape, motivation, bodies, selector_of(shape))


def parse_selector(selector: Any, *, width: int, height: int) -> Shape:
    """Validate one W3C selector (as stored or sent) and return its normalised shape."""
    _require_image_size(width, height)
    try:
        return _parse_selector(selector, width, height)
    except _Invalid as invalid:
        errors = {invalid.field: [invalid.message]}
        raise ValidationFailed(_summary("annotation", errors), errors=errors) from None


def _check_members(document: Mapping[str, Any]) -> None:
    if not set(document) <= _ANNOTATION_KEYS | _SERVER_KEYS:
        raise _Invalid(
            "annotation",
            "Only @context, type, motivation, body and target may be sent "
            "(id, created, modified and creator are set by the server).",
        )


def _check_constant(value: Any, field: str, expected: str) -> None:
    if value != expected:
        raise _Invalid(field, f"Must be {expected}.")


def _parse_motivation(value: Any, tool: Tool | None) -> str | None:
    if value is None:
        return DEFAULT_MOTIVATION[tool] if tool else None
    if not isinstance(value, str) or value not in MOTIVATIONS:
        raise _Invalid("motivation", f"Must be one of: {', '.join(sorted(MOTIVATIONS))}.")
    return value


def _parse_target(target: Any, width: int, height: int) -> Shape:
    if not isinstance(target, Mapping):
        raise _Invalid("target", "Must be one object with a selector.")
    if not set(target) <= _TARGET_KEYS:
        raise _Invalid("target", "Only type, source and selector may be sent.")
    # The source is ignored: the server sets it from the photo the request addresses.
    if "selector" not in target:
        raise _Invalid("target.selector", "Required.")
    return _parse_selector(target["selector"], width, height)


# --- bodies ------------------------------------------------------------------------------


def _parse_bodies(value: Any, motivation: str | None) -> list[dict[str, str]]:
    if value is None:
        return []
    single = isinstance(value, Mapping)
    items = [value] if single else value
    if not isinstance(items, list):
        raise _Invalid("body", "Must be an object or a list of objects.")
    if len(items) > MAX_BODIES:
        raise _Invalid("body", f"At most {MAX_BODIES} bodies are allowed.")
    purpose = motivation if motivation in BODY_PURPOSES else "describing"
    return [
        _parse_body(item, "body" if single else f"body[{index}]", purpose)
        for index, item in enumerate(items)
    ]


def _parse_body(item: Any, path: str, default_purpose: str) -> dict[str, str]:
    if not isinstance(item, Mapping):
        raise _Invalid(path, "Must be an object.")
    if not set(item) <= _BODY_KEYS | _SERVER_KEYS:
        raise _Invalid(path, "Only type, value, purpose, format and language may be sent.")
    if item.get("type") != "TextualBody":
        raise _Invalid(f"{path}.type", "Must be TextualBody.")
    # Only plain text is stored, so a viewer can never be handed HTML to render.
    if item.get("format", "text/plain") != "text/plain":
        raise _Invalid(f"{path}.format", "Must be text/plain.")
    body = {
        "type": "TextualBody",
        "value": _body_text(item.get("value"), f"{path}.value"),
        "purpose": _body_purpose(item.get("purpose", default_purpose), f"{path}.purpose"),
        "format": "text/plain",
    }
    if "language" in item:
        body["language"] = _body_language(item["language"], f"{path}.language")
    return body


def _body_text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(field, "Must be text.")
    text = value.strip()
    if not 1 <= len(text) <= MAX_BODY_CHARS:
        raise _Invalid(field, f"Must have 1 to {MAX_BODY_CHARS} characters.")
    # NUL and lone surrogates cannot be stored in PostgreSQL text; other controls are noise.
    if _CONTROL.search(text) or not _encodable(text):
        raise _Invalid(field, "Must not contain control characters or invalid Unicode.")
    return text


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _body_purpose(value: Any, field: str) -> str:
    if not isinstance(value, str) or value not in BODY_PURPOSES:
        raise _Invalid(field, f"Must be one of: {', '.join(sorted(BODY_PURPOSES))}.")
    return value


def _body_language(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _LANGUAGE.fullmatch(value):
        raise _Invalid(field, "Must be a language tag such as en or de-CH.")
    return value


# --- selectors ---------------------------------------------------------------------------


def selector_of(shape: Shape) -> dict[str, str]:
    """Canonical W3C selector for a shape; parsing it gives the same shape back."""
    if shape.tool == "rectangle":
        (x, y), (w, h) = shape.points[0], _size(shape)
        return {
            "type": "FragmentSelector",
            "conformsTo": MEDIA_FRAGMENTS,
            "value": f"xywh=pixel:{_fmt(x)},{_fmt(y)},{_fmt(w)},{_fmt(h)}",
        }
    element = _TOOL_ELEMENTS[shape.tool]
    attributes = [*_svg_geometry(shape), ("data-tool", shape.tool)]
    # Values are formatted numbers and tool names: nothing needs escaping.
    rendered = " ".join(f'{name}="{value}"' for name, value in attributes)
    return {
        "type": "SvgSelector",
        "value": f'<svg xmlns="{SVG_NAMESPACE}"><{element} {rendered}/></svg>',
    }


def _svg_geometry(shape: Shape) -> list[tuple[str, str]]:
    first = shape.points[0]
    if shape.tool == "ellipse":
        rx, ry = _size(shape)
        return [("cx", _fmt(first[0])), ("cy", _fmt(first[1])), ("rx", _fmt(rx)), ("ry", _fmt(ry))]
    if shape.tool in ("polygon", "freehand"):
        return [("points", " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in shape.points))]
    if shape.tool in ("point", "text"):
        return [("cx", _fmt(first[0])), ("cy", _fmt(first[1])), ("r", "0")]
    (x1, y1), (x2, y2) = shape.points
    return [("x1", _fmt(x1)), ("y1", _fmt(y1)), ("x2", _fmt(x2)), ("y2", _fmt(y2))]


def _size(shape: Shape) -> tuple[float, float]:
    if shape.size is None:
        raise ValueError(f"a {shape.tool} needs a size")
    return shape.size


def _fmt(value: float) -> str:
    text = f"{value:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _parse_selector(selector: Any, width: int, height: int) -> Shape:
    if not isinstance(selector, Mapping):
        raise _Invalid("target.selector", "Must be one object (FragmentSelector or SvgSelector).")
    kind = selector.get("type")
    if kind == "FragmentSelector":
        return _parse_fragment(selector, width, height)
    if kind == "SvgSelector":
        return _parse_svg_selector(selector, width, height)
    raise _Invalid("target.selector.type", "Must be FragmentSelector or SvgSelector.")


def _parse_fragment(selector: Mapping[str, Any], width: int, height: int) -> Shape:
    if not set(selector) <= {"type", "conformsTo", "value"}:
        raise _Invalid("target.selector", "Only type, conformsTo and value may be sent.")
    if selector.get("conformsTo", MEDIA_FRAGMENTS) != MEDIA_FRAGMENTS:
        raise _Invalid("target.selector.conformsTo", f"Must be {MEDIA_FRAGMENTS}.")
    value = selector.get("value")
    if not isinstance(value, str) or len(value) > MAX_FRAGMENT_CHARS:
        raise _Invalid(_SELECTOR_VALUE, "Must be xywh=pixel:x,y,w,h.")
    match = _XYWH.fullmatch(value.strip())
    if match is None:
        raise _Invalid(_SELECTOR_VALUE, "Must be xywh=pixel:x,y,w,h with decimal numbers.")
    if match.group(1) == "percent":
        raise _Invalid(_SELECTOR_VALUE, "Percent coordinates are not supported; use pixel.")
    x, y, w, h = (_finite(float(text)) for text in match.group(2, 3, 4, 5))
    return _rectangle(x, y, w, h, width, height)


def _parse_svg_selector(selector: Mapping[str, Any], width: int, height: int) -> Shape:
    if not set(selector) <= {"type", "value"}:
        raise _Invalid("target.selector", "Only type and value may be sent.")
    value = selector.get("value")
    if not isinstance(value, str):
        raise _Invalid(_SELECTOR_VALUE, "Must be an SVG document as text.")
    if len(value) > MAX_SELECTOR_CHARS:
        raise _Invalid(_SELECTOR_VALUE, f"Must have at most {MAX_SELECTOR_CHARS} characters.")
    element = _single_shape(_parse_xml(value))
    name = _local_name(element.tag)
    tool = _tool_of(name, element.get("data-tool"))
    _check_attributes(element, name)
    return _SVG_READERS[name](element, tool, width, height)


def _parse_xml(value: str) -> ET.Element:
    # Refusing "<!" and "<?" before parsing keeps DOCTYPE, ENTITY (internal or external),
    # comments, CDATA and processing instructions away from the parser. Without a DTD,
    # expat expands only the five predefined entities and character references and fails
    # on any other entity, so neither entity bombs nor external fetches are possible.
    if "<!" in value or "<?" in value:
        raise _Invalid(
            _SELECTOR_VALUE,
            "DOCTYPE, ENTITY, comments, CDATA and processing instructions are not allowed.",
        )
    try:
        return ET.fromstring(value)  # noqa: S314  # no DTD can reach the parser, see above
    except (ET.ParseError, ValueError):  # ValueError: text with lone surrogates
        raise _Invalid(_SELECTOR_VALUE, "Must be well-formed SVG (XML).") from None


def _single_shape(root: ET.Element) -> ET.Element:
    namespace = _namespace(root.tag)
    if _local_name(root.tag) != "svg" or namespace not in ("", SVG_NAMESPACE):
        raise _Invalid(_SELECTOR_VALUE, "The root element must be svg (SVG namespace).")
    # No width, height or viewBox: the coordinates are the photo's pixels, unscaled.
    if root.attrib:
        raise _Invalid(_SELECTOR_VALUE, "The svg element may only declare its namespace.")
    children = list(root)
    if len(children) != 1:
        raise _Invalid(_SELECTOR_VALUE, "The svg must hold exactly one shape element.")
    shape = children[0]
    name = _local_name(shape.tag)
    if _namespace(shape.tag) != namespace or name not in _ELEMENT_TOOLS:
        raise _Invalid(
            _SELECTOR_VALUE, "The shape must be one of: ellipse, polygon, polyline, circle, line."
        )
    if len(shape) or _has_text(root.text, shape.text, shape.tail):
        raise _Invalid(_SELECTOR_VALUE, "The shape element may not hold text or other elements.")
    return shape


def _has_text(*texts: str | None) -> bool:
    return any(text and text.strip() for text in texts)


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _tool_of(element: str, data_tool: str | None) -> Tool:
    tools = _ELEMENT_TOOLS[element]
    if data_tool is None and element not in _NEEDS_DATA_TOOL:
        return tools[0]
    for tool in tools:
        if tool == data_tool:
            return tool
    raise _Invalid(_SELECTOR_VALUE, f"The {element} needs data-tool {' or '.join(tools)}.")


def _check_attributes(element: ET.Element, name: str) -> None:
    geometry = _GEOMETRY[name]
    for attribute in element.attrib:
        if attribute not in (*geometry, "data-tool") and attribute not in _PRESENTATION:
            raise _Invalid(
                _SELECTOR_VALUE,
                f"The {name} may only have the attributes {', '.join(geometry)}, data-tool "
                "and plain presentation attributes (stroke, fill, ...).",
            )
    missing = [attribute for attribute in geometry if attribute not in element.attrib]
    if missing:
        raise _Invalid(_SELECTOR_VALUE, f"The {name} needs the attributes {', '.join(geometry)}.")


def _numbers(element: ET.Element, *names: str) -> list[float]:
    return [_svg_number(element.get(name, "")) for name in names]


def _svg_number(text: str) -> float:
    match = _SVG_NUMBER.fullmatch(text)
    if match is None:
        raise _Invalid(
            _SELECTOR_VALUE, "Coordinates must be finite plain numbers (no NaN, Infinity or units)."
        )
    return _finite(float(match.group(1)))


def _finite(value: float, field: str = _SELECTOR_VALUE) -> float:
    if not math.isfinite(value):
        raise _Invalid(field, "Numbers must be finite.")
    return value


def _read_ellipse(element: ET.Element, tool: Tool, width: int, height: int) -> Shape:
    cx, cy, rx, ry = _numbers(element, "cx", "cy", "rx", "ry")
    return _ellipse(cx, cy, rx, ry, width, height)


def _read_vertices(element: ET.Element, tool: Tool, width: int, height: int) -> Shape:
    fewest, most = POINT_COUNTS[tool]
    numbers = _points_numbers(element.get("points", ""), most * 2, tool)
    if len(numbers) % 2:
        raise _Invalid(_SELECTOR_VALUE, "Every point needs an x and a y.")
    points = [
        _place(numbers[i], numbers[i + 1], width, height, _SELECTOR_VALUE)
        for i in range(0, len(numbers), 2)
    ]
    # SVG closes a polygon itself; a repeated first vertex would only add a zero-length edge.
    if tool == "polygon" and len(points) > 1 and points[0] == points[-1]:
        points.pop()
    if len(points) < fewest:
        raise _Invalid(_SELECTOR_VALUE, f"The {tool} needs at least {fewest} points.")
    return Shape(tool, tuple(points))


def _points_numbers(text: str, most: int, tool: Tool) -> list[float]:
    text = text.strip(" \t\r\n")
    numbers: list[float] = []
    position = 0
    while position < len(text):
        match = _POINTS_TOKEN.match(text, position)
        if match is None or (match.group(2) and match.end() == len(text)):
            raise _Invalid(_SELECTOR_VALUE, "Points must be numbers separated by commas or spaces.")
        if len(numbers) == most:
            raise _Invalid(_SELECTOR_VALUE, f"The {tool} may have at most {most // 2} points.")
        numbers.append(_finite(float(match.group(1))))
        position = match.end()
    return numbers


def _read_marker(element: ET.Element, tool: Tool, width: int, height: int) -> Shape:
    cx, cy, r = _numbers(element, "cx", "cy", "r")
    if r != 0:
        raise _Invalid(_SELECTOR_VALUE, 'A point or text marker is a circle with r="0".')
    return Shape(tool, (_place(cx, cy, width, height, _SELECTOR_VALUE),))


def _read_line(element: ET.Element, tool: Tool, width: int, height: int) -> Shape:
    x1, y1, x2, y2 = _numbers(element, "x1", "y1", "x2", "y2")
    start = _place(x1, y1, width, height, _SELECTOR_VALUE)
    end = _place(x2, y2, width, height, _SELECTOR_VALUE)
    if start == end:
        raise _Invalid(_SELECTOR_VALUE, f"The {tool} needs two different ends.")
    return Shape(tool, (start, end))


_SVG_READERS: Final[dict[str, Callable[[ET.Element, Tool, int, int], Shape]]] = {
    "ellipse": _read_ellipse,
    "polygon": _read_vertices,
    "polyline": _read_vertices,
    "circle": _read_marker,
    "line": _read_line,
}


# --- geometry in the image ---------------------------------------------------------------


def _rectangle(x: float, y: float, w: float, h: float, width: int, height: int) -> Shape:
    if w <= 0 or h <= 0:
        raise _Invalid(_SELECTOR_VALUE, "Width and height must be greater than 0.")
    x1, y1 = _place(x, y, width, height, _SELECTOR_VALUE)
    x2, y2 = _place(x + w, y + h, width, height, _SELECTOR_VALUE)
    size = (round(x2 - x1, DECIMALS), round(y2 - y1, DECIMALS))
    if min(size) <= 0:
        raise _Invalid(_SELECTOR_VALUE, "The rectangle must cover part of the image.")
    return Shape("rectangle", ((x1, y1),), size)


def _ellipse(cx: float, cy: float, rx: float, ry: float, width: int, height: int) -> Shape:
    if rx <= 0 or ry <= 0:
        raise _Invalid(_SELECTOR_VALUE, "An ellipse's radii must be greater than 0.")
    # The bounding box must be within the margin; the radii then shrink onto the image.
    _place(cx - rx, cy - ry, width, height, _SELECTOR_VALUE)
    _place(cx + rx, cy + ry, width, height, _SELECTOR_VALUE)
    x, y = _place(cx, cy, width, height, _SELECTOR_VALUE)
    radii = (
        round(min(rx, x, width - x), DECIMALS),
        round(min(ry, y, height - y), DECIMALS),
    )
    if min(radii) <= 0:
        raise _Invalid(_SELECTOR_VALUE, "The ellipse must cover part of the image.")
    return Shape("ellipse", ((x, y),), radii)


def _place(x: float, y: float, width: int, height: int, field: str) -> Point:
    """Round a point to 0.01 px, refuse it beyond the margin, clamp it onto the image."""
    return (_coordinate(x, width, field), _coordinate(y, height, field))


def _coordinate(value: float, limit: int, field: str) -> float:
    value = round(_finite(value, field), DECIMALS)
    if not -MARGIN_PX <= value <= limit + MARGIN_PX:
        raise _Invalid(field, "Coordinates must lie within the image (1 px margin).")
    return min(max(value, 0.0), float(limit)) + 0.0  # + 0.0 turns -0.0 into 0.0


def _require_image_size(width: int, height: int) -> None:
    for value in (width, height):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError("width and height must be positive integers")


# --- calibration -------------------------------------------------------------------------


def parse_calibration(data: Mapping[str, Any], *, width: int, height: int) -> Calibration:
    """Validate {"line": [x1, y1, x2, y2], "length_mm": n} for a width x height photo."""
    _require_image_size(width, height)
    if not isinstance(data, Mapping) or not set(data) <= {"line", "length_mm"}:
        raise ValidationFailed(
            "The calibration is not valid. Check: calibration.",
            errors={"calibration": ["Must be an object with line and length_mm only."]},
        )
    errors: dict[str, list[str]] = {}
    line = _collect(errors, _calibration_line, data.get("line"), width, height)
    length_mm = _collect(errors, _json_number, data.get("length_mm"), "length_mm")
    if line is not None and length_mm is not None:
        errors.update(_calibration_errors(line, length_mm))
    if errors or line is None or length_mm is None:
        raise ValidationFailed(_summary("calibration", errors), errors=errors)
    return Calibration(line, length_mm)


def _calibration_line(value: Any, width: int, height: int) -> tuple[float, float, float, float]:
    if not isinstance(value, list | tuple) or len(value) != 4:
        raise _Invalid("line", "Must be [x1, y1, x2, y2].")
    x1, y1, x2, y2 = (_json_number(number, "line") for number in value)
    (a, b), (c, d) = _place(x1, y1, width, height, "line"), _place(x2, y2, width, height, "line")
    return (a, b, c, d)


def _json_number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(field, "Must be a number.")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range
        raise _Invalid(field, "Numbers must be finite.") from None
    return _finite(number, field)


def _calibration_errors(
    line: tuple[float, float, float, float], length_mm: float
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not all(math.isfinite(value) for value in line):
        errors["line"] = ["Numbers must be finite."]
    elif math.hypot(line[2] - line[0], line[3] - line[1]) < MIN_CALIBRATION_PX:
        errors["line"] = [f"Must be at least {MIN_CALIBRATION_PX:g} px long."]
    if not (math.isfinite(length_mm) and 0 < length_mm <= MAX_CALIBRATION_MM):
        errors["length_mm"] = [f"Must be greater than 0 and at most {MAX_CALIBRATION_MM:g}."]
    return errors


# --- measurements ------------------------------------------------------------------------


def measure(shape: Shape, calibration: Calibration | None) -> Measurement | None:
    """Length of a ruler or freehand line, area of a closed shape; None for markers."""
    if shape.tool in ("ruler", "freehand"):
        return _measurement("length", _path_length(shape.points), calibration)
    if shape.tool in ("rectangle", "ellipse"):
        a, b = _size(shape)
        area = a * b if shape.tool == "rectangle" else math.pi * a * b
        return _measurement("area", area, calibration)
    if shape.tool == "polygon":
        return _measurement("area", _shoelace(shape.points), calibration)
    return None


def _path_length(points: tuple[Point, ...]) -> float:
    return sum(math.dist(a, b) for a, b in itertools.pairwise(points))


def _shoelace(points: tuple[Point, ...]) -> float:
    # Net area: see the module docstring for self-intersecting polygons.
    closed = zip(points, points[1:] + points[:1], strict=True)
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in closed)) / 2


def _measurement(
    kind: Literal["length", "area"], pixels: float, calibration: Calibration | None
) -> Measurement:
    square = "²" if kind == "area" else ""
    if calibration is None:
        return Measurement(kind, pixels, None, f"{_figure(pixels)} px{square} (uncalibrated)")
    scale = calibration.mm_per_pixel ** (2 if kind == "area" else 1)
    millimetres = pixels * scale
    return Measurement(kind, pixels, millimetres, f"{_figure(millimetres)} mm{square}")


def _figure(value: float) -> str:
    """About three significant figures: 0.45, 12.3, 1,234."""
    if value >= 99.95:
        return f"{value:,.0f}"
    if value >= 0.995:
        return f"{value:.1f}"
    return f"{value:.2f}"


# --- errors ------------------------------------------------------------------------------


def _collect(
    errors: dict[str, list[str]],
    parse: Callable[_P, _T],
    *args: _P.args,
    **kwargs: _P.kwargs,
) -> _T | None:
    """Run one independent check; record its broken rule so all fields are reported."""
    try:
        return parse(*args, **kwargs)
    except _Invalid as invalid:
        errors.setdefault(invalid.field, []).append(invalid.message)
        return None


def _summary(what: str, errors: Mapping[str, list[str]]) -> str:
    return f"The {what} is not valid. Check: {', '.join(sorted(errors))}."
