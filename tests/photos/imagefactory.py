"""Builders of realistic photo files for tests, and small readers of their structure.

Every builder returns the bytes a phone or an editor could plausibly send: a
skin-toned picture with a darker lesion, carrying the identifying metadata casebox must
remove (GPS position, camera make, model and serial number, maker notes, dates, XMP,
comments). The strings in ``IDENTIFYING`` are planted in those fields so tests can
check that none survives.

The readers at the end parse JPEG and PNG structure independently of casebox's own
parser, so that tests do not check the code with itself.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib
from collections.abc import Iterator

import pillow_heif
from PIL import Image, ImageChops, ImageDraw, ImageFilter, PngImagePlugin

pillow_heif.register_heif_opener()

SKIN = (224, 180, 150)
LESION = (110, 70, 45)

MAKE = "PhoneMaker"
MODEL = "PhoneModel 12"
SERIAL = "SN-0042-7781"
MAKER_NOTE = b"MakerNoteSecret: face-id-hash=9f3c"
TAKEN_AT = "2024:05:01 10:20:30"
PERSON = "Jane Patient"
COMMENT = "Taken at 12 Example Road"
# Latitude 48 deg 51' 29.5" N, longitude 2 deg 17' 40.2" E.
GPS_LATITUDE = (48.0, 51.0, 29.5)
GPS_LONGITUDE = (2.0, 17.0, 40.2)

IDENTIFYING: tuple[bytes, ...] = (
    MAKE.encode(),
    MODEL.encode(),
    SERIAL.encode(),
    MAKER_NOTE,
    TAKEN_AT.encode(),
    PERSON.encode(),
    COMMENT.encode(),
)

GPS_IFD = 0x8825
EXIF_IFD = 0x8769
ORIENTATION = 0x0112


# --------------------------------------------------------------------------- pictures


def skin_image(
    size: tuple[int, int] = (1024, 768), colour: tuple[int, int, int] = SKIN
) -> Image.Image:
    """A skin-toned picture with fine texture and an off-centre lesion (no two sides alike)."""
    scale = max(size) / _DRAWN_LONG_EDGE
    if scale > 1:  # draw small and enlarge: big test photos in milliseconds, not seconds
        small = (max(1, round(size[0] / scale)), max(1, round(size[1] / scale)))
        return _drawn_skin(small, colour).resize(size, Image.Resampling.BICUBIC)
    return _drawn_skin(size, colour)


_DRAWN_LONG_EDGE = 1024


def _drawn_skin(size: tuple[int, int], colour: tuple[int, int, int]) -> Image.Image:
    width, height = size
    base = Image.new("RGB", size, colour)
    noise = Image.effect_noise(size, 10).convert("L")
    image = ImageChops.add(base, Image.merge("RGB", (noise, noise, noise)), offset=-128)
    draw = ImageDraw.Draw(image)
    # Lesion in the upper-left third and a small dark mark in one corner, so that any
    # rotation or mirroring of the picture changes its pixels.
    cx, cy, r = width // 3, height // 3, max(4, min(size) // 6)
    draw.ellipse((cx - r, cy - int(r * 0.8), cx + r, cy + int(r * 0.7)), fill=LESION)
    draw.rectangle((0, 0, max(2, width // 20), max(2, height // 20)), fill=(60, 40, 30))
    return image.filter(ImageFilter.GaussianBlur(1.5))


def identifying_exif(orientation: int = 6) -> Image.Exif:
    """EXIF as a phone writes it: device, serial, maker note, dates, GPS and orientation."""
    exif = Image.Exif()
    exif[0x010F] = MAKE
    exif[0x0110] = MODEL
    exif[0x0132] = TAKEN_AT  # DateTime
    exif[ORIENTATION] = orientation
    details = exif.get_ifd(EXIF_IFD)
    details[0x9003] = TAKEN_AT  # DateTimeOriginal
    details[0x927C] = MAKER_NOTE
    details[0xA431] = SERIAL  # BodySerialNumber
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", GPS_LATITUDE
    gps[3], gps[4] = "E", GPS_LONGITUDE
    return exif


def identifying_xmp(orientation: int | None = None) -> bytes:
    """An XMP packet naming a person, optionally with a tiff:Orientation."""
    turn = f' tiff:Orientation="{orientation}"' if orientation else ""
    return (
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
        f'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" dc:creator="{PERSON}"{turn}/>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


# --------------------------------------------------------------------------- JPEG


def plain_jpeg(size: tuple[int, int] = (1024, 768), **save: object) -> bytes:
    """A skin photo as JPEG with no metadata beyond JFIF."""
    buffer = io.BytesIO()
    skin_image(size).save(buffer, "JPEG", quality=90, **save)
    return buffer.getvalue()


@functools.cache
def identifying_jpeg(
    size: tuple[int, int] = (1024, 768), *, orientation: int = 6, trailer: bytes = b""
) -> bytes:
    """A phone JPEG: EXIF with GPS, maker note and serial, XMP, a comment and IPTC."""
    data = plain_jpeg(
        size,
        exif=identifying_exif(orientation),
        xmp=identifying_xmp(),
        comment=COMMENT.encode(),
    )
    iptc = b"Photoshop 3.0\0" + b"8BIM\x04\x04\0\0" + struct.pack(">I", 17) + b"\x1c\x02\x50\0\x0c"
    iptc += PERSON.encode() + b"\0"
    return insert_jpeg_segment(data, 0xED, iptc) + trailer


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    """One JPEG marker segment with its length."""
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def insert_jpeg_segment(data: bytes, marker: int, payload: bytes) -> bytes:
    """The JPEG with one more marker segment placed right after SOI."""
    return data[:2] + jpeg_segment(marker, payload) + data[2:]


def jpeg_with_profile(icc_profile: bytes, colour: tuple[int, int, int] = SKIN) -> bytes:
    """A flat patch of one colour, tagged with the given ICC profile."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(
        buffer, "JPEG", quality=95, subsampling=0, icc_profile=icc_profile
    )
    return buffer.getvalue()


