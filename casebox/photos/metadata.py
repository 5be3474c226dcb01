"""Container-level work on photo files: header dimensions and lossless metadata removal.

Nothing here decodes pixels. JPEG and PNG files are rebuilt from their own segments
and chunks, minus the ones that can identify a person or a device; the compressed image
data is copied byte for byte. HEIF files are scrubbed in place (same length) because
their item locations are absolute file offsets.

Only the EXIF Orientation survives from the identifying metadata, re-written as a
minimal EXIF block of one tag, so that viewers and ``ImageOps.exif_transpose`` still
show the photo upright.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal

from casebox.errors import PhotoRejected
from casebox.i18n import N_

PhotoFormat = Literal["jpeg", "png", "heif"]

DAMAGED_MESSAGE: Final = N_(
    "The file is damaged or incomplete. Please take the photo again and send it."
)
UNREADABLE_VARIANT_MESSAGE: Final = N_(
    "This photo file uses features we cannot process. Please send it as a JPEG, PNG or HEIC "
    "photo straight from your camera app."
)

# The EXIF tag that says how to turn the stored pixels to show the photo upright.
_ORIENTATION_TAG: Final = 0x0112
_UPRIGHT: Final = 1
_VALID_ORIENTATIONS: Final = range(1, 9)
# Pillow reads an orientation from XMP when EXIF has none; we mirror it so that
# removing the XMP does not turn the photo.
_XMP_ORIENTATION: Final = re.compile(rb'tiff:Orientation(?:="|>)([0-9])')


def damaged_photo() -> PhotoRejected:
    """The rejection for a file whose structure is broken or cut short."""
    return PhotoRejected(DAMAGED_MESSAGE, reason="corrupt")


def unreadable_variant() -> PhotoRejected:
    """The rejection for a well-formed file using a feature we cannot clean or decode."""
    return PhotoRejected(UNREADABLE_VARIANT_MESSAGE, reason="unsupported_format")


def header_dimensions(data: bytes, format: PhotoFormat) -> tuple[int, int]:
    """Stored width and height read from the container header, without decoding pixels."""
    if format == "jpeg":
        return _jpeg_dimensions(data)
    if format == "png":
        return _png_dimensions(data)
    return _heif_dimensions(data)


def strip_identifying_metadata(data: bytes, format: str) -> bytes:
    """The same photo without identifying metadata; compressed pixel data is untouched."""
    if format == "jpeg":
        return _strip_jpeg(data)
    if format == "png":
        return _strip_png(data)
    if format == "heif":
        return _strip_heif(data)
    raise ValueError(f"unknown photo format {format!r}")


# --------------------------------------------------------------------------- readers


class _Reader:
    """Big-endian reads inside ``[pos, end)`` that reject the file when they overrun."""

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data, self.pos, self.end = data, pos, end

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > self.end:
            raise damaged_photo()
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big") if size else 0

    def cstring(self) -> bytes:
        # A missing terminator at the end of a box is common enough to tolerate.
        stop = self.data.find(b"\0", self.pos, self.end)
        stop = self.end if stop < 0 else stop
        text = self.data[self.pos : stop]
        self.pos = min(stop + 1, self.end)
        return text


def _orientation_tiff(orientation: int) -> bytes:
    """A big-endian TIFF header with one IFD holding only the Orientation tag."""
    entry = struct.pack(">HHIHH", _ORIENTATION_TAG, 3, 1, orientation, 0)  # SHORT, 1 value
    return b"MM\0*" + struct.pack(">IH", 8, 1) + entry + struct.pack(">I", 0)


def _tiff_orientation(tiff: bytes) -> int | None:
    """The Orientation of IFD0 in a TIFF/EXIF block, or None when absent or unreadable."""
    tiff = tiff.removeprefix(b"Exif\0\0")
    order = {b"II*\0": "<", b"MM\0*": ">"}.get(tiff[:4])
    if order is None or len(tiff) < 8:
        return None
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    if ifd + 2 > len(tiff):
        return None
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    for index in range(count):
        entry = tiff[ifd + 2 + 12 * index : ifd + 14 + 12 * index]
        if len(entry) < 12:
            return None
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag != _ORIENTATION_TAG:
            continue
        if kind == 3:  # SHORT
            return int(struct.unpack(order + "H", entry[8:10])[0])
        if kind == 4:  # LONG
            return int(struct.unpack(order + "I", entry[8:12])[0])
        return None
    return None


def _xmp_orientation(xmp: bytes) -> int | None:
    match = _XMP_ORIENTATION.search(xmp)
    return int(match[1]) if match else None


def _needs_orientation(orientation: int | None) -> bool:
    return (
        orientation is not None and orientation != _UPRIGHT and orientation in _VALID_ORIENTATIONS
    )


# --------------------------------------------------------------------------- JPEG

_SOI: Final = b"\xff\xd8"
_SOS: Final = 0xDA
_EOI: Final = 0xD9
_APP0, _APP1, _APP2, _APP14 = 0xE0, 0xE1, 0xE2, 0xEE
# Markers without a length field: TEM and the restart markers.
_STANDALONE: Final = frozenset({0x01, *range(0xD0, 0xD8)})
_SOF: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Tables, frame and scan headers the decoder needs; everything else is dropped unless
# it is one of the colour segments chosen in _keeps_jpeg_segment.
_JPEG_CODING: Final = frozenset({*_SOF, 0xC4, 0xCC, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF})
# libjpeg spends time on every progressive scan; real cameras write about ten. A tiny
# file with thousands of scans is a CPU-exhaustion trick, not a photo.
_MAX_SCANS: Final = 200
_EXIF_ID: Final = b"Exif\0\0"
_XMP_ID: Final = b"http://ns.adobe.com/xap/1.0/\0"


@dataclass(frozen=True)
class _Segment:
    """One marker segment; for SOS, ``end`` also covers the entropy-coded data after it."""

    marker: int
    start: int
    end: int

    def payload(self, data: bytes, limit: int | None = None) -> bytes:
        stop = self.end if limit is None else min(self.end, self.start + 4 + limit)
        return data[self.start + 4 : stop]


def _jpeg_segments(data: bytes) -> Iterator[_Segment]:
    """Every segment from after SOI up to and including EOI; a missing EOI is damage."""
    if not data.startswith(_SOI):
        raise damaged_photo()
    pos = 2
    while True:
        start, marker = _next_marker(data, pos)
        if marker == _EOI:
            yield _Segment(marker, start, start + 2)
            return
        if marker in _STANDALONE:
            pos = start + 2
            yield _Segment(marker, start, pos)
            continue
        if marker in (0x00, 0xD8) or start + 4 > len(data):
            raise damaged_photo()
        length = int.from_bytes(data[start + 2 : start + 4], "big")
        pos = start + 2 + length
        if length < 2 or pos > len(data):
            raise damaged_photo()
        if marker == _SOS:
            pos = _entropy_end(data, pos)
        yield _Segment(marker, start, pos)


def _next_marker(data: bytes, pos: int) -> tuple[int, int]:
    """Offset and code of the marker at ``pos``, skipping 0xFF fill bytes."""
    if pos >= len(data) or data[pos] != 0xFF:
        raise damaged_photo()
    while pos + 1 < len(data) and data[pos + 1] == 0xFF:
        pos += 1
    if pos + 1 >= len(data):
        raise damaged_photo()
    return pos, data[pos + 1]


def _entropy_end(data: bytes, pos: int) -> int:
    """Where the entropy-coded data starting at ``pos`` ends: the next real marker."""
    while True:
        candidate = data.find(b"\xff", pos)
        if candidate < 0 or candidate + 1 >= len(data):
            raise damaged_photo()  # cut off inside the image data
        following = data[candidate + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos = candidate + 1  # stuffed byte, restart marker or fill byte
            continue
        return candidate


def _jpeg_dimensions(data: bytes) -> tuple[int, int]:
    for segment in _jpeg_segments(data):
        if segment.marker in _SOF:
            header = segment.payload(data, 5)
            if len(header) < 5:
                raise damaged_photo()
            height, width = struct.unpack(">HH", header[1:5])
            if not (width and height):
                raise damaged_photo()  # a height defined later by DNL: libjpeg refuses it too
            return width, height
        if segment.marker == _SOS:
            break
    raise damaged_photo()


def _keeps_jpeg_segment(marker: int, payload_head: bytes) -> bool:
    """Whether a segment other than APP0/APP1 is needed to decode or colour the image."""
    if marker in _JPEG_CODING or marker in _STANDALONE or marker in (_SOS, _EOI):
        return True
    if marker == _APP2:  # ICC profile kept; MPF (pointers to trailing images) and FlashPix not
        return payload_head.startswith(b"ICC_PROFILE\0")
    if marker == _APP14:  # Adobe: says whether the data is YCbCr, RGB, CMYK or YCCK
        return payload_head.startswith(b"Adobe")
    return False  # APP3..APP15 (IPTC, Photoshop, maker data), COM, reserved markers


def _strip_jpeg(data: bytes) -> bytes:
    jfif: bytes | None = None
    exif_orientation: int | None = None
    xmp_orientation: int | None = None
    seen_exif = False
    kept: list[bytes] = []
    scans = 0
    for segment in _jpeg_segments(data):
        if segment.marker == _APP1:
            payload = segment.payload(data)
            # Pillow reads the first EXIF block and the last XMP packet; so do we.
            if payload.startswith(_EXIF_ID) and not seen_exif:
                seen_exif = True
                exif_orientation = _tiff_orientation(payload[len(_EXIF_ID) :])
            elif payload.startswith(_XMP_ID):
                xmp_orientation = _xmp_orientation(payload)
            continue
        if segment.marker == _APP0:
            if jfif is None:
                jfif = _sanitized_jfif(segment.payload(data))
            continue
        if segment.marker == _SOS:
            scans += 1
            if scans > _MAX_SCANS:
                raise damaged_photo()
        if _keeps_jpeg_segment(segment.marker, segment.payload(data, 16)):
            kept.append(data[segment.start : segment.end])
    if scans == 0:
        raise damaged_photo()
    orientation = exif_orientation if exif_orientation is not None else xmp_orientation
    header = [_SOI, jfif or b""]
    if _needs_orientation(orientation):
        assert orientation is not None
        header.append(_jpeg_segment(_APP1, _EXIF_ID + _orientation_tiff(orientation)))
    # Anything after EOI (phone "motion photo" videos, extra MPF images) is dropped.
    return b"".join(header + kept)


def _sanitized_jfif(payload: bytes) -> bytes | None:
    """The JFIF header without its embedded thumbnail, which may show an uncropped photo."""
    if not payload.startswith(b"JFIF\0") or len(payload) < 14:
        return None  # JFXX extensions and other APP0 users carry only thumbnails or video data
    return _jpeg_segment(_APP0, payload[:12] + b"\0\0")  # thumbnail width and height zero


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


# --------------------------------------------------------------------------- PNG

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
# Critical chunks, transparency and every chunk that changes how colours are shown.
# cICP, mDCV and cLLI are the PNG third-edition colour chunks (HDR and wide gamut).
_PNG_KEPT: Final = frozenset(
    {
        b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB",
        b"iCCP", b"sBIT", b"pHYs", b"cICP", b"mDCV", b"cLLI",
    }
)  # fmt: skip
_PNG_TEXT: Final = frozenset({b"tEXt", b"zTXt", b"iTXt"})
# Text chunks are only inflated to look for an orientation; anything bigger is ignored.
_MAX_INFLATED_TEXT: Final = 1 << 20


@dataclass(frozen=True)
class _Chunk:
    kind: bytes
    start: int
    end: int

    def body(self, data: bytes) -> bytes:
        return data[self.start + 8 : self.end - 4]


def _png_chunks(data: bytes) -> Iterator[_Chunk]:
    """Every chunk up to and including IEND, CRC-checked; a missing IEND is damage."""
    if not data.startswith(_PNG_SIGNATURE):
        raise damaged_photo()
    pos = len(_PNG_SIGNATURE)
    while True:
        if pos + 12 > len(data):
            raise damaged_photo()
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > len(data) or not kind.isalpha():
            raise damaged_photo()
        # Pillow skips the CRC of image data, so a flipped bit there would go unnoticed.
        if zlib.crc32(data[pos + 4 : end - 4]) != int.from_bytes(data[end - 4 : end], "big"):
            raise damaged_photo()
        yield _Chunk(kind, pos, end)
        if kind == b"IEND":
            return
        pos = end


def _png_dimensions(data: bytes) -> tuple[int, int]:
    first = next(_png_chunks(data))
    header = first.body(data)
    if first.kind != b"IHDR" or len(header) != 13:
        raise damaged_photo()
    width, height = struct.unpack(">II", header[:8])
    if not (width and height):
        raise damaged_photo()
    return width, height


def _strip_png(data: bytes) -> bytes:
    kept: list[bytes] = []
    first_idat: int | None = None
    exif_orientation: int | None = None
    raw_profile_orientation: int | None = None
    xmp_orientation: int | None = None
    for chunk in _png_chunks(data):
        if chunk.kind in _PNG_KEPT:
            if chunk.kind == b"IDAT" and first_idat is None:
                first_idat = len(kept)
            kept.append(data[chunk.start : chunk.end])
        elif chunk.kind[:1].isupper():
            raise unreadable_variant()  # an unknown critical chunk: the PNG rules forbid guessing
        elif chunk.kind == b"eXIf" and exif_orientation is None:
            exif_orientation = _tiff_orientation(chunk.body(data))
        elif chunk.kind in _PNG_TEXT:
            keyword, text = _png_text(chunk.kind, chunk.body(data))
            if keyword == b"XML:com.adobe.xmp" and text is not None:
                xmp_orientation = _xmp_orientation(text)
            elif keyword == b"Raw profile type exif" and text is not None:
                raw_profile_orientation = _raw_profile_orientation(text)
        # Everything else (tIME, text, unknown ancillary chunks, APNG frames) is dropped.
    if first_idat is None:
        raise damaged_photo()
    # Pillow's order of preference: eXIf, then ImageMagick's raw profile, then XMP.
    orientation = next(
        (o for o in (exif_orientation, raw_profile_orientation, xmp_orientation) if o is not None),
        None,
    )
    if _needs_orientation(orientation):
        assert orientation is not None
        kept.insert(first_idat, _png_chunk(b"eXIf", _orientation_tiff(orientation)))
    return _PNG_SIGNATURE + b"".join(kept)  # bytes after IEND are dropped


def _png_text(kind: bytes, body: bytes) -> tuple[bytes, bytes | None]:
    """Keyword and text of a text chunk; the text is None when it cannot be read."""
    keyword, _, rest = body.partition(b"\0")
    if keyword not in (b"XML:com.adobe.xmp", b"Raw profile type exif"):
        return keyword, None  # only these two can carry an orientation
    if kind == b"tEXt":
        return keyword, rest
    if kind == b"zTXt":
        return keyword, _inflate(rest[1:])
    compressed, rest = rest[:1] == b"\x01", rest[2:]
    _language, _, rest = rest.partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    return keyword, _inflate(text) if compressed else text


def _inflate(compressed: bytes) -> bytes | None:
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(compressed, _MAX_INFLATED_TEXT)
    except zlib.error:
        return None
    return None if inflater.unconsumed_tail else text


def _raw_profile_orientation(text: bytes) -> int | None:
    """Orientation from ImageMagick's hex-encoded 'Raw profile type exif' text."""
    try:
        exif = bytes.fromhex(b"".join(text.split(b"\n")[3:]).decode("ascii"))
    except ValueError:
        return None
    return _tiff_orientation(exif)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


