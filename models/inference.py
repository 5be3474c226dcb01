"""Run a registered lesion model: verify, load, preprocess as the manifest says, predict.

The ONNX file's sha256 is checked against the manifest before ONNX Runtime sees a byte
of it, and the session is built from exactly the bytes that were checked, so a file
swapped between the check and the load cannot slip through.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from PIL import Image

from casebox.errors import ConfigurationError, IntegrityViolation, ValidationFailed
from models.registry import (
    CategoryEncoding,
    ImagePreprocessing,
    MetadataEncoding,
    ModelManifest,
)

Sex = Literal["female", "male", "other", "unknown"]
Location = Literal["arm", "head_or_neck", "leg_or_genital", "trunk"]
MAX_INTRA_OP_THREADS = 16
MAX_AGE_YEARS = 130.0

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class LesionMetadata:
    """What the questionnaire tells the model about the patient and the lesion."""

    sex: Sex = "unknown"
    location: Location | None = None
    age_years: float | None = None

    def __post_init__(self) -> None:
        problems: dict[str, list[str]] = {}
        if self.sex not in get_args(Sex):
            problems["sex"] = [f"must be one of {', '.join(get_args(Sex))}"]
        if self.location is not None and self.location not in get_args(Location):
            problems["location"] = [f"must be one of {', '.join(get_args(Location))} or null"]
        if self.age_years is not None and not (
            isinstance(self.age_years, int | float)
            and not isinstance(self.age_years, bool)
            and math.isfinite(self.age_years)
            and 0 <= self.age_years <= MAX_AGE_YEARS
        ):
            problems["age_years"] = [f"must be a number from 0 to {MAX_AGE_YEARS:g} or null"]
        if problems:
            raise ValidationFailed("The lesion metadata is not valid", errors=problems)


@dataclass(frozen=True)
class Prediction:
    """Class probabilities for one photo, labelled with the model that produced them."""

    probabilities: Mapping[str, float]
    malignancy_score: float
    model_name: str
    model_version: str
    model_sha256: str

    @property
    def top_label(self) -> str:
        """The most probable label."""
        return max(self.probabilities, key=lambda label: self.probabilities[label])


class LesionModel:
    """A verified model with its ONNX Runtime session, ready to predict."""

    def __init__(self, manifest: ModelManifest, session: ort.InferenceSession) -> None:
        self.manifest = manifest
        self._session = session

    def predict(self, image: Image.Image, metadata: LesionMetadata) -> Prediction:
        """Return class probabilities and the malignancy score for one upright photo."""
        manifest = self.manifest
        feeds = {manifest.preprocessing.input: image_tensor(image, manifest.preprocessing)}
        if manifest.metadata is not None:
            feeds[manifest.metadata.input] = metadata_vector(metadata, manifest.metadata)
        (row,) = self._session.run([manifest.output], feeds)[0]
        probabilities = {label: float(p) for label, p in zip(manifest.labels, row, strict=True)}
        return Prediction(
            probabilities=probabilities,
            malignancy_score=sum(probabilities[label] for label in manifest.malignant_labels),
            model_name=manifest.name,
            model_version=manifest.version,
            model_sha256=manifest.sha256,
        )


def load_model(manifest: ModelManifest, *, intra_op_threads: int = 1) -> LesionModel:
    """Verify the model file's sha256, then open an ONNX Runtime session on those bytes."""
    if not 1 <= intra_op_threads <= MAX_INTRA_OP_THREADS:
        raise ConfigurationError(
            f"intra_op_threads must be from 1 to {MAX_INTRA_OP_THREADS}",
            errors={"intra_op_threads": ["out of range"]},
        )
    model_bytes = verified_model_bytes(manifest)
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Idle threads sleep instead of spinning: workers share the host with other jobs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(
        model_bytes, sess_options=options, providers=["CPUExecutionProvider"]
    )
    _check_session(manifest, session)
    return LesionModel(manifest, session)


def verified_model_bytes(manifest: ModelManifest) -> bytes:
    """Read the model file and return it only if its sha256 matches the manifest."""
    path = manifest.model_path
    try:
        model_bytes = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{path}: model file is not readable") from exc
    if hashlib.sha256(model_bytes).hexdigest() != manifest.sha256:
        raise IntegrityViolation(
            f"{path}: sha256 does not match manifest {manifest.name} {manifest.version}; "
            "the model was not loaded"
        )
    return model_bytes


