"""Review images and thumbnails: right size, upright, sRGB, and no metadata at all."""

from __future__ import annotations

import functools
import io
import struct
import zlib

import pytest
from PIL import Image, ImageCms, JpegImagePlugin

from casebox.errors import PhotoRejected
from casebox.photos.derivatives import Derivatives, fit_within, make_derivatives
from tests.photos import imagefactory as factory

BUDGET = 64_000_000
DARK_MARK = (60, 40, 30)  # the corner mark imagefactory draws at the stored top-left


@functools.cache
def _derivatives(orientation: int) -> Derivatives:
    """Derivatives of a 4000 x 3000 phone JPEG, made once per test process."""
    original = factory.identifying_jpeg((4000, 3000), orientation=orientation)
    return make_derivatives(original, max_pixels=BUDGET)


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image


def _rgb(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    pixel = image.convert("RGB").getpixel(xy)
    assert isinstance(pixel, tuple)
    return pixel


def _near(pixel: tuple[int, ...], expected: tuple[int, ...], tolerance: int) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def test_landscape_photo_gives_half_scale_review_and_320_thumbnail() -> None:
    derivatives = _derivatives(1)
    # 4000 px decoded at 1/2 scale is 2000 px: within the review range, so not resized.
    assert _open(derivatives.review).size == (2000, 1500)
    assert _open(derivatives.thumb).size == (320, 240)
    assert (derivatives.width, derivatives.height) == (4000, 3000)


def test_orientation_six_turns_sizes_and_picture_upright() -> None:
    derivatives = _derivatives(6)
    review = _open(derivatives.review).convert("RGB")
    assert review.size == (1500, 2000)
    assert _open(derivatives.thumb).size == (240, 320)
    assert (derivatives.width, derivatives.height) == (3000, 4000)
    # A quarter turn clockwise brings the stored top-left corner to the top right.
    assert _near(_rgb(review, (review.width - 20, 20)), DARK_MARK, 12)
    assert not _near(_rgb(review, (20, 20)), DARK_MARK, 40)


@pytest.mark.parametrize("name", ["review", "thumb"])
def test_derivatives_carry_no_metadata(name: str) -> None:
    data = getattr(_derivatives(6), name)
    markers = {marker for marker, _ in factory.jpeg_segments(data)}
    assert markers <= {0xE0, 0xDB, 0xC0, 0xC4, 0xDA}  # JFIF, tables, frame, scan
    image = _open(data)
    assert not image.getexif()
    assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)
    assert [s for s in factory.IDENTIFYING if s in data] == []


def test_large_jpeg_is_decoded_at_reduced_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    drafted: list[tuple[int, int]] = []
    draft = JpegImagePlugin.JpegImageFile.draft

    def recording_draft(
        self: JpegImagePlugin.JpegImageFile, mode: str | None, size: tuple[int, int] | None
    ) -> object:
        result = draft(self, mode, size)
        drafted.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", recording_draft)
    derivatives = make_derivatives(factory.plain_jpeg((4200, 3150)), max_pixels=BUDGET)
    assert drafted == [(2100, 1575)]  # libjpeg scaled by 1/2 while decoding
    assert _open(derivatives.review).size == (2048, 1536)
    assert (derivatives.width, derivatives.height) == (4200, 3150)


def test_a_photo_too_small_for_half_scale_is_decoded_whole_and_reduced_to_2048() -> None:
    derivatives = make_derivatives(factory.plain_jpeg((3600, 2700)), max_pixels=BUDGET)
    assert _open(derivatives.review).size == (2048, 1536)  # 1800 px would be below 1920


def test_small_photo_is_not_enlarged() -> None:
    derivatives = make_derivatives(factory.identifying_png(orientation=1), max_pixels=BUDGET)
    assert _open(derivatives.review).size == (640, 480)
    assert _open(derivatives.thumb).size == (320, 240)


