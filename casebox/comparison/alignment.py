"""Align a follow-up photo of a lesion onto its baseline photo, and show what changed.

Pure core, no I/O: review-size images (RGB, long edge <= 2048) and the originals' upright
sizes in, a homography out. The specialist sees the result and accepts or rejects it;
this module only refuses alignments that cannot be right, it never proves one right.

Coordinates
    Every matrix maps MOVING (follow-up) ORIGINAL-pixel coordinates to FIXED (baseline)
    ORIGINAL-pixel coordinates, the frame annotations and the UI use. Coordinates are
    continuous with the origin at the top-left CORNER of the top-left pixel: pixel (i, j)
    covers [i, i + 1) x [j, j + 1), its centre is (i + 0.5, j + 0.5), and a uniform
    downscale by s is a multiplication by s. OpenCV puts pixel centres at integers; the
    half-pixel shift is applied wherever OpenCV is called.

Method
    1. Each review image is shrunk (never enlarged) to a 1024-pixel long edge and turned
       to luma; CLAHE raises skin's faint local contrast before features are found.
    2. SIFT features, Lowe's ratio test, at most one match per feature of the fixed photo.
    3. A homography by RANSAC (OpenCV refines it on the inliers). Refused when there are
       too few matches or inliers, when it would mirror, fold, squash or wildly rescale the
       picture, or when the photos hardly overlap.
    4. ECC refinement (dense, intensity based, insensitive to brightness and contrast) at
       a 512-pixel long edge, started from the RANSAC homography. Kept only if it
       converges, still passes the checks of step 3, still fits the RANSAC inliers and
       does not lower the correlation of the overlapping pixels at the finer 1024 size.

Evidence (no patient photos were available): 1600x1200 views cut through known
homographies out of synthetic skin and out of the face skin of two real portraits
(scikit-image's astronaut, matplotlib's grace_hopper, enlarged 3-8x, so smooth), with
shifts, 35-degree turns with 1.5x zoom, perspective with uneven light and blur, and
upside-down; RANSAC only, error over the overlap in view pixels:

    SIFT   217-1690 inliers; max error 0.04-1.03
    AKAZE  638-3549 inliers (2-4x SIFT's on the smooth faces); max error 0.03-3.54
    ORB    431-3331 inliers; max error 0.71-8.15 (its keypoints are 0.35-0.7 px off)

CLAHE gives SIFT 2.3x (smooth face) to 8x (synthetic skin) more keypoints. ECC: on
textured planar views RANSAC is already within 0.1 px and ECC is mostly dropped; on the
smooth face it lowered the mean error from 0.18 to 0.02 px, on blurred views by 20-60 %,
and on a bent surface (a smooth displacement of 4-15 px on top of the homography) by up
to 22 % (5.1 to 4.0 px on the face), though once a little worse on a slight bend (0.72
to 0.74 px), for 40-130 ms. One align() of two 2016x1512 photos took 0.47-0.61 s
(median 0.55 s) on a 2-core EPYC busy with other work, about 70 % of it SIFT;
difference_image() about 0.2 s.

Limits: a homography treats the skin as a plane; a curved limb photographed from
another angle aligns only near where the features are. Synthetic texture and enlarged
portraits are not close-ups of real skin: calibrate the match floors on real pairs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from casebox.errors import ValidationFailed

WORK_LONG_EDGE: Final = 1024  # features are found at this size (never enlarged)
ECC_LONG_EDGE: Final = 512  # ECC refinement runs at this size
MAX_REVIEW_LONG_EDGE: Final = 4096  # review images are <= 2048; anything far larger is a bug
MIN_REVIEW_EDGE: Final = 64  # a smaller image cannot hold enough features to align
CLAHE_CLIP: Final = 2.0
CLAHE_TILES: Final = 8  # per side
SIFT_FEATURES: Final = 2000  # strongest keypoints kept per image
RATIO: Final = 0.75  # Lowe's ratio test: the best match must clearly beat the second best
RANSAC_THRESHOLD: Final = 3.0  # working-size pixels; a match farther off is an outlier
RANSAC_ITERATIONS: Final = 5000
RANSAC_CONFIDENCE: Final = 0.999
MIN_MATCHES: Final = 20  # fewer matches: the photos do not show the same skin
MIN_INLIERS: Final = 15  # fewer RANSAC inliers: the agreement may be chance
MIN_INLIER_FRACTION: Final = 0.15  # fewer inliers per match: mostly chance matches
MAX_SCALE: Final = 4.0  # at working size, one photo may be at most 4x closer than the other
MAX_ANISOTROPY: Final = 2.5  # stretching one direction more than this is not a camera move
MAX_PERSPECTIVE: Final = 3.0  # nor is a local scale differing more than this across a photo
MIN_OVERLAP: Final = 0.2  # of the smaller photo's area, once mapped
ECC_ITERATIONS: Final = 30
ECC_EPSILON: Final = 1e-4
ECC_MIN_AGREEMENT: Final = 0.9  # a refinement must keep this fraction of the RANSAC inliers
DIFFERENCE_SIGMA: Final = 1.5  # review pixels; smoothing before the difference
DELTA_E_FULL_SCALE: Final = 25.0  # Delta E shown at the top of the colour map
OUTSIDE_GREY: Final = (128, 128, 128)  # where the moving photo does not reach

_F64 = npt.NDArray[np.float64]
_F32 = npt.NDArray[np.float32]
_U8 = npt.NDArray[np.uint8]
_Mask = npt.NDArray[np.bool_]
Size = tuple[int, int]
Row = tuple[float, float, float]
Matrix = tuple[Row, Row, Row]
Reason = Literal["too_few_matches", "implausible_transform", "too_little_overlap"]

MESSAGES: Final[dict[Reason, str]] = {
    "too_few_matches": (
        "These photos could not be aligned: too few matching skin features were found. "
        "Choose two sharp photos of the same area."
    ),
    "implausible_transform": (
        "These photos could not be aligned: the only match found would mirror or badly "
        "distort one photo. Choose two photos of the same area taken from a similar "
        "distance and angle."
    ),
    "too_little_overlap": (
        "These photos could not be aligned: they share too little of the same skin. "
        "Choose two photos that show the same area."
    ),
}


class AlignmentFailed(ValidationFailed):
    """The two photos cannot be aligned; ``reason`` says why as a stable code."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(MESSAGES[reason])
        self.reason: Reason = reason