# --------------------------------------------------------------------------- PNG


@functools.cache
def identifying_png(
    size: tuple[int, int] = (640, 480), *, orientation: int = 6, mode: str = "RGB"
) -> bytes:
    """A PNG from an editor: tEXt, zTXt, iTXt (XMP), eXIf with GPS, tIME and a private chunk."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", PERSON)
    info.add_text("Comment", COMMENT, zip=True)
    info.add_itxt("XML:com.adobe.xmp", identifying_xmp().decode())
    info.add(b"tIME", struct.pack(">HBBBBB", 2024, 5, 1, 10, 20, 30))
    info.add(b"prVt", f"device={SERIAL}".encode())  # an unknown ancillary chunk
    buffer = io.BytesIO()
    skin_image(size).convert(mode).save(
        buffer, "PNG", pnginfo=info, exif=identifying_exif(orientation)
    )
    return buffer.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk with a correct CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@functools.cache
def hundred_megapixel_png() -> bytes:
    """A valid 10000 x 10000 grey PNG of well under 1 MB: a decompression bomb."""
    width = height = 10_000
    row = bytes(1 + width)  # filter byte "none", then black pixels
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def png_with_bad_idat_crc(data: bytes) -> bytes:
    """The PNG with one bit flipped in the CRC of its first image-data chunk."""
    length_at = data.index(b"IDAT") - 4
    (length,) = struct.unpack(">I", data[length_at : length_at + 4])
    crc_at = length_at + 8 + length
    return data[:crc_at] + bytes([data[crc_at] ^ 0x01]) + data[crc_at + 1 :]


def png_with_damaged_idat(data: bytes) -> bytes:
    """The PNG with garbage in its compressed image data but a matching CRC."""
    chunks = list(png_chunks(data))
    rebuilt = [
        png_chunk(kind, b"\x78\x9c" + b"\xff" * (len(body) - 2) if kind == b"IDAT" else body)
        for kind, body in chunks
    ]
    return b"\x89PNG\r\n\x1a\n" + b"".join(rebuilt)


# --------------------------------------------------------------------------- HEIC


@functools.cache
def identifying_heic(size: tuple[int, int] = (640, 480), *, orientation: int = 6) -> bytes:
    """An iPhone-like HEIC with EXIF (GPS, maker note, serial) and XMP."""
    buffer = io.BytesIO()
    skin_image(size).save(
        buffer,
        "HEIF",
        quality=85,
        exif=identifying_exif(orientation).tobytes(),
        xmp=identifying_xmp(),
    )
    return buffer.getvalue()


def bare_heif_with_metadata(exif: bytes, xmp: bytes, *, iloc_version: int) -> bytes:
    """A HEIF container with no picture: EXIF stored inside 'idat', XMP inside 'mdat'.

    It exercises the layouts phones use less often than pillow-heif does (iloc versions
    1 and 2, construction method 1) and can be cleaned, though not decoded.
    """
    wide = iloc_version == 2  # version 2 uses 32-bit item ids
    item_id = ">I" if wide else ">H"
    entries = [
        _full_box(b"infe", 3 if wide else 2, struct.pack(item_id, 1) + b"\0\0Exif" + b"exif\0"),
        _full_box(
            b"infe",
            3 if wide else 2,
            struct.pack(item_id, 2) + b"\0\0mime" + b"xmp\0application/rdf+xml\0",
        ),
    ]
    iinf = _full_box(b"iinf", 0, struct.pack(">H", len(entries)) + b"".join(entries))
    idat = _box(b"idat", exif)
    ftyp = _box(b"ftyp", b"heic" + bytes(4) + b"mif1heic")

    def meta(xmp_offset: int) -> bytes:
        def location(number: int, method: int, offset: int, length: int) -> bytes:
            return (
                struct.pack(item_id, number)
                + struct.pack(">HHH", method, 0, 1)  # method, data reference, one extent
                + struct.pack(">II", offset, length)
            )

        count = struct.pack(">I" if wide else ">H", 2)
        iloc = _full_box(
            b"iloc",
            iloc_version,
            b"\x44\x00"
            + count
            + location(1, 1, 0, len(exif))
            + location(2, 0, xmp_offset, len(xmp)),
        )
        hdlr = _full_box(b"hdlr", 0, bytes(4) + b"pict" + bytes(12) + b"\0")
        return _full_box(b"meta", 0, hdlr + iinf + iloc + idat)

    xmp_offset = len(ftyp) + len(meta(0)) + 8
    return ftyp + meta(xmp_offset) + _box(b"mdat", xmp)


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full_box(kind: bytes, version: int, body: bytes) -> bytes:
    return _box(kind, bytes([version, 0, 0, 0]) + body)


# --------------------------------------------------------------------------- not photos


def pdf_bytes() -> bytes:
    """The start of a PDF document, as sent under a .jpg name."""
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << >>\n%%EOF\n"


def svg_bytes() -> bytes:
    """An SVG with a script: the classic stored-XSS upload."""
    return (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(document.cookie)</script></svg>"
    )


def encoded_with_pillow(format: str) -> bytes:
    """A skin picture in another format Pillow can write (GIF, WEBP, AVIF, BMP, TIFF)."""
    buffer = io.BytesIO()
    skin_image((128, 96)).save(buffer, format)
    return buffer.getvalue()


# --------------------------------------------------------------------------- readers


def jpeg_segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Marker and payload of each header segment of a JPEG, up to its first SOS."""
    pos = 2
    while True:
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        yield marker, data[pos + 4 : pos + 2 + length]
        if marker == 0xDA:
            return
        pos += 2 + length