def image_tensor(image: Image.Image, spec: ImagePreprocessing) -> FloatArray:
    """Turn a photo into the model's ``[1, height, width, 3]`` float32 RGB tensor."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    resized = resize_bilinear(rgb, spec.height, spec.width)
    scale = np.float32((spec.value_max - spec.value_min) / 255.0)
    scaled = resized * scale + np.float32(spec.value_min)
    return scaled[np.newaxis].astype(np.float32, copy=False)


def resize_bilinear(pixels: npt.NDArray[np.uint8], height: int, width: int) -> FloatArray:
    """Bilinear resize with half-pixel centres and no antialiasing, like ``tf.image.resize``."""
    y_low, y_high, y_frac = _sample_points(pixels.shape[0], height)
    x_low, x_high, x_frac = _sample_points(pixels.shape[1], width)
    x_frac = x_frac[np.newaxis, :, np.newaxis]

    def corner(rows: npt.NDArray[np.intp], cols: npt.NDArray[np.intp]) -> FloatArray:
        # Gather the few sampled pixels first, then convert: not the whole photo.
        return pixels[np.ix_(rows, cols)].astype(np.float32)

    top_left = corner(y_low, x_low)
    top = top_left + (corner(y_low, x_high) - top_left) * x_frac
    bottom_left = corner(y_high, x_low)
    bottom = bottom_left + (corner(y_high, x_high) - bottom_left) * x_frac
    return top + (bottom - top) * y_frac[:, np.newaxis, np.newaxis]


def _sample_points(
    size_in: int, size_out: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], FloatArray]:
    # Same float32 arithmetic as TensorFlow's half-pixel scaler, so results match it exactly.
    scale = np.float32(size_in / size_out)
    centres = (np.arange(size_out, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    floor = np.floor(centres)
    low = np.clip(floor.astype(np.intp), 0, size_in - 1)
    high = np.clip(np.ceil(centres).astype(np.intp), 0, size_in - 1)
    return low, high, (centres - floor).astype(np.float32)


def metadata_vector(metadata: LesionMetadata, encoding: MetadataEncoding) -> FloatArray:
    """Encode sex, location and age as the manifest's ``[1, length]`` float32 vector."""
    vector = np.zeros((1, encoding.length), dtype=np.float32)
    vector[0, _one_hot_slot(encoding.sex, metadata.sex)] = 1.0
    vector[0, _one_hot_slot(encoding.location, metadata.location or "unknown")] = 1.0
    if metadata.age_years is None:
        vector[0, encoding.age_index] = encoding.age_missing_fill_years / encoding.age_divisor
        vector[0, encoding.age_missing_index] = 1.0
    else:
        vector[0, encoding.age_index] = float(metadata.age_years) / encoding.age_divisor
    return vector


def _one_hot_slot(block: CategoryEncoding, value: str) -> int:
    category = value if value in block.categories else block.fallback
    return block.offset + block.categories.index(category)


def _check_session(manifest: ModelManifest, session: ort.InferenceSession) -> None:
    # The manifest must describe the file it vouches for; catch a mismatch at load time.
    actual = {i.name: i for i in session.get_inputs()}
    expected = {spec.name: spec for spec in manifest.inputs}
    if set(actual) != set(expected):
        raise ConfigurationError(
            f"{manifest.model_path}: inputs {sorted(actual)} differ from the manifest's "
            f"{sorted(expected)}"
        )
    for name, spec in expected.items():
        fixed = [d if isinstance(d, int) else None for d in actual[name].shape]
        if actual[name].type != "tensor(float)" or fixed != list(spec.shape):
            raise ConfigurationError(
                f"{manifest.model_path}: input {name} is {actual[name].type} {fixed}, "
                f"the manifest says {spec.dtype} {list(spec.shape)}"
            )
    outputs = {o.name: o for o in session.get_outputs()}
    output = outputs.get(manifest.output)
    if output is None or output.shape[-1] != len(manifest.labels):
        raise ConfigurationError(
            f"{manifest.model_path}: output {manifest.output} with one value per label is missing"
        )
