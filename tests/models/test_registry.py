"""Model discovery, manifest validation, integrity checks and input encoding."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from casebox.errors import ConfigurationError, IntegrityViolation, ValidationFailed
from models import (
    LesionMetadata,
    ModelManifest,
    discover_models,
    inference,
    load_model,
    read_manifest,
)
from models.inference import LesionModel, image_tensor, metadata_vector, resize_bilinear

REPO = Path(__file__).resolve().parents[2]
MODELS_ROOT = REPO / "models"
DEFAULT = MODELS_ROOT / "ham10000_xception"
MANIFEST = json.loads((DEFAULT / "manifest.json").read_text(encoding="utf-8"))


def _write_model(folder: Path, manifest: dict[str, Any], model: bytes | None = None) -> Path:
    """A model folder holding ``manifest`` and, if given, the model bytes."""
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    if model is not None:
        (folder / manifest["file"]).write_bytes(model)
    return folder


@pytest.fixture(scope="module")
def manifest() -> ModelManifest:
    return read_manifest(DEFAULT)


class SessionCreated(Exception):
    """Raised by the stand-in InferenceSession, so a test can see that one was attempted."""


@pytest.fixture
def session_attempts(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Replace ONNX Runtime's session constructor with one that records and refuses."""
    attempts: list[object] = []

    def record(model: object, *args: object, **kwargs: object) -> None:
        attempts.append(model)
        raise SessionCreated

    monkeypatch.setattr(inference.ort, "InferenceSession", record)
    return attempts


# Discovery


def test_default_model_is_discovered_with_its_labels() -> None:
    found = discover_models(MODELS_ROOT)
    model = found["ham10000_xception"]
    assert model.labels == ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
    assert model.malignant_labels == ("akiec", "bcc", "mel")
    assert model.model_path == DEFAULT / "model.onnx"
    assert model.model_path.stat().st_size == MANIFEST["size_bytes"]


def test_clinic_added_folder_is_discovered_without_code_changes(tmp_path: Path) -> None:
    _write_model(tmp_path / "ham10000_xception", MANIFEST)
    clinic = {**MANIFEST, "name": "clinic_dermoscopy", "version": "2025.1"}
    _write_model(tmp_path / "clinic_dermoscopy", clinic)
    (tmp_path / "notes").mkdir()  # a folder without a manifest is not a model
    (tmp_path / "README.md").write_text("models live here\n", encoding="utf-8")

    found = discover_models(tmp_path)

    assert sorted(found) == ["clinic_dermoscopy", "ham10000_xception"]
    assert found["clinic_dermoscopy"].version == "2025.1"
    assert found["clinic_dermoscopy"].folder == tmp_path / "clinic_dermoscopy"


def test_two_folders_claiming_one_model_name_are_refused(tmp_path: Path) -> None:
    _write_model(tmp_path / "a", MANIFEST)
    _write_model(tmp_path / "b", MANIFEST)
    with pytest.raises(ConfigurationError, match="already used"):
        discover_models(tmp_path)


# Manifest validation