def jpeg_scan_data(data: bytes) -> bytes:
    """The bytes from the first SOS marker to the end of EOI: the compressed picture."""
    pos = 2
    while data[pos + 1] != 0xDA:
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    # 0xFF is always escaped inside entropy-coded data, so the first EOI after SOS ends it.
    return data[pos : data.index(b"\xff\xd9", pos) + 2]


def png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Type and body of each chunk of a PNG."""
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        yield data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length


def png_image_data(data: bytes) -> bytes:
    """The concatenated IDAT bodies: the compressed picture."""
    return b"".join(body for kind, body in png_chunks(data) if kind == b"IDAT")


# --------------------------------------------------------------------------- ICC


def wide_gamut_icc_profile() -> bytes:
    """An RGB display profile with Adobe-RGB-like primaries and gamma 2.2, built by hand.

    Its gamut is wider than sRGB's, so a correct conversion to sRGB makes colours more
    saturated than reading the same numbers as sRGB would.
    """
    d50 = (0.9642, 1.0, 0.8249)
    tags = [
        (b"desc", _icc_description("casebox test wide gamut")),
        (b"cprt", b"text\0\0\0\0" + b"No copyright, test data\0"),
        (b"wtpt", _icc_xyz(d50)),
        (b"rXYZ", _icc_xyz((0.6097, 0.3111, 0.0195))),
        (b"gXYZ", _icc_xyz((0.2053, 0.6257, 0.0609))),
        (b"bXYZ", _icc_xyz((0.1492, 0.0632, 0.7446))),
        (b"rTRC", _icc_gamma(2.2)),
        (b"gTRC", _icc_gamma(2.2)),
        (b"bTRC", _icc_gamma(2.2)),
    ]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table, bodies = struct.pack(">I", len(tags)), b""
    for signature, body in tags:
        padded = body + bytes(-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(bodies), len(body))
        bodies += padded
    size = 128 + table_size + len(bodies)
    header = (
        struct.pack(">I", size)
        + bytes(4)  # preferred CMM
        + struct.pack(">I", 0x02100000)  # version 2.1
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + bytes(24)  # platform, flags, manufacturer, model, attributes
        + struct.pack(">I", 0)  # perceptual intent
        + _s15fixed16(d50)
        + bytes(4 + 16 + 28)  # creator, profile id, reserved
    )
    assert len(header) == 128
    return header + table + bodies


def _s15fixed16(values: tuple[float, float, float]) -> bytes:
    return struct.pack(">3i", *(round(value * 65536) for value in values))


def _icc_xyz(values: tuple[float, float, float]) -> bytes:
    return b"XYZ \0\0\0\0" + _s15fixed16(values)


def _icc_gamma(gamma: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256))


def _icc_description(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    return (
        b"desc\0\0\0\0"
        + struct.pack(">I", len(ascii_text))
        + ascii_text
        + struct.pack(">II", 0, 0)  # no Unicode description
        + struct.pack(">HB", 0, 0)  # no ScriptCode description
        + bytes(67)
    )
