"""Identifying metadata leaves every format; the picture and its orientation stay exactly."""

from __future__ import annotations

import io
import itertools

import pytest
from PIL import Image, ImageOps

from casebox.errors import PhotoRejected
from casebox.photos.metadata import strip_identifying_metadata
from tests.photos import imagefactory as factory

JPEG_DECODING_MARKERS = {0xC0, 0xC4, 0xDB, 0xDA}  # SOF0, DHT, DQT, SOS (Pillow's baseline)


def _upright_pixels(data: bytes) -> tuple[tuple[int, int], bytes]:
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    return upright.size, upright.tobytes()


def _exif(data: bytes) -> Image.Exif:
    return Image.open(io.BytesIO(data)).getexif()


# --------------------------------------------------------------------------- JPEG


def test_jpeg_loses_gps_device_dates_maker_note_xmp_comment_and_iptc() -> None:
    stripped = strip_identifying_metadata(factory.identifying_jpeg(), "jpeg")
    assert [s for s in factory.IDENTIFYING if s in stripped] == []
    exif = _exif(stripped)
    assert not exif.get_ifd(factory.GPS_IFD)
    assert not exif.get_ifd(factory.EXIF_IFD)
    assert dict(exif) == {factory.ORIENTATION: 6}
    image = Image.open(io.BytesIO(stripped))
    assert "xmp" not in image.info and "comment" not in image.info


def test_jpeg_keeps_only_decoding_colour_and_orientation_segments() -> None:
    stripped = strip_identifying_metadata(factory.identifying_jpeg(), "jpeg")
    segments = list(factory.jpeg_segments(stripped))
    app_segments = [(marker, payload[:6]) for marker, payload in segments if marker >= 0xE0]
    assert app_segments == [(0xE0, b"JFIF\x00\x01"), (0xE1, b"Exif\x00\x00")]
    assert {marker for marker, _ in segments} - {0xE0, 0xE1} == JPEG_DECODING_MARKERS
    exif_payload = dict(segments)[0xE1]
    assert len(exif_payload) < 40  # one tag, no room for anything else


def test_jpeg_compressed_picture_is_byte_for_byte_unchanged() -> None:
    original = factory.identifying_jpeg()
    stripped = strip_identifying_metadata(original, "jpeg")
    assert factory.jpeg_scan_data(stripped) == factory.jpeg_scan_data(original)
    assert stripped.endswith(factory.jpeg_scan_data(original))


def test_jpeg_orientation_still_turns_the_photo_upright() -> None:
    original = factory.identifying_jpeg(orientation=6)
    stripped = strip_identifying_metadata(original, "jpeg")
    size, pixels = _upright_pixels(stripped)
    assert size == (768, 1024)  # turned: the sensor image is 1024 x 768
    assert (size, pixels) == _upright_pixels(original)


@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 7, 8])
def test_every_jpeg_orientation_survives(orientation: int) -> None:
    original = factory.identifying_jpeg((96, 64), orientation=orientation)
    stripped = strip_identifying_metadata(original, "jpeg")
    assert _upright_pixels(stripped) == _upright_pixels(original)


def test_upright_jpeg_gets_no_exif_at_all() -> None:
    stripped = strip_identifying_metadata(factory.identifying_jpeg(orientation=1), "jpeg")
    assert 0xE1 not in dict(factory.jpeg_segments(stripped))


def test_jpeg_orientation_given_only_in_xmp_is_kept_as_exif() -> None:
    original = factory.plain_jpeg((96, 64), xmp=factory.identifying_xmp(orientation=8))
    stripped = strip_identifying_metadata(original, "jpeg")
    assert dict(_exif(stripped)) == {factory.ORIENTATION: 8}
    assert factory.PERSON.encode() not in stripped
    assert _upright_pixels(stripped) == _upright_pixels(original)


def test_jpeg_colour_profile_and_adobe_segment_are_kept() -> None:
    profile = factory.wide_gamut_icc_profile()
    original = factory.insert_jpeg_segment(
        factory.jpeg_with_profile(profile), 0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01"
    )
    stripped = strip_identifying_metadata(original, "jpeg")
    image = Image.open(io.BytesIO(stripped))
    assert image.info["icc_profile"] == profile
    assert image.info["adobe"] == 100


def test_jpeg_thumbnail_in_jfif_header_and_data_after_the_end_are_removed() -> None:
    thumbnail = bytes([2, 1]) + bytes(range(6))  # a 2 x 1 RGB thumbnail
    jfif = b"JFIF\x00\x01\x02\x00\x00\x48\x00\x48" + thumbnail
    plain = factory.plain_jpeg((96, 64))
    assert plain[2:4] == b"\xff\xe0"  # Pillow's own JFIF header, 20 bytes with SOI
    trailer = b"MOTION-PHOTO-VIDEO" + factory.PERSON.encode()
    original = b"\xff\xd8" + factory.jpeg_segment(0xE0, jfif) + plain[20:] + trailer
    stripped = strip_identifying_metadata(original, "jpeg")
    assert dict(factory.jpeg_segments(stripped))[0xE0] == jfif[:12] + b"\x00\x00"
    assert stripped.endswith(b"\xff\xd9")
    assert b"MOTION" not in stripped and factory.PERSON.encode() not in stripped


def test_stripping_twice_changes_nothing_more() -> None:
    once = strip_identifying_metadata(factory.identifying_jpeg(), "jpeg")
    assert strip_identifying_metadata(once, "jpeg") == once


