"""Resumable photo uploads over tus 1.0.0: chunks, offsets, ownership, limits, low-data."""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import timedelta
from pathlib import Path

from flask import Flask
from PIL import Image
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from casebox.audit.models import AuditEvent
from casebox.cases.models import Photo
from casebox.database import db, utcnow
from casebox.uploads.models import Upload
from casebox.uploads.operations import purge_expired_uploads
from tests.support import ApiClient, jpeg

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK_TYPE = "application/offset+octet-stream"


def _metadata(**pairs: str) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in pairs.items()
    )


def _create(
    api: ApiClient, token: str, case_id: str, length: int, *, low_data: bool = False
) -> TestResponse:
    pairs = {
        "case_id": case_id,
        "view": "close_up",
        "filename": "IMG_0001.jpg",
        "filetype": "image/jpeg",
    }
    if low_data:
        pairs["low_data"] = "1"
    headers = {
        **api.auth(token),
        **TUS,
        "Upload-Length": str(length),
        "Upload-Metadata": _metadata(**pairs),
    }
    return api.client.post("/api/v1/uploads", headers=headers)


def _patch(api: ApiClient, token: str, url: str, offset: int, data: bytes) -> TestResponse:
    headers = {**api.auth(token), **TUS, "Upload-Offset": str(offset)}
    return api.client.patch(url, data=data, headers=headers, content_type=CHUNK_TYPE)


def _head(api: ApiClient, token: str, url: str) -> TestResponse:
    return api.client.head(url, headers={**api.auth(token), **TUS})


def _upload(
    api: ApiClient,
    token: str,
    case_id: str,
    data: bytes,
    *,
    chunk: int = 64 * 1024,
    low_data: bool = False,
) -> tuple[str, TestResponse]:
    """Send ``data`` in chunks; returns the upload URL and the last PATCH's response."""
    created = _create(api, token, case_id, len(data), low_data=low_data)
    assert created.status_code == 201, created.get_json()
    url = created.headers["Location"]
    response = created
    for offset in range(0, len(data), chunk):
        response = _patch(api, token, url, offset, data[offset : offset + chunk])
        assert response.status_code == 204, response.get_json()
        assert int(response.headers["Upload-Offset"]) == min(offset + chunk, len(data))
    return url, response


def _photo_with_camera_metadata() -> bytes:
    """A JPEG whose EXIF carries a maker and GPS, which intake strips losslessly."""
    image = Image.open(io.BytesIO(jpeg(5)))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 29.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=92)
    return buffer.getvalue()


def _upload_objects(app: Flask) -> list[Path]:
    root = app.extensions["casebox.settings"].data_dir / "objects" / "uploads"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def _photo_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Photo)) or 0


def test_options_announces_the_protocol_without_a_token(api: ApiClient, app: Flask) -> None:
    response = api.client.options("/api/v1/uploads")
    assert response.status_code == 204
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) >= {"creation", "termination"}
    assert (
        int(response.headers["Tus-Max-Size"]) == app.extensions["casebox.settings"].max_upload_bytes
    )


def test_chunked_upload_stores_the_same_original_as_a_multipart_upload(api: ApiClient) -> None:
    token = api.patient()
    data = _photo_with_camera_metadata()
    multipart = api.upload(token, api.create_case(token)["id"], data).get_json()
    case = api.create_case(token)
    url, last = _upload(api, token, case["id"], data, chunk=40_000)

    photo_url = last.headers["Casebox-Photo"]
    photo = api.client.get(photo_url, headers=api.auth(token)).get_json()
    assert photo["sha256"] == multipart["sha256"]
    original = api.client.get(photo["links"]["original"], headers=api.auth(token)).data
    assert hashlib.sha256(original).hexdigest() == photo["sha256"]
    reference = api.client.get(multipart["links"]["original"], headers=api.auth(token)).data
    assert original == reference and b"PhoneMaker" not in original
    status = api.client.get(url, headers=api.auth(token)).get_json()
    assert status["status"] == "complete"
    assert status["offset"] == status["length"] == len(data)
    assert status["photo"]["id"] == photo["id"]
    assert status["links"]["photo"] == photo_url
    case_photos = api.client.get(f"/api/v1/cases/{case['id']}", headers=api.auth(token))
    assert [p["id"] for p in case_photos.get_json()["photos"]] == [photo["id"]]


