"""Aligning a follow-up photo onto a baseline photo, and the difference view.

The photos are views of one synthetic patch of skin (pores, mottling, freckles, hairs,
uneven light and a lesion), drawn once per test session. Each view is cut out of it
through a known homography, given its own exposure and sensor noise, and JPEG-compressed
like a review image, so every test knows where each pixel of the follow-up belongs.
"""

from __future__ import annotations

import functools
import io
import json
import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageFilter

from casebox.comparison.alignment import (
    OUTSIDE_GREY,
    Alignment,
    align,
    difference_image,
    matrix_from_rows,
)
from casebox.demo import synthetic_lesion_photo
from casebox.errors import ValidationFailed

Matrix = npt.NDArray[np.float64]
Points = npt.NDArray[np.float64]
Size = tuple[int, int]


@dataclass(frozen=True)
class Shot:
    """A photo's original upright size and the size of its review image."""

    original: Size
    review: Size

    @property
    def centre(self) -> tuple[float, float]:
        return self.original[0] / 2, self.original[1] / 2


PHONE = Shot((4032, 3024), (2016, 1512))  # 12 megapixels, its JPEG decoded at half size
SMALL = Shot((1600, 1200), (800, 600))  # also reviewed at half size; keeps the tests fast
WORLD = (2600, 2000)  # the drawn skin, in review pixels of the baseline
LESION_RADIUS = 90  # world pixels
TOLERANCE = 2.0  # original pixels: 0.04 % of a 12-megapixel photo's diagonal
MIN_INLIERS = 100  # the test skin is rich in detail; a working alignment finds far more
FAILED = "These photos could not be aligned"


# --------------------------------------------------------------------------- geometry


def shift(dx: float, dy: float) -> Matrix:
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], dtype=np.float64)


def scaling(sx: float, sy: float | None = None) -> Matrix:
    return np.diag([sx, sx if sy is None else sy, 1.0])


def about(matrix: Matrix, centre: tuple[float, float]) -> Matrix:
    """``matrix`` applied around ``centre`` instead of the origin."""
    return shift(*centre) @ matrix @ shift(-centre[0], -centre[1])


def turn(degrees: float, centre: tuple[float, float]) -> Matrix:
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return about(np.array([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]]), centre)


def inverse(matrix: Matrix) -> Matrix:
    return np.asarray(np.linalg.inv(matrix), dtype=np.float64)


def apply(matrix: Matrix, points: Points) -> Points:
    homogeneous = np.hstack([points, np.ones((len(points), 1))]) @ matrix.T
    return homogeneous[:, :2] / homogeneous[:, 2:3]


def original_to_review(shot: Shot) -> Matrix:
    return scaling(shot.review[0] / shot.original[0], shot.review[1] / shot.original[1])


