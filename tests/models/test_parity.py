"""The shipped ONNX model reproduces the original Keras model through casebox's own loader."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from models import LesionMetadata, LesionModel, load_model, read_manifest
from models.inference import metadata_vector

REPO = Path(__file__).resolve().parents[2]
MODEL_FOLDER = REPO / "models" / "ham10000_xception"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
REFERENCE = json.loads((FIXTURES / "reference_probabilities.json").read_text(encoding="utf-8"))
TOLERANCE = 0.005


@pytest.fixture(scope="module")
def lesion_model() -> LesionModel:
    """The default model, verified and loaded once for the module."""
    return load_model(read_manifest(MODEL_FOLDER))


@pytest.fixture(scope="module")
def example_image() -> Image.Image:
    with Image.open(FIXTURES / REFERENCE["image"]) as image:
        image.load()
        return image


def _metadata(case: dict[str, Any]) -> LesionMetadata:
    return LesionMetadata(**case["metadata"])


CASES = [pytest.param(case, id=case["name"]) for case in REFERENCE["cases"]]


def test_fixture_image_is_the_one_the_reference_was_computed_on() -> None:
    data = (FIXTURES / REFERENCE["image"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == REFERENCE["image_sha256"]


@pytest.mark.parametrize("case", CASES)
def test_onnx_probabilities_match_keras_reference(
    lesion_model: LesionModel, example_image: Image.Image, case: dict[str, Any]
) -> None:
    prediction = lesion_model.predict(example_image, _metadata(case))
    expected = case["probabilities"]
    assert list(prediction.probabilities) == list(expected)
    for label, probability in expected.items():
        assert prediction.probabilities[label] == pytest.approx(probability, abs=TOLERANCE), label
    assert prediction.top_label == max(expected, key=expected.__getitem__)
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("case", CASES)
def test_metadata_vector_matches_sklesion_encoding(
    lesion_model: LesionModel, case: dict[str, Any]
) -> None:
    encoding = lesion_model.manifest.metadata
    assert encoding is not None
    vector = metadata_vector(_metadata(case), encoding)
    np.testing.assert_allclose(vector[0], case["metadata_vector"], rtol=0, atol=1e-7)


@pytest.mark.parametrize(
    "encoded",
    [pytest.param(e, id=str(i)) for i, e in enumerate(REFERENCE["metadata_encodings"])],
)
def test_metadata_encoding_matches_sklesion_for_more_combinations(
    lesion_model: LesionModel, encoded: dict[str, Any]
) -> None:
    encoding = lesion_model.manifest.metadata
    assert encoding is not None
    vector = metadata_vector(_metadata(encoded), encoding)
    np.testing.assert_allclose(vector[0], encoded["metadata_vector"], rtol=0, atol=1e-7)


def test_prediction_is_labelled_with_the_model_and_scores_malignant_classes(
    lesion_model: LesionModel, example_image: Image.Image
) -> None:
    prediction = lesion_model.predict(example_image, LesionMetadata(sex="other"))
    manifest = lesion_model.manifest
    assert (prediction.model_name, prediction.model_version, prediction.model_sha256) == (
        manifest.name,
        manifest.version,
        manifest.sha256,
    )
    p = prediction.probabilities
    assert prediction.malignancy_score == pytest.approx(p["akiec"] + p["bcc"] + p["mel"])
    # 'other' carries no signal the model was trained on: it is encoded as unknown.
    unknown = lesion_model.predict(example_image, LesionMetadata(sex="unknown"))
    assert prediction.probabilities == unknown.probabilities
