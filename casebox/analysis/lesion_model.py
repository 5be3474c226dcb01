"""The lesion model of this process: loaded once, after the worker forks."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from casebox.errors import ConfigurationError
from models import LesionModel, discover_models, load_model

MODELS_ROOT = Path(__file__).resolve().parents[2] / "models"

_lock = threading.Lock()
_loaded: dict[tuple[int, str, str], LesionModel] = {}


def lesion_model(models_dir: Path | None, name: str) -> LesionModel:
    """The named model, verified and opened once per process (a forked child loads anew)."""
    root = models_dir or MODELS_ROOT
    key = (os.getpid(), str(root), name)
    with _lock:
        if key not in _loaded:
            manifests = discover_models(root)
            if name not in manifests:
                raise ConfigurationError(f"no model named {name!r} under {root}")
            # One inference thread per worker process: N workers never oversubscribe N cores.
            _loaded[key] = load_model(manifests[name], intra_op_threads=1)
        return _loaded[key]