def review_to_world(shot: Shot) -> Matrix:
    """Where a baseline review image of this shot sits in the world: in its middle."""
    return shift((WORLD[0] - shot.review[0]) // 2, (WORLD[1] - shot.review[1]) // 2)


# --------------------------------------------------------------------------- pictures


@functools.cache
def skin() -> npt.NDArray[np.float32]:
    """A patch of light-brown skin: pores, mottling, freckles, hairs and a light gradient."""
    rng = np.random.default_rng(1)
    width, height = WORLD
    base = np.array([224, 176, 148], dtype=np.float32)
    xs, ys = np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
    light = 0.85 + 0.12 * xs[None, :] / width + 0.08 * ys[:, None] / height  # window light
    pores = cv2.GaussianBlur(rng.standard_normal((height, width), np.float32), (0, 0), 1.2)
    # Mottling is smooth: drawn at a quarter size and enlarged, which is much faster.
    coarse = rng.standard_normal((height // 4, width // 4), np.float32)
    mottle = cv2.resize(
        cv2.GaussianBlur(coarse, (0, 0), 1.25), WORLD, interpolation=cv2.INTER_CUBIC
    )
    image = base[None, None, :] * (light * (1.0 + 0.10 * pores + 0.25 * mottle))[:, :, None]
    for _ in range(width * height // 25000):  # freckles
        centre = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
        radius = rng.uniform(2, 12)
        axes = (int(radius), int(radius * rng.uniform(0.6, 1.0)))
        colour = base * np.float32(rng.uniform(0.55, 0.85)) * np.array([1, 0.85, 0.75])
        cv2.ellipse(image, centre, axes, rng.uniform(0, 180), 0, 360, colour.tolist(), -1)
    along = np.linspace(0, 1, 30)
    for _ in range(width * height // 120000):  # hairs: gently curved dark strands
        start, angle = rng.uniform((0, 0), WORLD), rng.uniform(0, math.pi)
        length, bend = rng.uniform(60, 260), rng.uniform(-0.6, 0.6)
        direction = angle + bend * along
        path = start + length * along[:, None] * np.stack([np.cos(direction), np.sin(direction)], 1)
        thickness = int(rng.integers(1, 3))
        cv2.polylines(image, [path.astype(np.int32)], False, (60, 45, 35), thickness)
    return np.asarray(cv2.GaussianBlur(image, (0, 0), 0.8), dtype=np.float32)


@functools.cache
def scene(lesion_radius: int = LESION_RADIUS) -> npt.NDArray[np.uint8]:
    """The skin with an irregular brown lesion, darker in its centre, in the middle."""
    image = skin().copy()
    centre = np.array(WORLD, dtype=np.float64) / 2
    angles = np.linspace(0, 2 * math.pi, 90, endpoint=False)
    wobble = 1 + 0.12 * np.sin(3 * angles + 0.4) + 0.07 * np.sin(5 * angles + 1.3)
    for scale, colour in ((1.0, (135, 88, 62)), (0.55, (95, 60, 42))):
        radii = lesion_radius * scale * wobble
        outline = centre + np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
        cv2.fillPoly(image, [np.round(outline).astype(np.int32)], colour, cv2.LINE_AA)
    return np.clip(image, 0, 255).astype(np.uint8)


def photo(
    world_to_review: Matrix,
    size: Size,
    *,
    seed: int,
    gain: float = 1.0,
    lesion: int = LESION_RADIUS,
) -> Image.Image:
    """One view of the world, with its own exposure and noise, as a decoded JPEG review image."""
    # OpenCV puts pixel centres at integers; these matrices put them at half-integers.
    centred = inverse(shift(0.5, 0.5)) @ inverse(world_to_review) @ shift(0.5, 0.5)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    pixels = cv2.warpPerspective(
        scene(lesion), centred, size, flags=flags, borderMode=cv2.BORDER_REFLECT
    )
    exposed = cv2.convertScaleAbs(pixels, alpha=gain)
    noise = np.random.default_rng(seed).integers(-3, 4, pixels.shape, dtype=np.int16)  # sd 2
    noisy = np.clip(exposed.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noisy).save(buffer, "JPEG", quality=88)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


@functools.cache
def baseline(shot: Shot, lesion: int = LESION_RADIUS) -> Image.Image:
    """The fixed photo: the middle of the world, one world pixel per review pixel."""
    return photo(inverse(review_to_world(shot)), shot.review, seed=101, lesion=lesion)


def follow_up(
    motion: Matrix, fixed: Shot, moving: Shot, *, gain: float = 0.92, lesion: int = LESION_RADIUS
) -> Image.Image:
    """The moving photo, whose ORIGINAL pixels ``motion`` maps to the baseline's ORIGINAL ones."""
    to_world = (
        review_to_world(fixed)
        @ original_to_review(fixed)
        @ motion
        @ inverse(original_to_review(moving))
    )
    return photo(inverse(to_world), moving.review, seed=202, gain=gain, lesion=lesion)


def errors(alignment: Alignment, motion: Matrix, fixed: Shot, moving: Shot) -> list[float]:
    """How far, in baseline original pixels, a 7x7 grid over the moving photo was mapped
    from where it belongs, for the grid points that land on the baseline."""
    width, height = moving.original
    grid = np.array(
        [(x, y) for x in np.linspace(0, width, 7) for y in np.linspace(0, height, 7)],
        dtype=np.float64,
    )
    truth = apply(motion, grid)
    inside = np.all((truth >= 0) & (truth <= np.array(fixed.original)), axis=1)
    found = np.array(alignment.map_points([(float(x), float(y)) for x, y in grid[inside]]))
    return [float(error) for error in np.linalg.norm(found - truth[inside], axis=1)]


# --------------------------------------------------------------------------- recovery


MOTIONS: dict[str, tuple[Shot, Matrix]] = {
    "shift": (SMALL, shift(40, -25)),
    "rotation": (SMALL, turn(7, SMALL.centre)),
    "farther": (SMALL, about(scaling(1.12), SMALL.centre)),  # follow-up from farther away
    "combined": (
        PHONE,
        shift(-60, 35) @ turn(-12, PHONE.centre) @ about(scaling(0.9), PHONE.centre),
    ),
}


@pytest.mark.parametrize("name", MOTIONS)
def test_a_known_camera_move_is_recovered_in_original_pixels(name: str) -> None:
    shot, motion = MOTIONS[name]

    alignment = align(baseline(shot), shot.original, follow_up(motion, shot, shot), shot.original)

    assert max(errors(alignment, motion, shot, shot)) <= TOLERANCE
    assert alignment.inliers >= MIN_INLIERS
    assert alignment.matches >= alignment.inliers
    assert alignment.method in {"sift+ransac", "sift+ransac+ecc"}
    assert alignment.refined == alignment.method.endswith("+ecc")


def test_photos_of_different_sizes_are_aligned_in_each_ones_original_pixels() -> None:
    # The follow-up came from another phone (3000x2250, reviewed at 1600x1200), a little
    # farther away and slightly tilted: each of its pixels covers more skin.
    other = Shot((3000, 2250), (1600, 1200))
    tilt = np.array([[1, 0.02, 0], [0.01, 1, 0], [2e-6, 1e-6, 1]], dtype=np.float64)
    motion = (
        shift(25, 40)
        @ about(tilt, PHONE.centre)
        @ turn(4, PHONE.centre)
        @ shift(PHONE.centre[0] - 1500 * 1.25, PHONE.centre[1] - 1125 * 1.25)
        @ scaling(1.25)
    )
    moving = follow_up(motion, PHONE, other, gain=1.08)

    alignment = align(baseline(PHONE), PHONE.original, moving, other.original)

    assert max(errors(alignment, motion, PHONE, other)) <= TOLERANCE
    assert alignment.inliers >= MIN_INLIERS


def test_soft_photos_are_refined_and_the_refinement_is_more_accurate() -> None:
    # Slightly out-of-focus photos: fewer, vaguer features, where the dense ECC step helps.
    shot, motion = MOTIONS["rotation"]
    soft = ImageFilter.GaussianBlur(4)
    fixed = baseline(shot).filter(soft)
    moving = follow_up(motion, shot, shot).filter(soft)

    features_only = align(fixed, shot.original, moving, shot.original, refine=False)
    refined = align(fixed, shot.original, moving, shot.original)

    assert (refined.refined, refined.method) == (True, "sift+ransac+ecc")
    assert (features_only.refined, features_only.method) == (False, "sift+ransac")
    assert max(errors(refined, motion, shot, shot)) <= max(
        errors(features_only, motion, shot, shot)
    )
    assert max(errors(refined, motion, shot, shot)) <= TOLERANCE


def test_when_refinement_fails_the_feature_alignment_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def diverge(*args: object) -> None:
        raise cv2.error("ECC did not converge")

    monkeypatch.setattr(cv2, "findTransformECC", diverge)
    shot, motion = MOTIONS["rotation"]

    alignment = align(baseline(shot), shot.original, follow_up(motion, shot, shot), shot.original)

    assert (alignment.refined, alignment.method) == (False, "sift+ransac")
    assert max(errors(alignment, motion, shot, shot)) <= TOLERANCE


# --------------------------------------------------------------------------- refusals


def corner_photo(right: bool) -> Image.Image:
    """Skin from a top-left or bottom-right corner of the world: the two share nothing."""
    width, height = SMALL.review
    corner = shift(width - WORLD[0], height - WORLD[1]) if right else shift(0, 0)
    return photo(corner, SMALL.review, seed=3 + right)


def demo_photo(seed: int) -> Image.Image:
    return Image.open(io.BytesIO(synthetic_lesion_photo(seed, SMALL.review))).convert("RGB")


PAIRS = {
    "different skin": lambda: (corner_photo(right=False), corner_photo(right=True)),
    "different demo photos": lambda: (demo_photo(0), demo_photo(1)),
    "plain picture": lambda: (baseline(SMALL), Image.new("RGB", SMALL.review, (214, 168, 140))),
}


@pytest.mark.parametrize("pair", PAIRS)
def test_photos_of_different_skin_are_refused_with_a_clear_message(pair: str) -> None:
    fixed, moving = PAIRS[pair]()

    with pytest.raises(ValidationFailed) as refused:
        align(fixed, SMALL.original, moving, SMALL.original)

    assert refused.value.status == 422
    assert refused.value.detail == (
        "These photos could not be aligned: too few matching skin features were found. "
        "Choose two sharp photos of the same area."
    )


def test_a_mirrored_photo_is_refused() -> None:
    fixed = baseline(SMALL)
    mirrored = fixed.transpose(Image.Transpose.FLIP_LEFT_RIGHT)

    with pytest.raises(ValidationFailed) as refused:
        align(fixed, SMALL.original, mirrored, SMALL.original)

    assert refused.value.detail.startswith(FAILED)


def test_photos_that_share_only_a_sliver_of_skin_are_refused() -> None:
    # The neighbouring area: only the right-most 12 % of the baseline is in both photos.
    neighbour = shift(-700, 0) @ inverse(review_to_world(SMALL))
    moving = photo(neighbour, SMALL.review, seed=7)

    with pytest.raises(ValidationFailed) as refused:
        align(baseline(SMALL), SMALL.original, moving, SMALL.original)

    assert refused.value.detail == (
        "These photos could not be aligned: they share too little of the same skin. "
        "Choose two photos that show the same area."
    )


def test_an_original_size_that_does_not_match_the_review_image_is_a_programming_error() -> None:
    fixed = baseline(SMALL)

    with pytest.raises(ValueError, match="uniform downscale"):
        align(fixed, (1200, 1600), fixed, SMALL.original)  # the size before EXIF rotation


# --------------------------------------------------------------------------- difference


def brightness(image: Image.Image) -> npt.NDArray[np.float64]:
    return np.asarray(image.convert("L"), dtype=np.float64)


def test_the_difference_of_an_aligned_pair_shows_where_the_lesion_grew() -> None:
    shot, motion = MOTIONS["rotation"]
    fixed, moving = baseline(shot), follow_up(motion, shot, shot, lesion=140)
    alignment = align(fixed, shot.original, moving, shot.original)

    shown = difference_image(fixed, moving, alignment, shot.original, shot.original)

    assert (shown.size, shown.mode) == (fixed.size, "RGB")
    # The stored form (JSON lists) gives the same picture.
    stored = Alignment(matrix_from_rows(json.loads(json.dumps(alignment.matrix))), 0, 0, False, "")
    assert difference_image(fixed, moving, stored, shot.original, shot.original) == shown
    light = brightness(shown)
    covered = np.any(np.asarray(shown) != OUTSIDE_GREY, axis=2)
    ys, xs = np.mgrid[0 : shot.review[1], 0 : shot.review[0]]
    distance = np.hypot(xs + 0.5 - shot.review[0] / 2, ys + 0.5 - shot.review[1] / 2)
    # Away from the lesion the skin did not change: the view stays dark (black: no change).
    assert np.percentile(light[covered & (distance > 200)], 99) < 40
    # Between the lesion's old and new edge it lights up.
    assert np.median(light[covered & (distance > 110) & (distance < 125)]) > 100
    # The follow-up was turned, so it leaves the baseline's corners uncovered.
    assert 0.7 < covered.mean() < 1


def test_a_photo_compared_with_itself_shows_no_change_and_grey_where_it_does_not_reach() -> None:
    fixed = baseline(SMALL)
    width = SMALL.original[0]
    identity = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
    half_way = ((1.0, 0.0, width / 2), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))  # moved right

    same = difference_image(
        fixed, fixed, Alignment(identity, 0, 0, False, "given"), SMALL.original, SMALL.original
    )
    moved = difference_image(
        fixed, fixed, Alignment(half_way, 0, 0, False, "given"), SMALL.original, SMALL.original
    )

    assert brightness(same)[10:-10, 10:-10].max() < 20
    pixels, middle = np.asarray(moved), SMALL.review[0] // 2
    assert np.all(pixels[:, : middle - 1] == OUTSIDE_GREY)
    assert not np.any(np.all(pixels[10:-10, middle + 10 : -10] == OUTSIDE_GREY, axis=2))