def test_heic_derivatives_are_upright_jpegs() -> None:
    derivatives = make_derivatives(factory.identifying_heic(orientation=6), max_pixels=BUDGET)
    assert _open(derivatives.review).size == (480, 640)
    assert _open(derivatives.thumb).size == (240, 320)
    assert (derivatives.width, derivatives.height) == (480, 640)


def test_wide_gamut_profile_is_converted_to_srgb() -> None:
    profile = factory.wide_gamut_icc_profile()
    derivatives = make_derivatives(factory.jpeg_with_profile(profile), max_pixels=BUDGET)
    review = _open(derivatives.review).convert("RGB")
    assert "icc_profile" not in _open(derivatives.review).info
    converted = _rgb(review, (32, 24))
    naive = factory.SKIN  # what reading the numbers as sRGB would show
    expected = ImageCms.profileToProfile(
        Image.new("RGB", (1, 1), factory.SKIN),
        ImageCms.ImageCmsProfile(io.BytesIO(profile)),
        ImageCms.createProfile("sRGB"),
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
    )
    assert expected is not None
    assert _near(converted, _rgb(expected, (0, 0)), 2)
    # The same numbers mean a more saturated colour in the wider space: redder skin.
    assert converted[0] >= naive[0] + 8
    assert max(converted) - min(converted) > max(naive) - min(naive)


def test_unusable_colour_profile_falls_back_to_srgb() -> None:
    broken = b"not an icc profile" * 10
    derivatives = make_derivatives(factory.jpeg_with_profile(broken), max_pixels=BUDGET)
    assert _near(_rgb(_open(derivatives.review), (32, 24)), factory.SKIN, 3)


def test_transparent_areas_become_white() -> None:
    image = Image.new("RGBA", (200, 100), (*factory.SKIN, 255))
    image.paste((0, 0, 0, 0), (100, 0, 200, 100))  # right half fully transparent black
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    review = _open(make_derivatives(buffer.getvalue(), max_pixels=BUDGET).review).convert("RGB")
    assert _near(_rgb(review, (150, 50)), (255, 255, 255), 3)
    assert _near(_rgb(review, (50, 50)), factory.SKIN, 3)


def test_sixteen_bit_greyscale_is_scaled_not_clipped() -> None:
    width, height, grey = 64, 32, 0x8000
    row = b"\x00" + struct.pack(">H", grey) * width
    png = (
        b"\x89PNG\r\n\x1a\n"
        + factory.png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0))
        + factory.png_chunk(b"IDAT", zlib.compress(row * height))
        + factory.png_chunk(b"IEND", b"")
    )
    review = _open(make_derivatives(png, max_pixels=BUDGET).review).convert("RGB")
    assert _near(_rgb(review, (10, 10)), (128, 128, 128), 2)


def test_over_budget_and_damaged_originals_are_refused() -> None:
    with pytest.raises(PhotoRejected) as too_big:
        make_derivatives(factory.plain_jpeg((400, 300)), max_pixels=400 * 300 - 1)
    assert too_big.value.reason == "too_many_pixels"
    with pytest.raises(PhotoRejected) as damaged:
        make_derivatives(factory.plain_jpeg()[:5000], max_pixels=BUDGET)
    assert damaged.value.reason == "corrupt"


@pytest.mark.parametrize(
    ("size", "long_edge", "expected"),
    [
        ((4000, 3000), 2048, (2048, 1536)),
        ((3000, 4000), 320, (240, 320)),
        ((1000, 10), 320, (320, 3)),
        ((100_000, 1), 320, (320, 1)),
        ((640, 480), 2048, (640, 480)),
    ],
)
def test_fit_within_keeps_aspect_and_never_enlarges(
    size: tuple[int, int], long_edge: int, expected: tuple[int, int]
) -> None:
    assert fit_within(size, long_edge) == expected


def test_unreadable_exif_does_not_stop_the_derivatives() -> None:
    broken = factory.insert_jpeg_segment(
        factory.plain_jpeg((400, 300)), 0xE1, b"Exif\x00\x00" + b"\x00" * 40
    )
    derivatives = make_derivatives(broken, max_pixels=BUDGET)
    assert _open(derivatives.review).size == (400, 300)