# --------------------------------------------------------------------------- HEIF

# Item types whose payload is description, not picture: EXIF, MIME items (XMP and
# other packets) and URI-typed items (vendor metadata).
_HEIF_METADATA_ITEMS: Final = frozenset({b"Exif", b"mime", b"uri "})
# Boxes outside 'meta' that only hold descriptive data. 'uuid' is where some writers
# put XMP; 'udta' and a movie's 'meta' are where QuickTime-style writers put location.
_HEIF_METADATA_BOXES: Final = frozenset({b"udta", b"uuid"})
_HEIF_MOVIE_METADATA_BOXES: Final = frozenset({b"udta", b"meta"})
# An EXIF item that parses as "no tags": tiff-header offset 0, then an empty IFD0.
# Readers that insist on a TIFF header (Pillow's getexif) keep working.
_EMPTY_EXIF_ITEM: Final = struct.pack(">I", 0) + b"MM\0*" + struct.pack(">IHI", 8, 0, 0)


@dataclass(frozen=True)
class _Box:
    kind: bytes
    start: int
    body: int
    end: int


@dataclass(frozen=True)
class _ItemLocation:
    item_id: int
    method: int
    data_reference: int
    base_offset: int
    extents: tuple[tuple[int, int], ...]


def _boxes(data: bytes, start: int, end: int) -> Iterator[_Box]:
    """The ISO BMFF boxes laid end to end in ``[start, end)``."""
    pos = start
    while pos < end:
        reader = _Reader(data, pos, end)
        size, kind = reader.uint(4), reader.take(4)
        if size == 1:
            size = reader.uint(8)
        elif size == 0:
            size = end - pos  # "extends to the end"
        if size < reader.pos - pos or pos + size > end:
            raise damaged_photo()
        yield _Box(kind, pos, reader.pos, pos + size)
        pos += size