def test_head_reports_the_offset_to_resume_from(api: ApiClient) -> None:
    token = api.patient()
    case = api.create_case(token)
    data = jpeg()
    url = _create(api, token, case["id"], len(data)).headers["Location"]
    assert _patch(api, token, url, 0, data[:10_000]).status_code == 204
    head = _head(api, token, url)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "10000"
    assert head.headers["Upload-Length"] == str(len(data))
    assert head.headers["Cache-Control"] == "no-store"
    assert head.headers["Tus-Resumable"] == "1.0.0"
    assert "Upload-Expires" in head.headers


def test_patch_at_the_wrong_offset_is_409_and_changes_nothing(api: ApiClient) -> None:
    token = api.patient()
    case = api.create_case(token)
    data = jpeg()
    url = _create(api, token, case["id"], len(data)).headers["Location"]
    assert _patch(api, token, url, 0, data[:5000]).status_code == 204
    for offset in (0, 4000, 6000):
        response = _patch(api, token, url, offset, data[offset : offset + 1000])
        assert response.status_code == 409
        assert response.content_type == "application/problem+json"
        assert "5000" in response.get_json()["detail"]
    assert _head(api, token, url).headers["Upload-Offset"] == "5000"


def test_another_patients_upload_is_not_found(api: ApiClient, app: Flask) -> None:
    owner, stranger = api.patient(), api.patient()
    case = api.create_case(owner)
    data = jpeg()
    url = _create(api, owner, case["id"], len(data)).headers["Location"]
    assert _create(api, stranger, case["id"], len(data)).status_code == 404
    assert _head(api, stranger, url).status_code == 404
    assert api.client.get(url, headers=api.auth(stranger)).status_code == 404
    assert _patch(api, stranger, url, 0, data).status_code == 404
    deleted = api.client.delete(url, headers={**api.auth(stranger), **TUS})
    assert deleted.status_code == 404
    assert _head(api, owner, url).headers["Upload-Offset"] == "0"
    assert _photo_count(app) == 0


