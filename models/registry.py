"""The model registry: one folder per model, each described by its ``manifest.json``.

A clinic adds a model by adding a folder holding ``manifest.json`` and the ONNX file it
names; :func:`discover_models` finds it without code changes. Parsing validates every
field the loader relies on, so a bad manifest fails at start-up with a message naming
the folder and the field, never half-way through a case.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from casebox.errors import ConfigurationError

MANIFEST_FILE = "manifest.json"
BUNDLED_MODELS = Path(__file__).resolve().parent  # the models shipped with casebox
SUPPORTED_SCHEMA_VERSIONS = frozenset({1})
SEX_VALUES = ("female", "male", "other", "unknown")
LOCATION_VALUES = ("arm", "head_or_neck", "leg_or_genital", "trunk")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class TensorSpec:
    """Name, shape (``None`` for a free axis) and dtype of one model input."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str


@dataclass(frozen=True)
class ImagePreprocessing:
    """How a photo becomes the model's image tensor."""

    input: str
    width: int
    height: int
    resize_method: str
    antialias: bool
    keep_aspect_ratio: bool
    channel_order: str
    layout: str
    value_min: float
    value_max: float


@dataclass(frozen=True)
class CategoryEncoding:
    """A one-hot block of the metadata vector."""

    offset: int
    categories: tuple[str, ...]
    fallback: str


@dataclass(frozen=True)
class MetadataEncoding:
    """Layout of the metadata vector: sex and location one-hot, scaled age, missing flag."""

    input: str
    length: int
    sex: CategoryEncoding
    location: CategoryEncoding
    age_index: int
    age_divisor: float
    age_missing_fill_years: float
    age_missing_index: int


@dataclass(frozen=True)
class ModelManifest:
    """Everything casebox knows about one model, parsed from its ``manifest.json``."""

    name: str
    version: str
    folder: Path
    file: str
    sha256: str
    inputs: tuple[TensorSpec, ...]
    output: str
    labels: tuple[str, ...]
    malignant_labels: tuple[str, ...]
    preprocessing: ImagePreprocessing
    metadata: MetadataEncoding | None
    metrics: Mapping[str, Any]
    provenance: Mapping[str, Any]
    licence: Mapping[str, Any]
    intended_use: str
    known_limits: tuple[str, ...]

    @property
    def model_path(self) -> Path:
        """Path of the ONNX file inside the model's folder."""
        return self.folder / self.file

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], folder: Path) -> ModelManifest:
        """Validate a parsed manifest; raise ConfigurationError naming the bad field."""
        fields = _Fields(data, where=str(folder / MANIFEST_FILE))
        schema = fields.integer("schema_version")
        if schema not in SUPPORTED_SCHEMA_VERSIONS:
            fields.fail("schema_version", f"unsupported version {schema}")
        file = fields.text("file")
        if Path(file).name != file or file in {".", ".."}:
            fields.fail("file", "must be a file name inside the model's folder")
        sha256 = fields.text("sha256")
        if not _SHA256.fullmatch(sha256):
            fields.fail("sha256", "must be 64 lowercase hex digits")
        name = fields.text("name")
        if not _NAME.fullmatch(name):
            fields.fail("name", "must be lowercase letters, digits, '_', '.' or '-'")
        raw_inputs = fields.get("inputs", list)
        inputs = tuple(_tensor(fields.sub(f"inputs[{i}]", raw)) for i, raw in enumerate(raw_inputs))
        labels = fields.strings("labels")
        if not labels or len(set(labels)) != len(labels):
            fields.fail("labels", "must be a non-empty list of distinct labels")
        malignant = fields.strings("malignant_labels")
        if not set(malignant) <= set(labels):
            fields.fail("malignant_labels", "must all be among labels")
        output = fields.sub("output", fields.get("output"))
        output_shape = output.get("shape", list)
        if not output_shape or output_shape[-1] != len(labels):
            output.fail("shape", "last axis must equal the number of labels")
        preprocessing = _preprocessing(fields.sub("preprocessing", fields.get("preprocessing")))
        # A model that takes only the image has no metadata_vector.
        raw_metadata = data.get("metadata_vector")
        metadata = (
            None if raw_metadata is None else _metadata(fields.sub("metadata_vector", raw_metadata))
        )
        _check_inputs(fields, inputs, preprocessing, metadata)
        return cls(
            name=name,
            version=fields.text("version"),
            folder=folder,
            file=file,
            sha256=sha256,
            inputs=inputs,
            output=output.text("name"),
            labels=labels,
            malignant_labels=malignant,
            preprocessing=preprocessing,
            metadata=metadata,
            metrics=fields.get("metrics", Mapping),
            provenance=fields.get("provenance", Mapping),
            licence=fields.get("licence", Mapping),
            intended_use=fields.text("intended_use"),
            known_limits=fields.strings("known_limits"),
        )


