"""The checks every uploaded photo passes before anything is stored.

The file type comes from the bytes, never from the name or the declared content type.
The pixel count is read from the header and refused before any decoder allocates the
image, so a small file cannot expand into gigabytes. The sanitized file is then
decoded once, completely, so that damaged or truncated uploads are refused now rather
than failing later in a worker.

Truncation is caught twice: the container walk demands the end of the file (JPEG EOI,
PNG IEND, complete HEIF boxes), and Pillow's loader raises on short data as long as
``ImageFile.LOAD_TRUNCATED_IMAGES`` keeps its default, False. Nothing may set it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final

import pillow_heif
from PIL import Image, ImageFile

from casebox.errors import PhotoRejected
from casebox.i18n import N_, gettext
from casebox.photos.metadata import (
    PhotoFormat,
    damaged_photo,
    header_dimensions,
    strip_identifying_metadata,
)

pillow_heif.register_heif_opener()

EMPTY_MESSAGE: Final = N_("The file is empty. Please choose the photo again.")
UNSUPPORTED_MESSAGE: Final = N_(
    "This file is not a photo we can accept. Please send a JPEG, PNG or HEIC photo."
)

_JPEG_MAGIC: Final = b"\xff\xd8\xff"
_PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
# Brands of HEVC-coded HEIF ("HEIC"), which phones write.
_HEIC_BRANDS: Final = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
# Generic HEIF brands: accepted unless the file says it is AVIF, which we do not take.
_HEIF_BRANDS: Final = frozenset({b"mif1", b"msf1"})
_AVIF_BRANDS: Final = frozenset({b"avif", b"avis"})
_PILLOW_FORMAT: Final[dict[PhotoFormat, str]] = {"jpeg": "JPEG", "png": "PNG", "heif": "HEIF"}
_ORIENTATION_TAG: Final = 0x0112
# Orientations 5 to 8 show the stored image turned by a quarter turn.
QUARTER_TURNS: Final = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class FileType:
    """What the bytes of a file say it is."""

    format: PhotoFormat
    media_type: str
    extension: str


@dataclass(frozen=True)
class InspectedPhoto:
    """An accepted upload: its type, its upright size and its sanitized bytes."""

    format: PhotoFormat
    media_type: str
    extension: str  # without the dot: "jpg", "png", "heic" or "heif"
    width: int  # as displayed, after the EXIF orientation
    height: int
    data: bytes  # the original with identifying metadata removed, pixels untouched


def inspect_upload(data: bytes, *, max_pixels: int) -> InspectedPhoto:
    """Accept an upload as a sanitized photo, or raise PhotoRejected saying why."""
    file_type = sniff_file_type(data)
    check_pixel_count(header_dimensions(data, file_type.format), max_pixels)
    sanitized = strip_identifying_metadata(data, file_type.format)
    # Decode what will be stored, not what was sent: this also proves the cleaning.
    image = open_photo(sanitized, max_pixels=max_pixels)
    load_pixels(image)
    width, height = upright_size(image)
    return InspectedPhoto(
        format=file_type.format,
        media_type=file_type.media_type,
        extension=file_type.extension,
        width=width,
        height=height,
        data=sanitized,
    )


def sniff_file_type(data: bytes) -> FileType:
    """The photo type announced by the leading bytes; rejects empty and unknown files."""
    if not data:
        raise PhotoRejected(EMPTY_MESSAGE, reason="empty")
    if data.startswith(_JPEG_MAGIC):
        return FileType("jpeg", "image/jpeg", "jpg")
    if data.startswith(_PNG_MAGIC):
        return FileType("png", "image/png", "png")
    heif = _sniff_heif(data)
    if heif is None:
        raise PhotoRejected(UNSUPPORTED_MESSAGE, reason="unsupported_format")
    return heif


def _sniff_heif(data: bytes) -> FileType | None:
    """HEIC or HEIF from the leading 'ftyp' box; None for AVIF and everything else."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return None
    size = int.from_bytes(data[:4], "big")
    if size < 16 or size > len(data) or size % 4:
        return None
    major = data[8:12]
    compatible = {data[i : i + 4] for i in range(16, size, 4)}
    if major in _HEIC_BRANDS or (major in _HEIF_BRANDS and compatible & _HEIC_BRANDS):
        return FileType("heif", "image/heic", "heic")
    if major in _HEIF_BRANDS and not compatible & _AVIF_BRANDS:
        return FileType("heif", "image/heif", "heif")
    return None


def check_pixel_count(size: tuple[int, int], max_pixels: int) -> None:
    """Refuse ('too_many_pixels') an image larger than the configured pixel budget."""
    width, height = size
    if width * height > max_pixels:
        raise PhotoRejected(
            gettext(
                "The photo is too large (%(width)d x %(height)d pixels). Please send a photo of "
                "at most %(limit)s, for example straight from your camera app.",
                width=width,
                height=height,
                limit=_describe_pixels(max_pixels),
            ),
            reason="too_many_pixels",
        )


def _describe_pixels(pixels: int) -> str:
    if pixels >= 1_000_000:
        return gettext("%(count)s megapixels", count=f"{pixels / 1_000_000:g}")
    return gettext("%(count)d pixels", count=pixels)


def open_photo(data: bytes, *, max_pixels: int) -> ImageFile.ImageFile:
    """Open a photo lazily with the one decoder its bytes call for, within the pixel budget."""
    file_type = sniff_file_type(data)
    check_pixel_count(header_dimensions(data, file_type.format), max_pixels)
    try:
        # Restricting the decoder means a file that merely looks like a JPEG can never
        # be handed to another of Pillow's many plugins.
        image = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[file_type.format]])
    except Image.DecompressionBombError as error:
        raise _too_many_pixels_error(max_pixels) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise damaged_photo() from error
    # Our header parser and Pillow's could disagree on an odd file; Pillow's view decides.
    check_pixel_count(image.size, max_pixels)
    return image


def _too_many_pixels_error(max_pixels: int) -> PhotoRejected:
    return PhotoRejected(
        gettext(
            "The photo is too large. Please send a photo of at most %(limit)s.",
            limit=_describe_pixels(max_pixels),
        ),
        reason="too_many_pixels",
    )


def load_pixels(image: ImageFile.ImageFile) -> None:
    """Decode every pixel now; a damaged or truncated file becomes PhotoRejected ('corrupt')."""
    try:
        image.load()
    except MemoryError:
        raise
    except Exception as error:
        # Decoders report damage through many exception types (OSError, SyntaxError,
        # ValueError, struct.error, ...); for a patient every one means "send it again".
        raise damaged_photo() from error


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation (1 to 8) viewers apply to this image; 1 if none is readable."""
    try:
        orientation = image.getexif().get(_ORIENTATION_TAG, 1)
    except (SyntaxError, OSError, ValueError):  # an EXIF block without a valid TIFF header
        return 1
    # HEIF readers apply the file's own rotation while decoding and report 1 here.
    return orientation if orientation in range(1, 9) else 1


def upright_size(image: Image.Image) -> tuple[int, int]:
    """Width and height as the photo is shown, after its EXIF orientation."""
    width, height = image.size
    return (height, width) if exif_orientation(image) in QUARTER_TURNS else (width, height)
