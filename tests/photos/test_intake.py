"""What an upload must be to be accepted, and how each unusable file is refused."""

from __future__ import annotations

import dataclasses
import io
import re
import struct
import time
from collections.abc import Callable

import pytest
from PIL import Image

from casebox.errors import PhotoRejected
from casebox.photos.intake import InspectedPhoto, inspect_upload, sniff_file_type
from tests.photos import imagefactory as factory

BUDGET = 64_000_000


def _rejection(data: bytes, max_pixels: int = BUDGET) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as caught:
        inspect_upload(data, max_pixels=max_pixels)
    return caught.value


def _with_brands(heic: bytes, major: bytes, compatible: list[bytes]) -> bytes:
    """The HEIC with its 'ftyp' box replaced (the box keeps its size, so offsets hold)."""
    size = struct.unpack(">I", heic[:4])[0]
    body = major + bytes(4) + b"".join(compatible)
    assert len(body) <= size - 8
    body += b"".join([compatible[-1]] * ((size - 8 - len(body)) // 4))
    return heic[:4] + b"ftyp" + body + heic[size:]


@pytest.mark.parametrize(
    ("build", "file_format", "media_type", "extension"),
    [
        (factory.identifying_jpeg, "jpeg", "image/jpeg", "jpg"),
        (factory.identifying_png, "png", "image/png", "png"),
        (factory.identifying_heic, "heif", "image/heic", "heic"),
    ],
    ids=["jpeg", "png", "heic"],
)
def test_phone_photos_are_accepted_with_their_type_and_upright_size(
    build: Callable[[], bytes], file_format: str, media_type: str, extension: str
) -> None:
    inspected = inspect_upload(build(), max_pixels=BUDGET)
    assert (inspected.format, inspected.media_type, inspected.extension) == (
        file_format,
        media_type,
        extension,
    )
    stored = Image.open(io.BytesIO(build()))
    # Orientation 6 shows the landscape sensor image as a portrait photo.
    assert (inspected.width, inspected.height) == (min(stored.size), max(stored.size))
    Image.open(io.BytesIO(inspected.data)).load()


def test_accepted_upload_carries_the_sanitized_bytes() -> None:
    inspected = inspect_upload(factory.identifying_jpeg(), max_pixels=BUDGET)
    assert inspected.data != factory.identifying_jpeg()
    assert not any(secret in inspected.data for secret in factory.IDENTIFYING)


def test_inspected_photo_cannot_be_changed() -> None:
    inspected = inspect_upload(factory.plain_jpeg((320, 240)), max_pixels=BUDGET)
    with pytest.raises(dataclasses.FrozenInstanceError):
        inspected.width = 1  # type: ignore[misc]
    assert isinstance(inspected, InspectedPhoto)


def test_generic_heif_brand_is_image_heif() -> None:
    heif = _with_brands(factory.identifying_heic(), b"mif1", [b"mif1", b"miaf"])
    file_type = sniff_file_type(heif)
    assert (file_type.format, file_type.media_type, file_type.extension) == (
        "heif",
        "image/heif",
        "heif",
    )
    assert inspect_upload(heif, max_pixels=BUDGET).media_type == "image/heif"


def test_generic_heif_brand_listing_heic_is_image_heic() -> None:
    heif = _with_brands(factory.identifying_heic(), b"mif1", [b"mif1", b"heic"])
    assert sniff_file_type(heif).media_type == "image/heic"


NOT_PHOTOS = {
    "pdf_named_jpg": factory.pdf_bytes,
    "svg_with_script": factory.svg_bytes,
    "gif": lambda: factory.encoded_with_pillow("GIF"),
    "webp": lambda: factory.encoded_with_pillow("WEBP"),
    "avif": lambda: factory.encoded_with_pillow("AVIF"),
    "bmp": lambda: factory.encoded_with_pillow("BMP"),
    "tiff": lambda: factory.encoded_with_pillow("TIFF"),
    "plain_text": lambda: b"hello, this is my rash\n",
    "avif_under_generic_brand": lambda: _with_brands(
        factory.identifying_heic(), b"mif1", [b"mif1", b"avif", b"miaf"]
    ),
}


@pytest.mark.parametrize("name", sorted(NOT_PHOTOS))
def test_files_that_are_not_accepted_photos_are_refused_by_content(name: str) -> None:
    rejection = _rejection(NOT_PHOTOS[name]())
    assert rejection.reason == "unsupported_format"
    assert all(kind in rejection.detail for kind in ("JPEG", "PNG", "HEIC"))


def test_empty_file_is_refused() -> None:
    rejection = _rejection(b"")
    assert rejection.reason == "empty"
    assert "empty" in rejection.detail


DAMAGED = {
    "truncated_jpeg": lambda: factory.plain_jpeg()[:5000],
    "jpeg_without_end_marker": lambda: factory.plain_jpeg()[:-2],
    "jpeg_header_overwritten": lambda: (
        factory.plain_jpeg()[:600] + bytes(4000) + factory.plain_jpeg()[4600:]
    ),
    "png_with_bad_image_data_crc": lambda: factory.png_with_bad_idat_crc(factory.identifying_png()),
    "png_with_damaged_image_data": lambda: factory.png_with_damaged_idat(factory.identifying_png()),
    "truncated_png": lambda: factory.identifying_png()[:-5000],
    "truncated_heic": lambda: factory.identifying_heic()[:-500],
}


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_damaged_and_truncated_files_are_refused(name: str) -> None:
    rejection = _rejection(DAMAGED[name]())
    assert rejection.reason == "corrupt", rejection.detail
    assert "damaged or incomplete" in rejection.detail


def test_damaged_files_stay_refused_once_the_prescription_pdf_renderer_is_loaded() -> None:
    # WeasyPrint switches Pillow to accepting truncated images when it is imported; the
    # web app and the workers import it (prescription PDFs), so intake must not care.
    import prescriptions.pdf  # noqa: F401  # loads WeasyPrint, as the application does

    for name in ("png_with_damaged_image_data", "truncated_png"):
        assert _rejection(DAMAGED[name]()).reason == "corrupt", name


def test_png_with_an_unknown_critical_chunk_is_refused() -> None:
    png = factory.identifying_png()
    at = png.index(b"IDAT") - 4
    data = png[:at] + factory.png_chunk(b"CgBI", b"\x00\x00\x00\x00") + png[at:]
    assert _rejection(data).reason == "unsupported_format"


def test_hundred_megapixel_png_is_refused_from_its_header(monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = factory.hundred_megapixel_png()
    assert len(bomb) < 1024 * 1024

    def no_decoder(*args: object, **kwargs: object) -> None:
        raise AssertionError("the decoder must not see an image over the pixel budget")

    monkeypatch.setattr(Image, "open", no_decoder)
    started = time.perf_counter()
    rejection = _rejection(bomb)
    assert time.perf_counter() - started < 0.5
    assert rejection.reason == "too_many_pixels"
    assert "64 megapixels" in rejection.detail


def test_jpeg_header_claiming_a_huge_frame_is_refused() -> None:
    jpeg = factory.plain_jpeg((320, 240))
    sof = jpeg.index(b"\xff\xc0")
    huge = jpeg[: sof + 5] + struct.pack(">HH", 20_000, 20_000) + jpeg[sof + 9 :]
    assert _rejection(huge).reason == "too_many_pixels"


def test_heic_header_claiming_a_huge_image_is_refused() -> None:
    heic = factory.identifying_heic()
    ispe = heic.index(b"ispe") + 8  # type, version and flags
    huge = heic[:ispe] + struct.pack(">II", 20_000, 20_000) + heic[ispe + 8 :]
    assert _rejection(huge).reason == "too_many_pixels"


def test_pixel_budget_includes_its_limit() -> None:
    photo = factory.plain_jpeg((400, 300))
    assert inspect_upload(photo, max_pixels=400 * 300).width == 400
    assert _rejection(photo, max_pixels=400 * 300 - 1).reason == "too_many_pixels"


def test_rejections_have_distinct_reasons_and_patient_friendly_messages() -> None:
    rejections = [
        _rejection(b""),
        _rejection(factory.pdf_bytes()),
        _rejection(factory.hundred_megapixel_png()),
        _rejection(factory.plain_jpeg()[:5000]),
    ]
    assert [r.reason for r in rejections] == [
        "empty",
        "unsupported_format",
        "too_many_pixels",
        "corrupt",
    ]
    for rejection in rejections:
        assert rejection.status == 422
        assert rejection.errors == {"file": [rejection.detail]}
        assert rejection.detail.endswith(".")
        # No exception names, internals or file bytes reach the patient.
        assert not re.search(r"Error|Traceback|PIL|libjpeg|\\x|0x|IDAT|SOS", rejection.detail)


def test_jpeg_with_unreadable_exif_is_accepted_without_it() -> None:
    broken = factory.insert_jpeg_segment(
        factory.plain_jpeg((400, 300)), 0xE1, b"Exif\x00\x00" + b"\x00" * 40
    )
    inspected = inspect_upload(broken, max_pixels=BUDGET)
    assert (inspected.width, inspected.height) == (400, 300)
    assert b"Exif" not in inspected.data
