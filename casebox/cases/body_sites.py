"""Body sites a patient may choose, each with the coarse location the lesion model uses.

The lesion model (HAM10000-trained) knows four locations: arm, head or neck,
leg or genital, and trunk. Hands count as arm and feet as leg, as in the
training data's "upper/lower extremity" and "acral" sites.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ModelLocation(enum.StrEnum):
    """The lesion model's coarse anatomical locations."""

    ARM = "arm"
    HEAD_OR_NECK = "head_or_neck"
    LEG_OR_GENITAL = "leg_or_genital"
    TRUNK = "trunk"


@dataclass(frozen=True)
class BodySite:
    """One choosable site."""

    code: str
    label: str
    region: str
    side: str | None
    model_location: ModelLocation


def _site(code: str, label: str, region: str, location: ModelLocation) -> BodySite:
    side = code.split("_", 1)[0] if code.startswith(("left_", "right_")) else None
    return BodySite(code, label, region, side, location)


_H, _A, _T, _L = (
    ModelLocation.HEAD_OR_NECK,
    ModelLocation.ARM,
    ModelLocation.TRUNK,
    ModelLocation.LEG_OR_GENITAL,
)

BODY_SITES: dict[str, BodySite] = {
    site.code: site
    for site in [
        _site("scalp", "Scalp", "head", _H),
        _site("forehead", "Forehead", "head", _H),
        _site("left_temple", "Left temple", "head", _H),
        _site("right_temple", "Right temple", "head", _H),
        _site("left_ear", "Left ear", "head", _H),
        _site("right_ear", "Right ear", "head", _H),
        _site("nose", "Nose", "face", _H),
        _site("left_cheek", "Left cheek", "face", _H),
        _site("right_cheek", "Right cheek", "face", _H),
        _site("lips", "Lips", "face", _H),
        _site("chin", "Chin", "face", _H),
        _site("neck_front", "Front of neck", "neck", _H),
        _site("neck_back", "Back of neck", "neck", _H),
        _site("chest", "Chest", "trunk front", _T),
        _site("left_breast", "Left breast", "trunk front", _T),
        _site("right_breast", "Right breast", "trunk front", _T),
        _site("abdomen", "Abdomen", "trunk front", _T),
        _site("upper_back", "Upper back", "trunk back", _T),
        _site("lower_back", "Lower back", "trunk back", _T),
        _site("left_flank", "Left flank", "trunk side", _T),
        _site("right_flank", "Right flank", "trunk side", _T),
        _site("buttocks", "Buttocks", "trunk back", _T),
        _site("genital", "Genital area", "groin", _L),
        _site("groin", "Groin", "groin", _L),
        _site("left_shoulder", "Left shoulder", "arm", _A),
        _site("right_shoulder", "Right shoulder", "arm", _A),
        _site("left_upper_arm", "Left upper arm", "arm", _A),
        _site("right_upper_arm", "Right upper arm", "arm", _A),
        _site("left_elbow", "Left elbow", "arm", _A),
        _site("right_elbow", "Right elbow", "arm", _A),
        _site("left_forearm", "Left forearm", "arm", _A),
        _site("right_forearm", "Right forearm", "arm", _A),
        _site("left_hand_back", "Back of left hand", "hand", _A),
        _site("right_hand_back", "Back of right hand", "hand", _A),
        _site("left_palm", "Left palm", "hand", _A),
        _site("right_palm", "Right palm", "hand", _A),
        _site("left_thigh", "Left thigh", "leg", _L),
        _site("right_thigh", "Right thigh", "leg", _L),
        _site("left_knee", "Left knee", "leg", _L),
        _site("right_knee", "Right knee", "leg", _L),
        _site("left_lower_leg", "Left lower leg", "leg", _L),
        _site("right_lower_leg", "Right lower leg", "leg", _L),
        _site("left_foot_top", "Top of left foot", "foot", _L),
        _site("right_foot_top", "Top of right foot", "foot", _L),
        _site("left_sole", "Left sole", "foot", _L),
        _site("right_sole", "Right sole", "foot", _L),
        _site("fingernail", "Fingernail", "nail", _A),
        _site("toenail", "Toenail", "nail", _L),
    ]
}