def _child(data: bytes, parent: _Box, kind: bytes, *, full_box: bool = False) -> _Box | None:
    start = parent.body + (4 if full_box else 0)  # full boxes start with version and flags
    return next((box for box in _boxes(data, start, parent.end) if box.kind == kind), None)


def _heif_meta(data: bytes) -> _Box | None:
    return next((box for box in _boxes(data, 0, len(data)) if box.kind == b"meta"), None)


def _heif_dimensions(data: bytes) -> tuple[int, int]:
    """The largest 'ispe' (image spatial extents) in the file: a safe upper bound."""
    meta = _heif_meta(data)
    iprp = _child(data, meta, b"iprp", full_box=True) if meta else None
    ipco = _child(data, iprp, b"ipco") if iprp else None
    if ipco is None:
        raise damaged_photo()
    sizes = []
    for box in _boxes(data, ipco.body, ipco.end):
        if box.kind == b"ispe":
            reader = _Reader(data, box.body + 4, box.end)
            sizes.append((reader.uint(4), reader.uint(4)))
    if not sizes or not all(width and height for width, height in sizes):
        raise damaged_photo()
    return max(sizes, key=lambda size: size[0] * size[1])


def _strip_heif(data: bytes) -> bytes:
    scrubbed = bytearray(data)
    for box in _boxes(data, 0, len(data)):
        if box.kind == b"meta":
            _scrub_metadata_items(data, box, scrubbed)
        elif box.kind in _HEIF_METADATA_BOXES:
            _blank_box(box, scrubbed)
        elif box.kind == b"moov":
            _scrub_movie_metadata(data, box, scrubbed)
    return bytes(scrubbed)


