"""Photo upload, refusal of bad files, image reads and deletion through the API."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import pillow_heif
import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select

from casebox.audit.models import AuditEvent
from casebox.cases.models import Photo
from casebox.database import db
from tests.support import ApiClient, jpeg


def _stored_objects(app: Flask) -> list[Path]:
    root = app.extensions["casebox.settings"].data_dir / "objects"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def _photo_rows(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Photo)) or 0


def _png(size: tuple[int, int] = (900, 700)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (210, 170, 140)).save(buffer, "PNG")
    return buffer.getvalue()


def _heic() -> bytes:
    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    Image.open(io.BytesIO(jpeg(3))).save(buffer, "HEIF", quality=80)
    return buffer.getvalue()


def _hundred_megapixel_png() -> bytes:
    """A 10000x10000 PNG that compresses to well under 1 MB: a decompression bomb."""
    width = height = 10_000
    row = b"\x00" + b"\x00" * width  # filter byte + grey pixels
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        return len(body).to_bytes(4, "big") + kind + body + crc

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("make", "media_type"),
    [(jpeg, "image/jpeg"), (_png, "image/png"), (_heic, "image/heic")],
    ids=["jpeg", "png", "heic"],
)
def test_accepted_formats_are_stored_encrypted(
    api: ApiClient, app: Flask, make: object, media_type: str
) -> None:
    token = api.patient()
    case = api.create_case(token)
    data = make()  # type: ignore[operator]
    response = api.upload(token, case["id"], data)
    assert response.status_code == 201, response.get_json()
    photo = response.get_json()
    assert photo["media_type"] == media_type
    assert photo["status"] == "processing"
    stored = _stored_objects(app)
    assert len(stored) == 1
    assert data[200:264] not in stored[0].read_bytes()  # encrypted at rest
    image = api.client.get(photo["links"]["original"], headers=api.auth(token))
    assert image.status_code == 200
    assert image.content_type == media_type
    Image.open(io.BytesIO(image.data)).load()


def test_image_response_is_private_and_safe(api: ApiClient) -> None:
    token = api.patient()
    case = api.create_case(token)
    photo = api.upload(token, case["id"]).get_json()
    response = api.client.get(photo["links"]["original"], headers=api.auth(token))
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("inline; filename=") and "/" not in disposition.split("=")[1]


def test_image_reads_are_audited(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    photo = api.upload(token, case["id"]).get_json()
    api.client.get(photo["links"]["original"], headers=api.auth(token))
    with app.app_context():
        views = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "photo.view")
        ).all()
    assert [event.object_id for event in views] == [photo["id"]]


def test_stranger_cannot_read_an_image(api: ApiClient) -> None:
    owner, stranger = api.patient(), api.patient()
    case = api.create_case(owner)
    photo = api.upload(owner, case["id"]).get_json()
    response = api.client.get(photo["links"]["original"], headers=api.auth(stranger))
    assert response.status_code == 404


def test_gps_and_camera_metadata_are_removed_from_the_original(api: ApiClient) -> None:
    image = Image.open(io.BytesIO(jpeg()))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "PhoneModel 12"  # Model
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 29.0)  # GPSLatitude
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=90)
    token = api.patient()
    case = api.create_case(token)
    photo = api.upload(token, case["id"], buffer.getvalue()).get_json()
    original = api.client.get(photo["links"]["original"], headers=api.auth(token)).data
    assert b"PhoneMaker" not in original and b"PhoneModel" not in original
    assert not Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)


BAD_FILES = {
    "zero_bytes": (b"", "photo.jpg", "image/jpeg"),
    "truncated_jpeg": (jpeg()[:5000], "photo.jpg", "image/jpeg"),
    "corrupt_jpeg": (jpeg()[:600] + b"\x00" * 4000 + jpeg()[4600:], "photo.jpg", "image/jpeg"),
    "pdf_named_jpg": (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF",
        "x.jpg",
        "image/jpeg",
    ),
    "svg_named_jpg": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "x.jpg",
        "image/jpeg",
    ),
    "hundred_megapixels": (_hundred_megapixel_png(), "big.png", "image/png"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_are_refused_and_leave_nothing(api: ApiClient, app: Flask, name: str) -> None:
    data, filename, content_type = BAD_FILES[name]
    if name == "hundred_megapixels":
        assert len(data) < 1024 * 1024
    token = api.patient()
    case = api.create_case(token)
    response = api.upload(token, case["id"], data, filename=filename, content_type=content_type)
    assert response.status_code == 422, response.get_json()
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["errors"]["file"] and problem["detail"]
    assert _stored_objects(app) == []
    assert _photo_rows(app) == 0


def test_oversized_body_is_413_and_leaves_nothing(api: ApiClient, app: Flask) -> None:
    limit = app.extensions["casebox.settings"].max_upload_bytes
    token = api.patient()
    case = api.create_case(token)
    response = api.upload(token, case["id"], b"\xff\xd8\xff" + b"\x00" * (limit + 100_000))
    assert response.status_code == 413
    assert response.content_type == "application/problem+json"
    assert _stored_objects(app) == [] and _photo_rows(app) == 0


def test_unknown_view_and_missing_file_are_named(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    response = api.upload(token, case["id"], view="selfie")
    assert response.status_code == 422
    assert "view" in response.get_json()["errors"]
    missing = api.client.post(
        f"/api/v1/cases/{case['id']}/photos",
        data={"view": "close_up"},
        content_type="multipart/form-data",
        headers=api.auth(token),
    )
    assert missing.status_code == 422
    assert "file" in missing.get_json()["errors"]
    assert _stored_objects(app) == [] and _photo_rows(app) == 0


def test_photo_cannot_be_added_to_a_submitted_case(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.submitted_case(token)
    objects_before = len(_stored_objects(app))
    response = api.upload(token, case["id"])
    assert response.status_code == 409
    assert response.content_type == "application/problem+json"
    assert len(_stored_objects(app)) == objects_before
    assert _photo_rows(app) == 1


def test_draft_photo_delete_removes_row_and_objects(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    photo = api.upload(token, case["id"]).get_json()
    url = f"/api/v1/cases/{case['id']}/photos/{photo['id']}"
    assert api.client.delete(url, headers=api.auth(token)).status_code == 204
    assert _stored_objects(app) == [] and _photo_rows(app) == 0
    assert api.client.delete(url, headers=api.auth(token)).status_code == 404


def test_photos_of_a_submitted_case_cannot_be_deleted(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.submitted_case(token)
    photo_id = api.client.get(f"/api/v1/cases/{case['id']}", headers=api.auth(token)).get_json()[
        "photos"
    ][0]["id"]
    url = f"/api/v1/cases/{case['id']}/photos/{photo_id}"
    assert api.client.delete(url, headers=api.auth(token)).status_code == 409
    assert _photo_rows(app) == 1


def test_photo_upload_is_idempotent_with_a_key(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    headers = {"Idempotency-Key": "upload-1"}
    first = api.upload(token, case["id"], headers=headers)
    second = api.upload(token, case["id"], headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"]
    assert _photo_rows(app) == 1 and len(_stored_objects(app)) == 1


def test_tampered_stored_photo_is_refused_not_served(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    photo = api.upload(token, case["id"]).get_json()
    [stored] = _stored_objects(app)
    damaged = bytearray(stored.read_bytes())
    damaged[-100] ^= 0x01
    stored.write_bytes(bytes(damaged))
    response = api.client.get(photo["links"]["original"], headers=api.auth(token))
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert "cases/" not in response.get_data(as_text=True)  # no internal keys in the answer


def test_full_size_phone_photo_is_accepted(api: ApiClient) -> None:
    """A 12-megapixel photo of several MB, as phones send them."""
    image = Image.effect_noise((4032, 3024), 30).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    assert len(buffer.getvalue()) > 3 * 1024 * 1024
    token = api.patient()
    case = api.create_case(token)
    response = api.upload(token, case["id"], buffer.getvalue())
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["width"], response.get_json()["height"]) == (4032, 3024)