def test_too_large_upload_is_refused_with_413(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    limit = app.extensions["casebox.settings"].max_upload_bytes
    refused = _create(api, token, case["id"], limit + 1)
    assert refused.status_code == 413
    assert refused.content_type == "application/problem+json"
    assert "MB" in refused.get_json()["detail"]
    url = _create(api, token, case["id"], 1000).headers["Location"]
    past_the_end = _patch(api, token, url, 0, jpeg()[:1001])
    assert past_the_end.status_code == 413
    assert _head(api, token, url).headers["Upload-Offset"] == "0"
    assert _upload_objects(app) == []


def test_repeated_final_patch_creates_no_second_photo(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    data = jpeg()
    chunk = 50_000
    url, last = _upload(api, token, case["id"], data, chunk=chunk)
    final_offset = (len(data) - 1) // chunk * chunk
    again = _patch(api, token, url, final_offset, data[final_offset:])
    assert again.status_code == 204
    assert again.headers["Upload-Offset"] == str(len(data))
    assert again.headers["Casebox-Photo"] == last.headers["Casebox-Photo"]
    assert _patch(api, token, url, len(data), b"").status_code == 204
    assert _photo_count(app) == 1
    assert _upload_objects(app) == []  # the chunks went once the photo existed


def test_low_data_use_is_recorded_on_the_case(api: ApiClient) -> None:
    token = api.patient()
    low, normal = api.create_case(token), api.create_case(token)
    assert low["low_data"] is False
    _upload(api, token, low["id"], jpeg(2), low_data=True)
    _upload(api, token, normal["id"], jpeg(3))
    for case, expected in ((low, True), (normal, False)):
        read = api.client.get(f"/api/v1/cases/{case['id']}", headers=api.auth(token))
        assert read.get_json()["low_data"] is expected
    pending = _create(api, token, low["id"], 10, low_data=True).headers["Location"]
    assert api.client.get(pending, headers=api.auth(token)).get_json()["low_data"] is True


def test_requests_without_tus_resumable_are_412(api: ApiClient) -> None:
    token = api.patient()
    case = api.create_case(token)
    headers = {
        **api.auth(token),
        "Upload-Length": "10",
        "Upload-Metadata": _metadata(case_id=case["id"], view="close_up"),
    }
    response = api.client.post("/api/v1/uploads", headers=headers)
    assert response.status_code == 412
    assert response.headers["Tus-Version"] == "1.0.0"
    assert "Tus-Resumable" in response.get_json()["detail"]
    old = api.client.post("/api/v1/uploads", headers={**headers, "Tus-Resumable": "0.2.2"})
    assert old.status_code == 412


def test_chunk_with_the_wrong_content_type_is_415(api: ApiClient) -> None:
    token = api.patient()
    case = api.create_case(token)
    url = _create(api, token, case["id"], 100).headers["Location"]
    headers = {**api.auth(token), **TUS, "Upload-Offset": "0"}
    response = api.client.patch(url, data=b"x" * 100, content_type="image/jpeg", headers=headers)
    assert response.status_code == 415
    assert "application/offset+octet-stream" in response.get_json()["detail"]


def test_bad_metadata_names_the_keys(api: ApiClient) -> None:
    token = api.patient()
    headers = {**api.auth(token), **TUS, "Upload-Length": "10"}
    missing = api.client.post(
        "/api/v1/uploads", headers={**headers, "Upload-Metadata": _metadata(view="sideways")}
    )
    assert missing.status_code == 422
    assert set(missing.get_json()["errors"]) == {"case_id", "view"}
    garbled = api.client.post(
        "/api/v1/uploads", headers={**headers, "Upload-Metadata": "case_id %%%"}
    )
    assert garbled.status_code == 422
    assert "Upload-Metadata" in garbled.get_json()["errors"]


def test_a_file_that_is_not_a_photo_is_refused_at_the_first_chunk(
    api: ApiClient, app: Flask
) -> None:
    token = api.patient()
    case = api.create_case(token)
    pdf = b"%PDF-1.4\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 100
    url = _create(api, token, case["id"], len(pdf) * 2).headers["Location"]
    response = _patch(api, token, url, 0, pdf)
    assert response.status_code == 422
    assert response.get_json()["type"].endswith("photo-rejected")
    assert _upload_objects(app) == []


def test_received_chunks_are_encrypted_at_rest(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    data = jpeg()
    url = _create(api, token, case["id"], len(data)).headers["Location"]
    _patch(api, token, url, 0, data[:30_000])
    (stored,) = _upload_objects(app)
    assert data[1000:1064] not in stored.read_bytes()


def test_termination_forgets_the_upload_and_its_bytes(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    data = jpeg()
    url = _create(api, token, case["id"], len(data)).headers["Location"]
    _patch(api, token, url, 0, data[:30_000])
    assert len(_upload_objects(app)) == 1
    assert api.client.delete(url, headers={**api.auth(token), **TUS}).status_code == 204
    assert _head(api, token, url).status_code == 404
    assert _upload_objects(app) == []


def test_expired_uploads_are_refused_then_purged(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    data = jpeg()
    url = _create(api, token, case["id"], len(data)).headers["Location"]
    _patch(api, token, url, 0, data[:30_000])
    with app.app_context():
        db.session.execute(update(Upload).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    assert _head(api, token, url).status_code == 410
    assert _patch(api, token, url, 30_000, data[30_000:]).status_code == 410
    with app.app_context():
        assert purge_expired_uploads() == 1
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Upload)) == 0
    assert _upload_objects(app) == []
    assert _head(api, token, url).status_code == 404


def test_every_step_is_audited_without_the_file_name(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    url, _ = _upload(api, token, case["id"], jpeg(), chunk=60_000)
    api.client.get(url, headers=api.auth(token))
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "upload").order_by(AuditEvent.seq)
        ).all()
        actions = [event.action for event in events]
        assert actions[0] == "upload.create" and actions[-2:] == ["upload.complete", "upload.view"]
        assert actions.count("upload.chunk") == -(-len(jpeg()) // 60_000)
        assert all("IMG_0001" not in str(event.details) for event in events)
        photo_events = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "photo.upload")
        ).all()
    assert photo_events == ["photo.upload"]