def _blank_box(box: _Box, scrubbed: bytearray) -> None:
    """Turn a box into a zero-filled 'free' box of the same size, so no offset moves."""
    scrubbed[box.start + 4 : box.start + 8] = b"free"
    scrubbed[box.body : box.end] = bytes(box.end - box.body)


def _scrub_movie_metadata(data: bytes, parent: _Box, scrubbed: bytearray) -> None:
    for box in _boxes(data, parent.body, parent.end):
        if box.kind in _HEIF_MOVIE_METADATA_BOXES:
            _blank_box(box, scrubbed)
        elif box.kind == b"trak":
            _scrub_movie_metadata(data, box, scrubbed)


def _scrub_metadata_items(data: bytes, meta: _Box, scrubbed: bytearray) -> None:
    iinf = _child(data, meta, b"iinf", full_box=True)
    iloc = _child(data, meta, b"iloc", full_box=True)
    if iinf is None or iloc is None:
        return
    item_types = _item_types(data, iinf)
    idat = _child(data, meta, b"idat", full_box=True)
    for location in _item_locations(data, iloc):
        kind = item_types.get(location.item_id)
        if kind in _HEIF_METADATA_ITEMS:
            ranges = _item_ranges(location, len(data), idat)
            filler = _EMPTY_EXIF_ITEM if kind == b"Exif" else b""
            _overwrite(scrubbed, ranges, filler)


