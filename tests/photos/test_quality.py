"""The photo quality gate: what a patient is told about the photo they just took."""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import math
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from casebox.errors import ConfigurationError
from casebox.photos.quality import (
    QualityReport,
    QualityThresholds,
    assess_quality,
    judge,
    skin_mask,
)
from tests.photos import imagefactory as factory

PHONE = (4032, 3024)  # the original size of a typical phone photo
WORKING = (1024, 768)  # the size the gate measures sharpness at
REVIEW = (2048, 1536)  # the largest review image
THRESHOLDS = QualityThresholds()
# Monk Skin Tone scale 1-10 (Google, CC BY 4.0) and two Fitzpatrick V-VI tones.
MONK_TONES = (
    (0xF6, 0xED, 0xE4),
    (0xF3, 0xE7, 0xDB),
    (0xF7, 0xEA, 0xD0),
    (0xEA, 0xDA, 0xBA),
    (0xD7, 0xBD, 0x96),
    (0xA0, 0x7E, 0x56),
    (0x82, 0x5C, 0x43),
    (0x60, 0x41, 0x34),
    (0x3A, 0x31, 0x2A),
    (0x29, 0x24, 0x20),
)
DEEP_SKIN = ((90, 60, 45), (60, 40, 30))


# --------------------------------------------------------------------------- pictures


@functools.cache
def _texture(seed: int = 0) -> np.ndarray:
    """A luminance factor around 1 at working size: grain at every scale, pores, hairs."""
    rng = np.random.default_rng(seed)
    width, height = WORKING
    factor = np.ones((height, width), np.float32)
    # Similar contrast at every scale, as in natural images; the finest grain is weaker,
    # as after a phone's noise reduction.
    for octave, contrast in enumerate((0.02, 0.05, 0.05, 0.05, 0.05)):
        small = (max(1, width >> octave), max(1, height >> octave))
        grain = rng.standard_normal((small[1], small[0])).astype(np.float32)
        layer = Image.fromarray(grain, "F").resize(WORKING, Image.Resampling.BICUBIC)
        factor += contrast * np.asarray(layer, np.float32)
    marks = Image.new("L", WORKING, 255)
    draw = ImageDraw.Draw(marks)
    for x, y in rng.integers(0, (width, height), (4000, 2)):
        draw.ellipse((x - 1, y - 1, x + 1, y + 1), fill=180)  # pores
    for x, y, r in rng.integers((0, 0, 2), (width, height, 6), (600, 3)):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=190)  # freckles
    for x, y, dx, dy, w in rng.integers((0, 0, -40, -40, 1), (width, height, 40, 40, 3), (200, 5)):
        draw.line((x, y, x + dx, y + dy), fill=110, width=w)  # hairs
    return factor * np.asarray(marks, np.float32) / 255