def read_manifest(folder: Path) -> ModelManifest:
    """Read and validate ``folder/manifest.json``."""
    path = folder / MANIFEST_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigurationError(f"{path}: no model manifest") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"{path}: not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: must hold a JSON object")
    return ModelManifest.from_dict(data, folder)


def discover_models(root: Path) -> dict[str, ModelManifest]:
    """Return every model under ``root`` (one folder each), keyed by manifest name."""
    if not root.is_dir():
        raise ConfigurationError(f"{root}: the models folder does not exist")
    found: dict[str, ModelManifest] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name.startswith((".", "_")) or not (folder / MANIFEST_FILE).is_file():
            continue
        manifest = read_manifest(folder)
        if manifest.name in found:
            other = found[manifest.name].folder
            raise ConfigurationError(
                f"{folder / MANIFEST_FILE}: model name {manifest.name!r} is already used by {other}"
            )
        found[manifest.name] = manifest
    return found


class _Fields:
    """Typed access to one JSON object, failing with the manifest path and field name."""

    def __init__(self, data: Mapping[str, Any], where: str, prefix: str = "") -> None:
        self.data = data
        self.where = where
        self.prefix = prefix

    def fail(self, key: str, problem: str) -> NoReturn:
        raise ConfigurationError(
            f"{self.where}: field {self.prefix}{key}: {problem}",
            errors={f"{self.prefix}{key}": [problem]},
        )

    def sub(self, key: str, value: Any) -> _Fields:
        if not isinstance(value, Mapping):
            self.fail(key, "must be an object")
        return _Fields(value, self.where, f"{self.prefix}{key}.")

    def get(self, key: str, kind: Any = Mapping) -> Any:
        if key not in self.data:
            self.fail(key, "is required")
        value = self.data[key]
        if not isinstance(value, kind):
            self.fail(key, "has the wrong type")
        return value

    def text(self, key: str) -> str:
        value = self.get(key, str)
        if not value.strip():
            self.fail(key, "must not be empty")
        return str(value)

    def integer(self, key: str) -> int:
        value = self.get(key, int)
        if isinstance(value, bool):
            self.fail(key, "must be an integer")
        return int(value)

    def number(self, key: str) -> float:
        value = self.get(key, (int, float))
        if isinstance(value, bool) or not math.isfinite(value):
            self.fail(key, "must be a finite number")
        return float(value)

    def flag(self, key: str) -> bool:
        return bool(self.get(key, bool))

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.get(key, list)
        if not all(isinstance(item, str) and item for item in value):
            self.fail(key, "must be a list of non-empty strings")
        return tuple(value)


def _tensor(fields: _Fields) -> TensorSpec:
    shape = fields.get("shape", list)
    if not shape or not all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in shape
    ):
        fields.fail("shape", "must list positive sizes or null for a free axis")
    dtype = fields.text("dtype")
    if dtype != "float32":
        fields.fail("dtype", "only float32 inputs are supported")
    return TensorSpec(name=fields.text("name"), shape=tuple(shape), dtype=dtype)


