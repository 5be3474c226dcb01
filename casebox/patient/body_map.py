"""The clickable body map of the intake's first step: front and back, one shape per site.

Coordinates are in a 200 x 400 box. On the front view the patient's right side is on
the viewer's left (as when facing someone); on the back view it is on the viewer's
right. Sites seen from both sides (shoulders, arms, legs, flanks) appear on both.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from casebox.cases.body_sites import BODY_SITES

REGION_LABELS = {
    "head": _l("Head"),
    "face": _l("Face"),
    "neck": _l("Neck"),
    "trunk front": _l("Chest and belly"),
    "trunk back": _l("Back and buttocks"),
    "trunk side": _l("Sides"),
    "groin": _l("Groin and genitals"),
    "arm": _l("Arms"),
    "hand": _l("Hands"),
    "leg": _l("Legs"),
    "foot": _l("Feet"),
    "nail": _l("Nails"),
}


@dataclass(frozen=True)
class MapShape:
    """One clickable rectangle of the map."""

    code: str
    x: int
    y: int
    width: int
    height: int

    @property
    def label(self) -> str:
        """The site's name, in the page's language."""
        return str(BODY_SITES[self.code].label)


def _mirror(pairs: list[tuple[str, int, int, int, int]]) -> list[MapShape]:
    """Shapes given for the viewer's left half, plus their mirror image for the other side."""
    shapes = []
    for code, x, y, width, height in pairs:
        shapes.append(MapShape(code, x, y, width, height))
        if code.startswith(("left_", "right_")):
            side, rest = code.split("_", 1)
            other = "right" if side == "left" else "left"
            shapes.append(MapShape(f"{other}_{rest}", 200 - x - width, y, width, height))
    return shapes


# Viewer's left on the front view is the patient's right.
FRONT: tuple[MapShape, ...] = (
    *_mirror(
        [
            ("forehead", 80, 14, 40, 16),
            ("right_temple", 70, 26, 10, 16),
            ("right_ear", 62, 34, 8, 18),
            ("nose", 94, 32, 12, 18),
            ("right_cheek", 80, 32, 14, 20),
            ("lips", 88, 52, 24, 8),
            ("chin", 88, 60, 24, 9),
            ("neck_front", 86, 70, 28, 14),
            ("chest", 76, 84, 48, 16),
            ("right_shoulder", 48, 84, 28, 16),
            ("right_breast", 72, 100, 28, 24),
            ("abdomen", 76, 124, 48, 44),
            ("right_flank", 64, 124, 12, 44),
            ("groin", 72, 168, 56, 12),
            ("genital", 88, 180, 24, 14),
            ("right_upper_arm", 44, 100, 24, 48),
            ("right_forearm", 38, 150, 22, 46),
            ("right_palm", 32, 198, 24, 26),
            ("fingernail", 30, 224, 14, 10),
            ("right_thigh", 70, 194, 28, 70),
            ("right_knee", 70, 264, 28, 18),
            ("right_lower_leg", 70, 282, 28, 80),
            ("right_foot_top", 64, 362, 34, 18),
            ("toenail", 64, 380, 16, 10),
        ]
    ),
)

# Viewer's left on the back view is the patient's left.
BACK: tuple[MapShape, ...] = (
    *_mirror(
        [
            ("scalp", 74, 12, 52, 46),
            ("neck_back", 86, 60, 28, 24),
            ("left_shoulder", 48, 84, 26, 16),
            ("upper_back", 74, 84, 52, 44),
            ("lower_back", 74, 128, 52, 36),
            ("left_flank", 62, 110, 12, 54),
            ("buttocks", 72, 164, 56, 32),
            ("left_upper_arm", 44, 100, 24, 44),
            ("left_elbow", 40, 144, 24, 14),
            ("left_forearm", 38, 158, 22, 40),
            ("left_hand_back", 32, 198, 24, 26),
            ("left_thigh", 70, 196, 28, 68),
            ("left_knee", 70, 264, 28, 18),
            ("left_lower_leg", 70, 282, 28, 80),
            ("left_sole", 68, 362, 30, 18),
        ]
    ),
)


def sites_by_region() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every site grouped by region, for the list beside the map."""
    regions: dict[str, list[tuple[str, str]]] = {}
    for site in BODY_SITES.values():
        regions.setdefault(site.region, []).append((site.code, str(site.label)))
    return [(str(REGION_LABELS.get(region, region)), sites) for region, sites in regions.items()]