@dataclass(frozen=True)
class Alignment:
    """A homography from moving (follow-up) to fixed (baseline) original-pixel coordinates."""

    matrix: Matrix  # row-major 3x3, scaled so that matrix[2][2] == 1
    inliers: int  # matches consistent with the RANSAC homography
    matches: int  # matches that passed the ratio test, before RANSAC
    refined: bool  # ECC refinement ran and its result was kept
    method: str  # what produced ``matrix``: "sift+ransac" or "sift+ransac+ecc"

    def __post_init__(self) -> None:
        matrix = np.asarray(self.matrix, dtype=np.float64)
        if matrix.shape != (3, 3) or not np.all(np.isfinite(matrix)) or matrix[2, 2] == 0:
            raise ValueError("an alignment matrix must be 3x3, finite, with matrix[2][2] != 0")

    def map_points(self, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """Map moving original-pixel points to fixed original-pixel points."""
        if not points:
            return []
        mapped = _apply(np.array(self.matrix, dtype=np.float64), np.array(points, np.float64))
        return [(float(x), float(y)) for x, y in mapped]


def matrix_from_rows(rows: Sequence[Sequence[float]]) -> Matrix:
    """A stored 3x3 matrix (such as JSON lists) as an ``Alignment.matrix``, or ValueError."""
    array = np.asarray(rows, dtype=np.float64)
    if array.shape != (3, 3) or not np.all(np.isfinite(array)) or array[2, 2] == 0:
        raise ValueError("an alignment matrix must be 3x3, finite, with matrix[2][2] != 0")
    return _as_tuple(array)


def align(
    fixed: Image.Image,
    fixed_size: Size,
    moving: Image.Image,
    moving_size: Size,
    *,
    refine: bool = True,
) -> Alignment:
    """Find the homography laying the moving photo over the fixed one, or raise AlignmentFailed."""
    fixed_grey, fixed_scale = _working_grey(fixed, fixed_size, WORK_LONG_EDGE)
    moving_grey, moving_scale = _working_grey(moving, moving_size, WORK_LONG_EDGE)
    fixed_points, moving_points = _matched_points(fixed_grey, moving_grey)
    if len(fixed_points) < MIN_MATCHES:
        raise AlignmentFailed("too_few_matches")
    work, inlier = _ransac(moving_points, fixed_points)
    inliers = int(inlier.sum())
    if inliers < max(MIN_INLIERS, MIN_INLIER_FRACTION * len(fixed_points)):
        raise AlignmentFailed("too_few_matches")
    found = _Found(
        moving_points=moving_points[inlier],
        fixed_points=fixed_points[inlier],
        moving_scale=moving_scale,
        fixed_scale=fixed_scale,
        moving_grey=moving_grey,
        fixed_grey=fixed_grey,
    )
    problem = found.problem(work)
    if problem is not None:
        raise AlignmentFailed(problem)
    # Working-size homography -> original pixels: apply the moving scaling, undo the fixed.
    matrix = np.linalg.inv(fixed_scale) @ work @ moving_scale
    refined = None
    if refine:
        refined = _refine_ecc(fixed, fixed_size, moving, moving_size, matrix, found)
    return Alignment(
        matrix=_as_tuple(matrix if refined is None else refined),
        inliers=inliers,
        matches=len(fixed_points),
        refined=refined is not None,
        method="sift+ransac" if refined is None else "sift+ransac+ecc",
    )


def difference_image(
    fixed: Image.Image,
    moving: Image.Image,
    alignment: Alignment,
    fixed_size: Size,
    moving_size: Size,
) -> Image.Image:
    """Colour-coded colour difference of an aligned pair, in the fixed review image's frame.

    The moving review image is warped into the fixed review image's frame. Both are
    smoothed a little (Gaussian, sigma 1.5 review pixels) so that pores, JPEG noise and a
    residual sub-pixel misalignment do not outshine real change, then compared in CIELAB.
    A uniform colour shift over the whole overlap (lighting, white balance, exposure) is
    removed by subtracting the median Lab difference; so would be a real change covering
    the whole overlap evenly, which this view therefore does not show. Each pixel shows
    the CIE76 colour difference (Delta E; about 2 is just noticeable), which catches a
    lesion that darkened, lightened or changed hue at equal luminance, on a fixed scale
    from 0 to ``DELTA_E_FULL_SCALE`` (and above) in the perceptually uniform "inferno"
    colour map: black is no change, brighter (purple, orange, pale yellow) is more. The
    scale is the same for every pair, never stretched to the largest difference, so a
    pair without change stays dark instead of showing amplified noise. Pixels the warped
    moving photo does not cover, and a 5-pixel seam along its edge, are mid-grey
    (128, 128, 128), a colour the map never uses. The result is RGB, of the fixed
    review image's size.
    """
    _check_sizes(fixed, fixed_size)
    _check_sizes(moving, moving_size)
    warp = _review_warp(alignment.matrix, fixed, fixed_size, moving, moving_size)
    warped = np.asarray(
        cv2.warpPerspective(_rgb(moving), warp, fixed.size, flags=cv2.INTER_LINEAR),
        dtype=np.uint8,
    )
    inside = _footprint(warp, moving.size, fixed.size)
    delta_e = _delta_e(_rgb(fixed), warped, inside)
    level = np.clip(delta_e * (255.0 / DELTA_E_FULL_SCALE), 0, 255).astype(np.uint8)
    bgr = np.asarray(cv2.applyColorMap(level, cv2.COLORMAP_INFERNO), dtype=np.uint8)
    shown = np.ascontiguousarray(bgr[:, :, ::-1])
    shown[~inside] = OUTSIDE_GREY
    return Image.fromarray(shown, "RGB")


# --------------------------------------------------------------------------- images


def _check_sizes(image: Image.Image, original_size: Size) -> None:
    """Refuse a review image that is not a sane, uniform downscale of its original."""
    width, height = image.size
    original_width, original_height = original_size
    if not MIN_REVIEW_EDGE <= min(width, height) <= max(width, height) <= MAX_REVIEW_LONG_EDGE:
        raise ValueError(f"review image size {width}x{height} is out of range")
    if width > original_width or height > original_height:
        raise ValueError("the review image is larger than its original")
    # A uniform downscale keeps the aspect ratio up to the rounding of each side.
    if abs(width - height * original_width / original_height) > 2:
        raise ValueError("the review image is not a uniform downscale of its original")


def _rgb(image: Image.Image) -> _U8:
    return np.asarray(image if image.mode == "RGB" else image.convert("RGB"), dtype=np.uint8)


def _size_of(pixels: npt.NDArray[np.generic]) -> Size:
    return int(pixels.shape[1]), int(pixels.shape[0])


def _working_grey(image: Image.Image, original_size: Size, long_edge: int) -> tuple[_U8, _F64]:
    """Luma shrunk to ``long_edge`` (never enlarged), and the original -> working scaling."""
    _check_sizes(image, original_size)
    grey = np.asarray(cv2.cvtColor(_rgb(image), cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    width, height = image.size
    factor = min(1.0, long_edge / max(width, height))
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    if size != (width, height):
        grey = np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    scale = np.diag([size[0] / original_size[0], size[1] / original_size[1], 1.0])
    return grey, scale


# --------------------------------------------------------------------------- features


def _matched_points(fixed: _U8, moving: _U8) -> tuple[_F64, _F64]:
    """Corner-origin coordinates of matched features: (fixed points, moving points)."""
    # SIFT rather than ORB or AKAZE (see the module's evidence): on faint skin texture its
    # sub-pixel blob positions gave the most precise homographies, with matches to spare
    # even on smooth skin. ORB's corners sit on its pyramid's pixel grid, up to 0.7 px
    # off, and gave errors of several pixels; AKAZE found more matches but was less
    # precise when the distance changed. Precise upscaling: without it OpenCV's SIFT
    # places every keypoint a quarter pixel off, which shows when a photo is turned.
    sift = cv2.SIFT.create(nfeatures=SIFT_FEATURES, enable_precise_upscale=True)
    clahe = cv2.createCLAHE(clipLimit=CLAHE_CLIP, tileGridSize=(CLAHE_TILES, CLAHE_TILES))
    fixed_keys, fixed_descriptors = sift.detectAndCompute(clahe.apply(fixed), None)
    moving_keys, moving_descriptors = sift.detectAndCompute(clahe.apply(moving), None)
    empty = np.zeros((0, 2), dtype=np.float64)
    if fixed_descriptors is None or moving_descriptors is None or len(fixed_keys) < 2:
        return empty, empty
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(moving_descriptors, fixed_descriptors, k=2)
    # At most one match per fixed feature, the closest: repeated texture must not vote twice.
    best: dict[int, cv2.DMatch] = {}
    for pair in pairs:
        if len(pair) == 2 and pair[0].distance < RATIO * pair[1].distance:
            kept = best.get(pair[0].trainIdx)
            if kept is None or pair[0].distance < kept.distance:
                best[pair[0].trainIdx] = pair[0]
    matches = list(best.values())
    if not matches:
        return empty, empty
    fixed_points = np.array([fixed_keys[m.trainIdx].pt for m in matches], dtype=np.float64)
    moving_points = np.array([moving_keys[m.queryIdx].pt for m in matches], dtype=np.float64)
    return fixed_points + 0.5, moving_points + 0.5  # pixel centres at half-integers


def _ransac(moving_points: _F64, fixed_points: _F64) -> tuple[_F64, _Mask]:
    """RANSAC homography from moving to fixed working coordinates, and the inlier mask."""
    homography, mask = cv2.findHomography(
        moving_points,
        fixed_points,
        cv2.RANSAC,
        RANSAC_THRESHOLD,
        maxIters=RANSAC_ITERATIONS,
        confidence=RANSAC_CONFIDENCE,
    )
    if homography is None or mask is None:
        raise AlignmentFailed("too_few_matches")
    return np.asarray(homography, dtype=np.float64), np.asarray(mask).ravel().astype(bool)


# --------------------------------------------------------------------------- plausibility


@dataclass(frozen=True)
class _Found:
    """What feature matching found, at working size, to judge any candidate homography."""

    moving_points: _F64  # RANSAC inliers
    fixed_points: _F64
    moving_scale: _F64  # original -> working pixels
    fixed_scale: _F64
    moving_grey: _U8  # working-size luma
    fixed_grey: _U8

    def problem(self, work: _F64) -> Reason | None:
        """Why a working-size homography cannot map one photo of the same skin to another."""
        return _shape_problem(work, _size_of(self.moving_grey), _size_of(self.fixed_grey))

    def agreement(self, matrix: _F64) -> float:
        """Fraction of the inliers that an original-pixel homography maps within threshold."""
        work = self.working(matrix)
        error = np.linalg.norm(_apply(work, self.moving_points) - self.fixed_points, axis=1)
        return float(np.mean(error <= RANSAC_THRESHOLD))

    def working(self, matrix: _F64) -> _F64:
        """The original-pixel homography in working-size pixels."""
        return self.fixed_scale @ matrix @ np.linalg.inv(self.moving_scale)


def _shape_problem(homography: _F64, moving_size: Size, fixed_size: Size) -> Reason | None:
    """Why a homography cannot be a camera move over the same skin, or None if it can be."""
    if not np.all(np.isfinite(homography)) or abs(homography[2, 2]) < 1e-12:
        return "implausible_transform"
    matrix = homography / homography[2, 2]
    width, height = moving_size
    probes = np.array(
        [(0, 0), (width, 0), (width, height), (0, height), (width / 2, height / 2)],
        dtype=np.float64,
    )
    depth = probes @ matrix[2, :2] + matrix[2, 2]
    if np.any(depth <= 1e-9):  # part of the photo would be folded through infinity
        return "implausible_transform"
    mapped = _apply(matrix, probes)
    scales: list[float] = []
    for target, w in zip(mapped, depth, strict=True):
        # The Jacobian at a point tells how a small square of the moving photo is deformed.
        jacobian = (matrix[:2, :2] - np.outer(target, matrix[2, :2])) / w
        determinant = float(np.linalg.det(jacobian))
        if determinant <= 0:  # mirrored
            return "implausible_transform"
        stretch = np.linalg.svd(jacobian, compute_uv=False)
        if stretch[0] > MAX_ANISOTROPY * stretch[1]:
            return "implausible_transform"
        scales.append(math.sqrt(determinant))
    if not 1 / MAX_SCALE <= min(scales) <= max(scales) <= MAX_SCALE:
        return "implausible_transform"
    if max(scales) > MAX_PERSPECTIVE * min(scales):
        return "implausible_transform"
    quad = np.ascontiguousarray(mapped[:4], dtype=np.float32)
    if not cv2.isContourConvex(quad):
        return "implausible_transform"
    if _overlap(quad, fixed_size) < MIN_OVERLAP:
        return "too_little_overlap"
    return None


def _overlap(quad: _F32, fixed_size: Size) -> float:
    """Shared area over the smaller of the two areas: 1 when one contains the other."""
    width, height = fixed_size
    frame = np.array([(0, 0), (width, 0), (width, height), (0, height)], dtype=np.float32)
    shared, _ = cv2.intersectConvexConvex(quad, frame)
    smaller = min(float(cv2.contourArea(quad)), float(width * height))
    return float(shared) / smaller if smaller > 0 else 0.0


# --------------------------------------------------------------------------- refinement


def _refine_ecc(
    fixed: Image.Image,
    fixed_size: Size,
    moving: Image.Image,
    moving_size: Size,
    matrix: _F64,
    found: _Found,
) -> _F64 | None:
    """The ECC-refined original-pixel homography, or None when refining did not help."""
    template, fixed_scale = _working_grey(fixed, fixed_size, ECC_LONG_EDGE)
    source, moving_scale = _working_grey(moving, moving_size, ECC_LONG_EDGE)
    # ECC's warp maps template (fixed) pixels to input (moving) pixels, centres at integers.
    start = _centred(moving_scale @ np.linalg.inv(matrix) @ np.linalg.inv(fixed_scale))
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, ECC_ITERATIONS, ECC_EPSILON)
    try:
        # ECC smooths both images with its default 5x5 Gaussian, which suits 512 pixels.
        _, result = cv2.findTransformECC(
            template, source, start.astype(np.float32), cv2.MOTION_HOMOGRAPHY, criteria, None
        )
    except cv2.error:
        return None  # did not converge, or the pictures are too uniform for ECC
    warp = np.asarray(result, dtype=np.float64)
    if not np.all(np.isfinite(warp)) or abs(np.linalg.det(warp)) < 1e-12:
        return None
    inverse = np.asarray(np.linalg.inv(warp), dtype=np.float64)
    refined = np.linalg.inv(fixed_scale) @ _uncentred(inverse) @ moving_scale
    refined = refined / refined[2, 2]
    if found.problem(found.working(refined)) is not None:
        return None
    if found.agreement(refined) < ECC_MIN_AGREEMENT:
        return None  # ECC drifted away from what the features agree on
    # Judged at the finer working size, without ECC's smoothing: ECC maximises the
    # correlation at its own size, so only a finer look can tell that it made things worse.
    warps = (_centred(found.working(matrix)), _centred(found.working(refined)))
    try:
        before, after = _correlations(found.fixed_grey, found.moving_grey, warps)
    except cv2.error:
        return None  # e.g. a featureless overlap, whose correlation is undefined
    return refined if after >= before else None


def _correlations(template: _U8, source: _U8, warps: tuple[_F64, _F64]) -> tuple[float, float]:
    """Correlation of the fixed image with the moving one warped by each warp (moving ->
    fixed, pixel centres at integers), on the pixels both warps cover."""
    size = _size_of(template)
    flags = cv2.INTER_LINEAR
    full = np.full(source.shape, 255, dtype=np.uint8)
    common = np.full(template.shape, 255, dtype=np.uint8)
    warped = []
    for warp in warps:
        warped.append(np.asarray(cv2.warpPerspective(source, warp, size, flags=flags), np.uint8))
        reach = np.asarray(cv2.warpPerspective(full, warp, size, flags=flags), dtype=np.uint8)
        common = np.minimum(common, np.where(reach == 255, 255, 0).astype(np.uint8))
    if not common.any():
        return 0.0, -1.0
    first, second = (float(cv2.computeECC(template, image, common)) for image in warped)
    return first, second


# --------------------------------------------------------------------------- difference


def _review_warp(
    matrix: Matrix, fixed: Image.Image, fixed_size: Size, moving: Image.Image, moving_size: Size
) -> _F64:
    """The alignment as an OpenCV warp from moving review pixels to fixed review pixels."""
    fixed_scale = np.diag([fixed.width / fixed_size[0], fixed.height / fixed_size[1], 1.0])
    moving_scale = np.diag([moving.width / moving_size[0], moving.height / moving_size[1], 1.0])
    original = np.array(matrix, dtype=np.float64)
    return _centred(fixed_scale @ original @ np.linalg.inv(moving_scale))


def _footprint(warp: _F64, moving_size: Size, fixed_size: Size) -> _Mask:
    """Fixed review pixels that the warped moving photo covers, less a seam along its edge."""
    full = np.full((moving_size[1], moving_size[0]), 255, dtype=np.uint8)
    reach = np.asarray(cv2.warpPerspective(full, warp, fixed_size, flags=cv2.INTER_LINEAR))
    # The smoothing before the difference mixes in black from beyond the edge: drop a seam.
    seam = 2 * math.ceil(DIFFERENCE_SIGMA) + 1
    kernel = np.ones((2 * seam + 1, 2 * seam + 1), dtype=np.uint8)
    inside = np.asarray(cv2.erode(np.where(reach == 255, 255, 0).astype(np.uint8), kernel))
    return inside == 255


def _delta_e(fixed: _U8, warped: _U8, inside: _Mask) -> _F32:
    """CIE76 Delta E between two smoothed RGB images, less the median shift over ``inside``."""
    lab = [
        np.asarray(
            cv2.cvtColor(
                cv2.GaussianBlur(image.astype(np.float32) / 255.0, (0, 0), DIFFERENCE_SIGMA),
                cv2.COLOR_RGB2Lab,
            ),
            dtype=np.float32,
        )
        for image in (fixed, warped)
    ]
    difference = lab[1] - lab[0]
    # Every fourth pixel each way is plenty for a median, at a sixteenth of the cost.
    sample = difference[::4, ::4][inside[::4, ::4]]
    if len(sample):
        difference -= np.median(sample, axis=0).astype(np.float32)
    squared = np.einsum("ijk,ijk->ij", difference, difference)
    return np.asarray(np.sqrt(squared), dtype=np.float32)


# --------------------------------------------------------------------------- geometry


def _apply(matrix: _F64, points: _F64) -> _F64:
    """Apply a homography to an (n, 2) array of points."""
    homogeneous = np.hstack([points, np.ones((len(points), 1))]) @ matrix.T
    return np.asarray(homogeneous[:, :2] / homogeneous[:, 2:3], dtype=np.float64)


def _centred(corner_origin: _F64) -> _F64:
    """A corner-origin homography as OpenCV wants it, with pixel centres at integers."""
    shift = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    result = np.linalg.inv(shift) @ corner_origin @ shift
    return np.asarray(result / result[2, 2], dtype=np.float64)


def _uncentred(centred: _F64) -> _F64:
    """An OpenCV (centre-origin) homography in corner-origin coordinates."""
    shift = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    result = shift @ centred @ np.linalg.inv(shift)
    return np.asarray(result / result[2, 2], dtype=np.float64)


def _as_tuple(matrix: _F64) -> Matrix:
    normal = matrix / matrix[2, 2]
    rows = [(float(row[0]), float(row[1]), float(row[2])) for row in normal]
    return rows[0], rows[1], rows[2]