def _item_types(data: bytes, iinf: _Box) -> dict[int, bytes]:
    """Item id to item type, from the 'infe' entries of 'iinf'."""
    reader = _Reader(data, iinf.body, iinf.end)
    version = reader.uint(1)
    reader.take(3)
    reader.take(2 if version == 0 else 4)  # entry count; the boxes themselves are counted
    types: dict[int, bytes] = {}
    for infe in _boxes(data, reader.pos, iinf.end):
        if infe.kind != b"infe":
            continue
        entry = _Reader(data, infe.body, infe.end)
        entry_version = entry.uint(1)
        entry.take(3)
        if entry_version >= 2:
            item_id = entry.uint(2 if entry_version == 2 else 4)
            entry.take(2)  # protection index
            types[item_id] = entry.take(4)
        else:
            types[entry.uint(2)] = b"mime"  # versions 0 and 1 only describe MIME-typed items
    return types


def _item_locations(data: bytes, iloc: _Box) -> Iterator[_ItemLocation]:
    """Where each item's bytes are, from the 'iloc' box (versions 0, 1 and 2)."""
    reader = _Reader(data, iloc.body, iloc.end)
    version = reader.uint(1)
    reader.take(3)
    sizes = reader.uint(1)
    more_sizes = reader.uint(1)
    offset_size, length_size = sizes >> 4, sizes & 0x0F
    base_size, index_size = more_sizes >> 4, (more_sizes & 0x0F if version else 0)
    if version > 2 or any(s not in (0, 4, 8) for s in (offset_size, length_size, base_size)):
        raise unreadable_variant()
    count = reader.uint(4 if version == 2 else 2)
    for _ in range(count):
        item_id = reader.uint(4 if version == 2 else 2)
        method = reader.uint(2) & 0x0F if version else 0
        data_reference = reader.uint(2)
        base_offset = reader.uint(base_size)
        extents = []
        for _ in range(reader.uint(2)):
            reader.uint(index_size)
            extents.append((reader.uint(offset_size), reader.uint(length_size)))
        yield _ItemLocation(item_id, method, data_reference, base_offset, tuple(extents))