def _without(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda m: m.pop(key)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(manifest: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = manifest
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value

    return change


@pytest.mark.parametrize(
    ("corrupt", "field"),
    [
        (_without("sha256"), "sha256"),
        (_set("sha256", "not-a-digest"), "sha256"),
        (_without("labels"), "labels"),
        (_set("labels", ["akiec", "akiec"]), "labels"),
        (_set("malignant_labels", ["melanoma"]), "malignant_labels"),
        (_set("file", "../elsewhere/model.onnx"), "file"),
        (_set("schema_version", 99), "schema_version"),
        (_set("output.shape", [None, 5]), "output.shape"),
        (_set("inputs.0.shape", [None, 224, 224, 3]), "inputs"),
        (_set("inputs.1.dtype", "float16"), "inputs[1].dtype"),
        (_set("preprocessing.resize.method", "bicubic"), "preprocessing.resize.method"),
        (_set("preprocessing.channel_order", "BGR"), "preprocessing.channel_order"),
        (_set("metadata_vector.age.index", 2), "metadata_vector.length"),
        (_set("metadata_vector.sex.fallback", "none"), "metadata_vector.sex.fallback"),
        (_set("metadata_vector.age.divisor", 0), "metadata_vector.age.divisor"),
        (_without("intended_use"), "intended_use"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_malformed_manifest_is_refused_naming_the_field(
    tmp_path: Path, corrupt: Callable[[dict[str, Any]], None], field: str
) -> None:
    broken = json.loads(json.dumps(MANIFEST))
    corrupt(broken)
    folder = _write_model(tmp_path / "broken", broken)
    with pytest.raises(ConfigurationError) as caught:
        read_manifest(folder)
    assert f"field {field}:" in caught.value.detail
    assert str(folder / "manifest.json") in caught.value.detail


def test_manifest_that_is_not_json_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "manifest.json").write_text('{"name": "half', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not readable JSON"):
        discover_models(tmp_path)


# Integrity


@pytest.fixture
def copied_model(tmp_path: Path) -> Path:
    """A copy of the default model's folder that a test may tamper with."""
    return Path(shutil.copytree(DEFAULT, tmp_path / "ham10000_xception"))


def test_tampered_model_file_is_refused_before_any_session(
    copied_model: Path, session_attempts: list[object]
) -> None:
    model_file = copied_model / "model.onnx"
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0x01
    model_file.write_bytes(bytes(data))

    with pytest.raises(IntegrityViolation, match="sha256 does not match") as caught:
        load_model(read_manifest(copied_model))

    assert "not loaded" in caught.value.detail
    assert session_attempts == []


def test_intact_copy_reaches_session_creation_with_the_verified_bytes(
    copied_model: Path, session_attempts: list[object]
) -> None:
    with pytest.raises(SessionCreated):
        load_model(read_manifest(copied_model))
    assert session_attempts == [(copied_model / "model.onnx").read_bytes()]


def test_missing_model_file_is_refused(copied_model: Path, session_attempts: list[object]) -> None:
    (copied_model / "model.onnx").unlink()
    with pytest.raises(ConfigurationError, match="not readable"):
        load_model(read_manifest(copied_model))
    assert session_attempts == []


@pytest.mark.parametrize("threads", [0, -1, 10_000])
def test_thread_count_is_bounded(manifest: ModelManifest, threads: int) -> None:
    with pytest.raises(ConfigurationError, match="intra_op_threads"):
        load_model(manifest, intra_op_threads=threads)


def test_manifest_that_misdescribes_the_file_is_refused(tmp_path: Path) -> None:
    renamed = json.loads(json.dumps(MANIFEST))
    renamed["inputs"][1]["name"] = "patient"
    renamed["metadata_vector"]["input"] = "patient"
    folder = _write_model(tmp_path / "renamed", renamed)
    (folder / "model.onnx").symlink_to(DEFAULT / "model.onnx")
    with pytest.raises(ConfigurationError, match="differ from the manifest"):
        load_model(read_manifest(folder))


# Input encoding


@pytest.mark.parametrize(
    ("sex", "slot"), [("female", 0), ("male", 1), ("unknown", 2), ("other", 2)]
)
def test_sex_is_one_hot_in_the_first_three_slots(
    manifest: ModelManifest, sex: Any, slot: int
) -> None:
    assert manifest.metadata is not None
    vector = metadata_vector(LesionMetadata(sex=sex, age_years=30), manifest.metadata)[0]
    assert vector.shape == (10,)
    assert vector[0:3].tolist() == [1.0 if i == slot else 0.0 for i in range(3)]


@pytest.mark.parametrize(
    ("location", "slot"),
    [("arm", 3), ("head_or_neck", 4), ("leg_or_genital", 5), ("trunk", 6), (None, 7)],
)
def test_location_is_one_hot_in_slots_three_to_seven(
    manifest: ModelManifest, location: Any, slot: int
) -> None:
    assert manifest.metadata is not None
    vector = metadata_vector(LesionMetadata(location=location, age_years=30), manifest.metadata)[0]
    assert vector[3:8].tolist() == [1.0 if i == slot else 0.0 for i in range(3, 8)]


def test_known_age_is_divided_by_ninety_and_not_flagged(manifest: ModelManifest) -> None:
    assert manifest.metadata is not None
    vector = metadata_vector(LesionMetadata(age_years=45), manifest.metadata)[0]
    assert vector[8] == pytest.approx(0.5)
    assert vector[9] == 0.0


def test_missing_age_takes_the_training_mean_and_is_flagged(manifest: ModelManifest) -> None:
    assert manifest.metadata is not None
    vector = metadata_vector(LesionMetadata(age_years=None), manifest.metadata)[0]
    assert vector[8] == pytest.approx(51.90180032733224 / 90, abs=1e-7)
    assert vector[9] == 1.0


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"sex": "f"}, "sex"),
        ({"location": "foot"}, "location"),
        ({"age_years": -1}, "age_years"),
        ({"age_years": float("nan")}, "age_years"),
        ({"age_years": True}, "age_years"),
    ],
)
def test_invalid_metadata_is_refused_naming_the_field(fields: dict[str, Any], bad: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        LesionMetadata(**fields)
    assert caught.value.errors is not None
    assert list(caught.value.errors) == [bad]


def test_resize_uses_half_pixel_centres_without_antialiasing() -> None:
    row = np.array([[[0], [100]]], dtype=np.uint8).repeat(3, axis=2)
    upscaled = resize_bilinear(row, 1, 4)[0, :, 0]
    assert upscaled.tolist() == [0.0, 25.0, 75.0, 100.0]
    stripes = np.array([[[0], [255], [0], [255]]], dtype=np.uint8).repeat(3, axis=2)
    # Each output pixel averages exactly its two nearest inputs: no wider filter.
    assert resize_bilinear(stripes, 1, 2)[0, :, 0].tolist() == [127.5, 127.5]
    assert resize_bilinear(stripes, 1, 3)[0, :, 0].tolist() == pytest.approx([42.5, 127.5, 212.5])


def test_image_tensor_is_rgb_0_to_255_at_model_size(manifest: ModelManifest) -> None:
    photo = Image.new("RGBA", (640, 480), (200, 120, 40, 10))
    tensor = image_tensor(photo, manifest.preprocessing)
    assert tensor.shape == (1, 254, 254, 3)
    assert tensor.dtype == np.float32
    assert tensor[0, 100, 100].tolist() == [200.0, 120.0, 40.0]
    grey = image_tensor(Image.new("L", (10, 30), 255), manifest.preprocessing)
    assert grey.shape == (1, 254, 254, 3) and float(grey.min()) == 255.0


# Scoring


class FixedSession:
    """Stands in for an ONNX Runtime session and returns fixed probabilities."""

    def __init__(self, row: list[float]) -> None:
        self.row = row
        self.feeds: dict[str, Any] = {}

    def run(self, outputs: list[str], feeds: dict[str, Any]) -> list[Any]:
        self.feeds = feeds
        return [np.array([self.row], dtype=np.float32)]


def test_malignancy_score_is_akiec_plus_bcc_plus_mel(manifest: ModelManifest) -> None:
    session = FixedSession([0.05, 0.10, 0.20, 0.05, 0.15, 0.40, 0.05])
    model = LesionModel(manifest, session)
    prediction = model.predict(Image.new("RGB", (300, 300)), LesionMetadata())
    assert prediction.malignancy_score == pytest.approx(0.05 + 0.10 + 0.15)
    assert prediction.top_label == "nv"
    assert set(session.feeds) == {"image", "metadata"}
    assert session.feeds["metadata"].shape == (1, 10)
