"""The ONNX model registry: one folder per model, its manifest, and the loader."""

from models.inference import (
    LesionMetadata,
    LesionModel,
    Prediction,
    load_model,
)
from models.registry import ModelManifest, discover_models, read_manifest

__all__ = [
    "LesionMetadata",
    "LesionModel",
    "ModelManifest",
    "Prediction",
    "discover_models",
    "load_model",
    "read_manifest",
]