def test_jpeg_with_too_many_scans_is_refused() -> None:
    image = factory.skin_image((64, 48))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", progressive=True)
    progressive = buffer.getvalue()
    first_scan = progressive.index(b"\xff\xda")
    last_scan = progressive.rindex(b"\xff\xda")
    final_scan = progressive[last_scan:-2]
    bomb = progressive[:first_scan] + final_scan * 300 + b"\xff\xd9"
    with pytest.raises(PhotoRejected) as caught:
        strip_identifying_metadata(bomb, "jpeg")
    assert caught.value.reason == "corrupt"


# --------------------------------------------------------------------------- PNG


def test_png_loses_text_xmp_exif_time_and_private_chunks() -> None:
    original = factory.identifying_png()
    kinds = {kind for kind, _ in factory.png_chunks(original)}
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME", b"prVt"} <= kinds
    stripped = strip_identifying_metadata(original, "png")
    runs = [kind for kind, _ in itertools.groupby(k for k, _ in factory.png_chunks(stripped))]
    assert runs == [b"IHDR", b"eXIf", b"IDAT", b"IEND"]
    assert [s for s in factory.IDENTIFYING if s in stripped] == []
    assert dict(_exif(stripped)) == {factory.ORIENTATION: 6}


def test_png_compressed_picture_is_byte_for_byte_unchanged() -> None:
    original = factory.identifying_png()
    stripped = strip_identifying_metadata(original, "png")
    assert factory.png_image_data(stripped) == factory.png_image_data(original)


def test_png_orientation_still_turns_the_photo_upright() -> None:
    original = factory.identifying_png(orientation=6)
    stripped = strip_identifying_metadata(original, "png")
    size, pixels = _upright_pixels(stripped)
    assert size == (480, 640)
    assert (size, pixels) == _upright_pixels(original)


def test_png_colour_and_transparency_chunks_are_kept() -> None:
    buffer = io.BytesIO()
    palette_image = factory.skin_image((64, 48)).convert("P")
    palette_image.save(
        buffer, "PNG", transparency=0, icc_profile=factory.wide_gamut_icc_profile(), dpi=(300, 300)
    )
    original = buffer.getvalue()
    stripped = strip_identifying_metadata(original, "png")
    kept = [kind for kind, _ in factory.png_chunks(stripped)]
    assert [kind for kind, _ in factory.png_chunks(original)] == kept
    assert {b"iCCP", b"PLTE", b"tRNS", b"pHYs"} <= set(kept)


def test_upright_png_gets_no_exif_chunk() -> None:
    stripped = strip_identifying_metadata(factory.identifying_png(orientation=1), "png")
    assert b"eXIf" not in {kind for kind, _ in factory.png_chunks(stripped)}


# --------------------------------------------------------------------------- HEIC


def test_heic_loses_exif_and_xmp_in_place() -> None:
    original = factory.identifying_heic()
    assert all(secret in original for secret in (factory.MAKE.encode(), factory.MAKER_NOTE))
    stripped = strip_identifying_metadata(original, "heif")
    assert len(stripped) == len(original)  # nothing moved, so every offset still holds
    assert [s for s in factory.IDENTIFYING if s in stripped] == []
    exif = _exif(stripped)
    assert not exif.get_ifd(factory.GPS_IFD) and factory.MAKE not in exif.values()
    assert not Image.open(io.BytesIO(stripped)).info.get("xmp", b"").strip(b"\x00")


def test_heic_picture_and_rotation_are_unchanged() -> None:
    original = factory.identifying_heic(orientation=6)
    stripped = strip_identifying_metadata(original, "heif")
    size, pixels = _upright_pixels(stripped)
    assert size == (480, 640)  # libheif applied the rotation the encoder stored as 'irot'
    assert (size, pixels) == _upright_pixels(original)


def test_heic_location_in_a_user_data_box_is_blanked() -> None:
    heic = factory.identifying_heic()
    location = b"\xa9xyz+48.8582+002.2945/" + factory.PERSON.encode()
    udta = (8 + len(location)).to_bytes(4, "big") + b"udta" + location
    stripped = strip_identifying_metadata(heic + udta, "heif")
    assert b"+48.8582" not in stripped and factory.PERSON.encode() not in stripped
    assert stripped[len(heic) + 4 : len(heic) + 8] == b"free"


# --------------------------------------------------------------------------- misuse


def test_unknown_format_name_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="webp"):
        strip_identifying_metadata(b"RIFF", "webp")


@pytest.mark.parametrize("iloc_version", [1, 2])
def test_heic_metadata_stored_in_idat_and_mdat_is_blanked(iloc_version: int) -> None:
    exif = b"\x00\x00\x00\x00" + factory.identifying_exif().tobytes()
    xmp = factory.identifying_xmp()
    original = factory.bare_heif_with_metadata(exif, xmp, iloc_version=iloc_version)
    stripped = strip_identifying_metadata(original, "heif")
    assert len(stripped) == len(original)
    assert [s for s in factory.IDENTIFYING if s in stripped] == []
    idat = stripped.index(b"idat") + 4
    # The EXIF item now reads as a valid, empty TIFF block; the rest is zeros.
    assert (
        stripped[idat : idat + len(exif)].rstrip(b"\x00")
        == b"\x00" * 4 + b"MM\x00*\x00\x00\x00\x08"
    )
    assert stripped.endswith(bytes(len(xmp)))
