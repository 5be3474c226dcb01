"""Body sites a patient may choose, each with the coarse location the lesion model uses.

The lesion model (HAM10000-trained) knows four locations: arm, head or neck,
leg or genital, and trunk. Hands count as arm and feet as leg, as in the
training data's "upper/lower extremity" and "acral" sites.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from casebox.i18n import N_, gettext


class ModelLocation(enum.StrEnum):
    """The lesion model's coarse anatomical locations."""

    ARM = "arm"
    HEAD_OR_NECK = "head_or_neck"
    LEG_OR_GENITAL = "leg_or_genital"
    TRUNK = "trunk"


@dataclass(frozen=True)
class BodySite:
    """One choosable site; its name is English in ``english_label``, translated in ``label``."""

    code: str
    english_label: str
    region: str
    side: str | None
    model_location: ModelLocation

    @property
    def label(self) -> str:
        """The name in the language of the current request (English outside one)."""
        return gettext(self.english_label)


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
        _site("scalp", N_("Scalp"), "head", _H),
        _site("forehead", N_("Forehead"), "head", _H),
        _site("left_temple", N_("Left temple"), "head", _H),
        _site("right_temple", N_("Right temple"), "head", _H),
        _site("left_ear", N_("Left ear"), "head", _H),
        _site("right_ear", N_("Right ear"), "head", _H),
        _site("nose", N_("Nose"), "face", _H),
        _site("left_cheek", N_("Left cheek"), "face", _H),
        _site("right_cheek", N_("Right cheek"), "face", _H),
        _site("lips", N_("Lips"), "face", _H),
        _site("chin", N_("Chin"), "face", _H),
        _site("neck_front", N_("Front of neck"), "neck", _H),
        _site("neck_back", N_("Back of neck"), "neck", _H),
        _site("chest", N_("Chest"), "trunk front", _T),
        _site("left_breast", N_("Left breast"), "trunk front", _T),
        _site("right_breast", N_("Right breast"), "trunk front", _T),
        _site("abdomen", N_("Abdomen"), "trunk front", _T),
        _site("upper_back", N_("Upper back"), "trunk back", _T),
        _site("lower_back", N_("Lower back"), "trunk back", _T),
        _site("left_flank", N_("Left flank"), "trunk side", _T),
        _site("right_flank", N_("Right flank"), "trunk side", _T),
        _site("buttocks", N_("Buttocks"), "trunk back", _T),
        _site("genital", N_("Genital area"), "groin", _L),
        _site("groin", N_("Groin"), "groin", _L),
        _site("left_shoulder", N_("Left shoulder"), "arm", _A),
        _site("right_shoulder", N_("Right shoulder"), "arm", _A),
        _site("left_upper_arm", N_("Left upper arm"), "arm", _A),
        _site("right_upper_arm", N_("Right upper arm"), "arm", _A),
        _site("left_elbow", N_("Left elbow"), "arm", _A),
        _site("right_elbow", N_("Right elbow"), "arm", _A),
        _site("left_forearm", N_("Left forearm"), "arm", _A),
        _site("right_forearm", N_("Right forearm"), "arm", _A),
        _site("left_hand_back", N_("Back of left hand"), "hand", _A),
        _site("right_hand_back", N_("Back of right hand"), "hand", _A),
        _site("left_palm", N_("Left palm"), "hand", _A),
        _site("right_palm", N_("Right palm"), "hand", _A),
        _site("left_thigh", N_("Left thigh"), "leg", _L),
        _site("right_thigh", N_("Right thigh"), "leg", _L),
        _site("left_knee", N_("Left knee"), "leg", _L),
        _site("right_knee", N_("Right knee"), "leg", _L),
        _site("left_lower_leg", N_("Left lower leg"), "leg", _L),
        _site("right_lower_leg", N_("Right lower leg"), "leg", _L),
        _site("left_foot_top", N_("Top of left foot"), "foot", _L),
        _site("right_foot_top", N_("Top of right foot"), "foot", _L),
        _site("left_sole", N_("Left sole"), "foot", _L),
        _site("right_sole", N_("Right sole"), "foot", _L),
        _site("fingernail", N_("Fingernail"), "nail", _A),
        _site("toenail", N_("Toenail"), "nail", _L),
    ]
}