def _item_ranges(location: _ItemLocation, file_size: int, idat: _Box | None) -> list[range]:
    """File byte ranges of an item; refuses items whose bytes we cannot reach to clean."""
    if location.data_reference != 0 or location.method not in (0, 1):
        raise unreadable_variant()  # stored in another file or built from other items
    if location.method == 0:
        origin, limit = 0, file_size
    elif idat is not None:  # construction method 1: offsets inside the 'idat' box
        origin, limit = idat.body, idat.end
    else:
        raise damaged_photo()
    ranges = []
    for offset, length in location.extents:
        start = origin + location.base_offset + offset
        stop = limit if length == 0 else start + length  # length 0: "to the end"
        if start > stop or stop > limit:
            raise damaged_photo()
        ranges.append(range(start, stop))
    return ranges


def _overwrite(scrubbed: bytearray, ranges: list[range], prefix: bytes) -> None:
    """Fill the ranges with ``prefix`` then zeros (plain zeros if the prefix does not fit)."""
    total = sum(len(span) for span in ranges)
    replacement = prefix if len(prefix) <= total else b""
    replacement += bytes(total - len(replacement))
    cursor = 0
    for span in ranges:
        scrubbed[span.start : span.stop] = replacement[cursor : cursor + len(span)]
        cursor += len(span)