def skin_photo(
    colour: tuple[int, int, int] = factory.SKIN,
    *,
    blur: float = 0.0,
    size: tuple[int, int] = WORKING,
    seed: int = 0,
) -> Image.Image:
    """A textured skin close-up with a lesion, blurred by ``blur`` working-size pixels."""
    pixels = np.asarray(colour, np.float32) * _texture(seed)[..., None]
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    cx, cy = WORKING[0] // 2, WORKING[1] // 2
    outline = [
        (cx + 90 * math.cos(a) * (1 + 0.2 * math.sin(3 * a)), cy + 70 * math.sin(a))
        for a in np.linspace(0, 2 * math.pi, 40)
    ]
    draw.polygon(outline, fill=(colour[0] // 2, colour[1] // 2, colour[2] // 2))
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    return _as_review(image, size)


def _as_review(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The picture at review size, stored as the review derivative is (JPEG q88, 4:4:4)."""
    if image.size != size:
        image = image.resize(size, Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88, subsampling=0)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def scene(colour: tuple[int, int, int], seed: int = 1) -> Image.Image:
    """A textured surface of one colour with sensor-like noise in every channel."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 14, (WORKING[1], WORKING[0], 3))
    pixels = (np.asarray(colour, np.float32) + noise).clip(0, 255).astype(np.uint8)
    return _as_review(Image.fromarray(pixels), WORKING)


def _assess(image: Image.Image, original_size: tuple[int, int] = PHONE) -> QualityReport:
    return assess_quality(image, original_size=original_size, thresholds=THRESHOLDS)


def _codes(report: QualityReport) -> dict[str, str]:
    return {reason.code: reason.severity for reason in report.reasons}


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("size", [WORKING, REVIEW], ids=["1024", "2048"])
def test_sharp_well_exposed_skin_photo_is_ready(size: tuple[int, int]) -> None:
    report = _assess(skin_photo(size=size))
    assert report.verdict == "ready"
    assert report.reasons == []


@pytest.mark.parametrize(
    "colour", [factory.SKIN, *DEEP_SKIN], ids=["light", "fitzpatrick-V", "fitzpatrick-VI"]
)
def test_stronger_and_stronger_blur_ends_rejected_as_blurred(
    colour: tuple[int, int, int],
) -> None:
    sigmas = (0, 0.5, 0.7, 1, 1.5, 2, 3, 4)
    reports = [_assess(skin_photo(colour, blur=sigma)) for sigma in sigmas]
    scores = [report.metrics["sharpness"] for report in reports]
    assert scores == sorted(scores, reverse=True)
    verdicts = [report.verdict for report in reports]
    assert verdicts[0] == "ready"
    assert verdicts[-1] == "rejected"
    # Once a photo is blurred enough to be rejected, more blur keeps it rejected.
    first = verdicts.index("rejected")
    assert set(verdicts[first:]) == {"rejected"}
    (reason,) = reports[-1].reasons
    assert (reason.code, reason.severity) == ("blurred", "reject")
    assert reason.message.startswith("The photo is blurred: hold the phone steady")


def test_slight_blur_warns_without_rejecting() -> None:
    report = _assess(skin_photo(blur=0.7))
    assert report.verdict == "warning"
    assert _codes(report) == {"blurred": "warn"}
    assert "you can send it" in report.reasons[0].message


def test_mostly_white_photo_is_rejected_as_overexposed() -> None:
    image = skin_photo()
    ImageDraw.Draw(image).rectangle((0, 0, image.width, image.height * 3 // 4), fill="white")
    report = _assess(image)
    assert report.verdict == "rejected"
    assert _codes(report)["overexposed"] == "reject"
    assert "too bright" in report.reasons[0].message


def test_mostly_black_photo_is_rejected_as_underexposed() -> None:
    image = skin_photo()
    ImageDraw.Draw(image).rectangle((0, 0, image.width, image.height * 3 // 4), fill="black")
    report = _assess(image)
    assert report.verdict == "rejected"
    assert _codes(report)["underexposed"] == "reject"
    assert "too dark" in report.reasons[0].message


def test_flash_glare_on_part_of_the_photo_only_warns() -> None:
    image = skin_photo()
    ImageDraw.Draw(image).ellipse((50, 50, 350, 300), fill="white")  # about 7.5 %
    report = _assess(image)
    assert report.verdict == "warning"
    assert _codes(report) == {"overexposed": "warn"}


@pytest.mark.parametrize("original_size", [(640, 480), (480, 640)], ids=["landscape", "portrait"])
def test_640x480_original_is_flagged_too_small(original_size: tuple[int, int]) -> None:
    report = _assess(skin_photo(size=original_size), original_size)
    assert _codes(report) == {"too_small": "warn"}
    assert report.verdict == "warning"
    assert "original photo from your camera" in report.reasons[0].message


def test_thumbnail_sized_original_is_rejected_as_too_small() -> None:
    report = _assess(skin_photo(size=(320, 240)), (320, 240))
    assert _codes(report)["too_small"] == "reject"
    assert report.verdict == "rejected"


@pytest.mark.parametrize("original_size", [(800, 600), (600, 800)], ids=["landscape", "portrait"])
def test_minimum_size_in_either_orientation_is_enough(original_size: tuple[int, int]) -> None:
    report = _assess(skin_photo(size=original_size), original_size)
    assert "too_small" not in _codes(report)


@pytest.mark.parametrize("colour", [(60, 110, 190), (70, 140, 60)], ids=["blue", "green"])
def test_photo_without_skin_is_rejected_as_no_skin(colour: tuple[int, int, int]) -> None:
    report = _assess(scene(colour))
    assert report.verdict == "rejected"
    assert [reason.code for reason in report.reasons] == ["no_skin"]
    assert report.reasons[0].message.startswith("We could not find skin in this photo")


@pytest.mark.parametrize("colour", DEEP_SKIN, ids=["fitzpatrick-V", "fitzpatrick-VI"])
def test_dark_skin_is_ready_not_flagged_as_no_skin_or_dark(colour: tuple[int, int, int]) -> None:
    report = _assess(skin_photo(colour))
    assert report.metrics["skin_fraction"] > 0.8
    assert report.verdict == "ready", report.reasons


@pytest.mark.parametrize("colour", DEEP_SKIN, ids=["fitzpatrick-V", "fitzpatrick-VI"])
def test_dark_skin_scores_as_sharp_as_light_skin(colour: tuple[int, int, int]) -> None:
    light = _assess(skin_photo()).metrics["sharpness"]
    dark = _assess(skin_photo(colour)).metrics["sharpness"]
    assert 0.5 < dark / light < 2


@pytest.mark.parametrize("tone", range(1, 11), ids=lambda tone: f"monk-{tone}")
def test_skin_rule_covers_every_monk_skin_tone(tone: int) -> None:
    noise = np.random.default_rng(tone).normal(0, 3, (384, 512, 3))  # sensor noise
    pixels = (np.asarray(MONK_TONES[tone - 1]) + noise).round().clip(0, 255).astype(np.uint8)
    assert skin_mask(pixels).mean() > 0.95


def test_sharp_lesion_on_slightly_soft_background_stays_ready() -> None:
    soft = skin_photo(blur=1.5)
    sharp = skin_photo()
    width, height = WORKING
    centre = (width // 4, height // 4, width * 3 // 4, height * 3 // 4)
    soft.paste(sharp.crop(centre), centre[:2])
    assert _assess(soft).verdict == "ready"
    # The same soft background alone would not be ready.
    assert _codes(_assess(skin_photo(blur=1.5))).get("blurred")


def test_sharp_background_behind_blurred_skin_is_blurred() -> None:
    image = scene((70, 140, 60))
    blurred_skin = skin_photo(blur=4)
    half = (0, 0, WORKING[0] // 2, WORKING[1])
    image.paste(blurred_skin.crop(half), half[:2])
    assert _codes(_assess(image)) == {"blurred": "reject"}


def test_rejections_come_before_warnings() -> None:
    report = _assess(skin_photo(blur=4, size=(640, 480)), (640, 480))
    assert [(r.code, r.severity) for r in report.reasons] == [
        ("blurred", "reject"),
        ("too_small", "warn"),
    ]


def test_metrics_are_json_serialisable_floats() -> None:
    report = _assess(skin_photo())
    assert all(type(value) is float and math.isfinite(value) for value in report.metrics.values())
    assert json.loads(json.dumps(report.metrics)) == report.metrics
    assert {"sharpness", "highlight_clip", "shadow_clip", "mean_luma", "skin_fraction"} <= set(
        report.metrics
    )


def test_stored_metrics_can_be_judged_again_under_new_thresholds() -> None:
    metrics = json.loads(json.dumps(_assess(skin_photo()).metrics))
    stricter = QualityThresholds(warn_sharpness=metrics["sharpness"] + 1)
    assert [(r.code, r.severity) for r in judge(metrics, stricter)] == [("blurred", "warn")]


def test_any_image_mode_is_accepted() -> None:
    report = _assess(skin_photo().convert("RGBA"))
    assert report.verdict == "ready"


def test_report_and_thresholds_cannot_be_changed() -> None:
    report = _assess(skin_photo())
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.verdict = "rejected"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        THRESHOLDS.min_sharpness = 0  # type: ignore[misc]


@pytest.mark.parametrize(
    "change",
    [
        {"min_sharpness": 500.0},  # above warn_sharpness
        {"max_highlight_clip": 0.5},  # above reject_highlight_clip
        {"min_mean_luma": 240.0},  # above max_mean_luma
        {"min_skin_fraction": 1.5},
        {"min_width": 600, "min_height": 800},
    ],
)
def test_inconsistent_thresholds_stop_the_configuration(change: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        QualityThresholds(**change)  # type: ignore[arg-type]


def test_assessing_a_largest_review_image_takes_well_under_100_ms() -> None:
    image = skin_photo(size=REVIEW)
    _assess(image)
    best = min(_timed(image) for _ in range(5))
    assert best < 0.1


def _timed(image: Image.Image) -> float:
    start = time.perf_counter()
    _assess(image)
    return time.perf_counter() - start
