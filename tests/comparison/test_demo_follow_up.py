"""The demo's follow-up case shows its baseline's lesion, so the comparison can align them."""

from __future__ import annotations

import io
import math

import pytest
from PIL import Image

from casebox.comparison.alignment import align
from casebox.demo import follow_up_photo, synthetic_lesion_photo


def test_the_demo_follow_up_aligns_onto_its_baseline_as_turned_and_closer() -> None:
    baseline = Image.open(io.BytesIO(synthetic_lesion_photo(1)))
    follow_up = Image.open(io.BytesIO(follow_up_photo(synthetic_lesion_photo(1))))
    found = align(baseline, baseline.size, follow_up, follow_up.size)
    (a, b, _), (c, d, _), _ = found.matrix
    assert math.hypot(a, c) == pytest.approx(1 / 1.12, abs=0.01)  # the follow-up is closer
    assert math.degrees(math.atan2(c, a)) == pytest.approx(4.0, abs=0.5)
    assert math.hypot(b, d) == pytest.approx(1 / 1.12, abs=0.01)