def _preprocessing(fields: _Fields) -> ImagePreprocessing:
    resize = fields.sub("resize", fields.get("resize"))
    method = resize.text("method")
    if method != "bilinear":
        resize.fail("method", "only 'bilinear' is supported")
    if resize.text("coordinate_transform") != "half_pixel":
        resize.fail("coordinate_transform", "only 'half_pixel' is supported")
    if resize.flag("antialias"):
        resize.fail("antialias", "only resizing without antialiasing is supported")
    if resize.flag("keep_aspect_ratio"):
        resize.fail("keep_aspect_ratio", "only a plain stretch to the model's size is supported")
    if fields.text("channel_order") != "RGB":
        fields.fail("channel_order", "only 'RGB' is supported")
    if fields.text("layout") != "NHWC":
        fields.fail("layout", "only 'NHWC' is supported")
    value_range = fields.get("value_range", list)
    if len(value_range) != 2 or not all(isinstance(v, (int, float)) for v in value_range):
        fields.fail("value_range", "must be [min, max]")
    low, high = (float(v) for v in value_range)
    if not low < high:
        fields.fail("value_range", "min must be below max")
    width, height = resize.integer("width"), resize.integer("height")
    if width <= 0 or height <= 0:
        resize.fail("width", "width and height must be positive")
    return ImagePreprocessing(
        input=fields.text("input"),
        width=width,
        height=height,
        resize_method=method,
        antialias=False,
        keep_aspect_ratio=False,
        channel_order="RGB",
        layout="NHWC",
        value_min=low,
        value_max=high,
    )


def _categories(fields: _Fields, key: str, known: tuple[str, ...]) -> CategoryEncoding:
    block = fields.sub(key, fields.get(key))
    categories = block.strings("categories")
    fallback = block.text("fallback")
    if fallback not in categories:
        block.fail("fallback", "must be one of the categories")
    unknown = set(categories) - {*known, "unknown"}
    if unknown:
        block.fail("categories", f"unsupported categories {sorted(unknown)}")
    return CategoryEncoding(block.integer("offset"), categories, fallback)


def _metadata(fields: _Fields) -> MetadataEncoding:
    sex = _categories(fields, "sex", SEX_VALUES)
    location = _categories(fields, "location", LOCATION_VALUES)
    age = fields.sub("age", fields.get("age"))
    divisor = age.number("divisor")
    if divisor <= 0:
        age.fail("divisor", "must be positive")
    encoding = MetadataEncoding(
        input=fields.text("input"),
        length=fields.integer("length"),
        sex=sex,
        location=location,
        age_index=age.integer("index"),
        age_divisor=divisor,
        age_missing_fill_years=age.number("missing_fill_years"),
        age_missing_index=fields.sub("age_missing", fields.get("age_missing")).integer("index"),
    )
    slots = [
        *range(sex.offset, sex.offset + len(sex.categories)),
        *range(location.offset, location.offset + len(location.categories)),
        encoding.age_index,
        encoding.age_missing_index,
    ]
    if sorted(slots) != list(range(encoding.length)):
        fields.fail("length", "the blocks must cover every slot of the vector exactly once")
    return encoding


def _check_inputs(
    fields: _Fields,
    inputs: tuple[TensorSpec, ...],
    preprocessing: ImagePreprocessing,
    metadata: MetadataEncoding | None,
) -> None:
    by_name = {spec.name: spec for spec in inputs}
    image = by_name.get(preprocessing.input)
    if image is None:
        fields.fail("preprocessing.input", "must name one of the inputs")
        return
    if image.shape[1:] != (preprocessing.height, preprocessing.width, 3):
        fields.fail("inputs", "the image input's shape must be [batch, height, width, 3]")
    expected = {preprocessing.input}
    if metadata is not None:
        vector = by_name.get(metadata.input)
        if vector is None or vector.shape[1:] != (metadata.length,):
            fields.fail("metadata_vector.input", "must name an input of shape [batch, length]")
        expected.add(metadata.input)
    if set(by_name) != expected or len(by_name) != len(inputs):
        fields.fail("inputs", "must be exactly the image input and the metadata input")
