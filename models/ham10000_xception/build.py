"""Build the ham10000_xception ONNX artifact from the sklesion 0.2.2 Keras model.

Run by hand from anywhere, with any Python 3.11::

    python3.11 models/ham10000_xception/build.py [--venv /tmp/sklesion-build-venv]

TensorFlow never enters casebox's own environment: the script makes a throwaway
virtualenv outside the repository, installs the pinned converter toolchain into it and
runs itself again inside it. That second run

1. loads the model, its class map, metadata encoding and published test report from the
   installed sklesion package, and checks them against what the manifest documents;
2. converts the Keras model to ONNX with ``tf2onnx.convert.from_keras``, names the
   inputs ``image``/``metadata`` and the output ``probabilities``;
3. stores the weights as float16 (inputs and outputs stay float32);
4. compares Keras, ONNX fp32 and ONNX fp16 on fixed inputs and times ONNX Runtime;
5. writes ``model.onnx`` and ``manifest.json`` beside this file, and the parity fixture
   ``tests/models/fixtures/{example_image.jpg,reference_probabilities.json}``.

The Keras reference on the example image is computed from Pillow-decoded pixels resized
by ``tf.image.resize`` (sklesion's own resize), and a metadata vector produced by
sklesion's own ``preprocess``, so it does not share code with ``models/inference.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURES = REPO / "tests" / "models" / "fixtures"
DEFAULT_VENV = Path("/tmp/sklesion-build-venv")  # noqa: S108 - throwaway, outside the repo

# The whole toolchain is pinned so that a rebuild reproduces the same bytes.
TOOLCHAIN = (
    "sklesion==0.2.2",
    "tensorflow==2.17.0",
    "keras==3.5.0",
    "onnx==1.16.2",
    "numpy==1.26.4",
    "tf2onnx==1.17.0",
    "onnxconverter-common==1.16.0",
    "onnxruntime==1.31.1",  # the version casebox runs the artifact with
    "pillow==13.0.0",  # the version casebox decodes photos with
    "pandas==2.2.3",
)
# dermapred only supplies the example image; its own dependencies (torch, PyQt6) are not needed.
FIXTURE_PACKAGE = "dermapred==0.0.3"
FIXTURE_IMAGE = ("dermapred", "examples/example_image.jpg")

MODEL_NAME = "ham10000_xception"
MODEL_VERSION = "0.2.2+onnx.fp16.1"
OPSET = 17
IMAGE_SIZE = 254
LABELS = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
MALIGNANT = ("akiec", "bcc", "mel")
SEX = ("female", "male", "unknown")
# casebox's location names, in sklesion's order; sklesion spells them with hyphens.
LOCATIONS = ("arm", "head_or_neck", "leg_or_genital", "trunk", "unknown")

# Metadata used for the reference probabilities: casebox vocabulary (None = not given).
REFERENCE_CASES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("nothing_known", {"sex": "unknown", "location": None, "age_years": None}),
    ("male_arm_45", {"sex": "male", "location": "arm", "age_years": 45.0}),
)
# More metadata combinations: paired with the random check images, and their sklesion
# encodings recorded so casebox's encoder can be tested against sklesion's own code.
ENCODING_CASES: tuple[dict[str, Any], ...] = (
    {"sex": "female", "location": "head_or_neck", "age_years": 0.0},
    {"sex": "male", "location": "leg_or_genital", "age_years": 90.0},
    {"sex": "unknown", "location": "trunk", "age_years": 61.5},
    {"sex": "female", "location": None, "age_years": None},
)
RANDOM_CHECKS = 4
TIMING_RUNS = 10


def main() -> None:
    """Parse arguments and run the build outside or inside the throwaway venv."""
    parser = argparse.ArgumentParser(description="Build the ham10000_xception ONNX artifact.")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        build()
    else:
        prepare_and_reenter(args.venv.resolve())


def prepare_and_reenter(venv: Path) -> None:
    """Create the throwaway venv, install the toolchain and run the build inside it."""
    if venv.is_relative_to(REPO):
        sys.exit(f"refusing to build inside the repository: {venv}")
    python = venv / "bin" / "python"
    if not python.exists():
        run([sys.executable, "-m", "venv", str(venv)])
    run([str(python), "-m", "pip", "install", "--quiet", *TOOLCHAIN])
    run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", FIXTURE_PACKAGE])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}
    run([str(python), str(Path(__file__).resolve()), "--inside"], env=env)


def run(command: list[str], env: dict[str, str] | None = None) -> None:
    """Run one command, echoing it, and stop the build if it fails."""
    print("+", " ".join(command), flush=True)
    # The commands are this script's own fixed argv lists, never user input.
    subprocess.run(command, check=True, env=env)  # noqa: S603


def build() -> None:
    """Convert, check and write the artifact and the parity fixture (inside the venv)."""
    import numpy as np
    import tensorflow as tf
    from sklesion.model import SkinLesionClassifier

    np.random.seed(0)
    tf.random.set_seed(0)
    versions = installed_versions()
    print("toolchain:", json.dumps(versions, sort_keys=True))

    classifier = SkinLesionClassifier()
    check_source(classifier)
    keras_model = classifier.model

    with tempfile.TemporaryDirectory() as scratch:
        fp32_path = Path(scratch) / "model_fp32.onnx"
        fp32_path.write_bytes(convert_to_onnx(keras_model))
        fp32_size = fp32_path.stat().st_size
        fp16_path = Path(scratch) / "model_fp16.onnx"
        fp16_path.write_bytes(to_float16(fp32_path.read_bytes()))

        image_path = copy_fixture_image()
        pixels = reference_pixels(image_path)
        inputs = check_inputs(classifier, image_path, pixels)
        keras_out = keras_model.predict(
            [inputs["image"], inputs["metadata"]], batch_size=1, verbose=0
        )
        fp32_out = run_onnx(fp32_path, inputs)
        fp16_out = run_onnx(fp16_path, inputs)
        timing = {
            "fp32": time_onnx(fp32_path, inputs),
            "fp16": time_onnx(fp16_path, inputs),
        }
        fp16_bytes = fp16_path.read_bytes()

    diff_fp32 = float(np.abs(keras_out - fp32_out).max())
    diff_fp16 = float(np.abs(keras_out - fp16_out).max())
    n_example = len(REFERENCE_CASES)
    diff_fp16_example = float(np.abs(keras_out[-n_example:] - fp16_out[-n_example:]).max())
    print(f"ONNX fp32 size {fp32_size} bytes, fp16 size {len(fp16_bytes)} bytes")
    print(f"max |Keras - ONNX fp32| = {diff_fp32:.2e} over {len(keras_out)} inputs")
    print(f"max |Keras - ONNX fp16| = {diff_fp16:.2e} (example image {diff_fp16_example:.2e})")
    print("ONNX Runtime median seconds per image:", json.dumps(timing))
    require(
        diff_fp16 <= 0.005 and np.array_equal(keras_out.argmax(1), fp16_out.argmax(1)),
        "the fp16 model agrees with Keras (within 0.005, same argmax)",
    )
    (HERE / "model.onnx").write_bytes(fp16_bytes)

    checks = {
        "inputs_compared": len(keras_out),
        "max_abs_diff_keras_vs_onnx_fp32": float(f"{diff_fp32:.2e}"),
        "max_abs_diff_keras_vs_onnx_fp16": float(f"{diff_fp16:.2e}"),
        "onnx_fp32_size_bytes": fp32_size,
    }
    write_manifest(classifier, fp16_bytes, versions, checks)
    write_reference(classifier, image_path, inputs, keras_out[-n_example:])


def installed_versions() -> dict[str, str]:
    """Return the installed version of every toolchain package."""
    from importlib.metadata import version

    names = [pin.split("==")[0] for pin in (*TOOLCHAIN, FIXTURE_PACKAGE)]
    return {name: version(name) for name in names}


def check_source(classifier: Any) -> None:
    """Stop unless the package's model and data files say what the manifest will say."""
    from importlib.metadata import metadata

    meta = metadata("sklesion")
    require(meta["Version"] == "0.2.2", "sklesion is version 0.2.2")
    require(meta["License"] == "MIT", "sklesion declares the MIT licence")
    props = classifier.model_props
    require(
        tuple(props["i_cl_map"][i] for i in range(len(LABELS))) == LABELS,
        f"output order is {LABELS}",
    )
    require([int(v) for v in props["img_shape"]] == [IMAGE_SIZE, IMAGE_SIZE], "image is 254x254")
    for key, categories in (("sex", SEX), ("loc", tuple(c.replace("_", "-") for c in LOCATIONS))):
        one_hot = {
            c: [int(i == j) for j in range(len(categories))] for i, c in enumerate(categories)
        }
        require(props["oh_map"][key] == one_hot, f"{key} is one-hot in the order {categories}")
    require(props["age_max"] == 90.0, "age is divided by 90")
    require(tuple(classifier.cl_mal) == MALIGNANT, f"the malignant classes are {MALIGNANT}")
    shapes = [tuple(t.shape) for t in classifier.model.inputs]
    require(shapes == [(None, IMAGE_SIZE, IMAGE_SIZE, 3), (None, 10)], "inputs are image, meta")
    require(tuple(classifier.model.outputs[0].shape) == (None, len(LABELS)), "7 outputs")


def require(condition: bool, expectation: str) -> None:
    """Stop the build, writing nothing more, unless ``condition`` holds."""
    if not condition:
        sys.exit(f"build stopped: expected that {expectation}")


def convert_to_onnx(keras_model: Any) -> bytes:
    """Convert the Keras model and give its inputs, output and batch axis stable names."""
    import tensorflow as tf
    import tf2onnx

    signature = (
        tf.TensorSpec((None, IMAGE_SIZE, IMAGE_SIZE, 3), tf.float32, name="image"),
        tf.TensorSpec((None, 10), tf.float32, name="metadata"),
    )
    started = time.perf_counter()
    proto, _ = tf2onnx.convert.from_keras(keras_model, input_signature=signature, opset=OPSET)
    print(f"tf2onnx.convert.from_keras took {time.perf_counter() - started:.1f} s")
    graph = proto.graph
    require([i.name for i in graph.input] == ["image", "metadata"], "inputs keep their names")
    require(len(graph.output) == 1, "the graph has one output")
    old_output = graph.output[0].name
    for node in graph.node:
        node.output[:] = ["probabilities" if o == old_output else o for o in node.output]
    graph.output[0].name = "probabilities"
    for value in (*graph.input, *graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    graph.name = MODEL_NAME
    name_folded_constants(graph)
    return bytes(proto.SerializeToString())


def name_folded_constants(graph: Any) -> None:
    """Number tf2onnx's folded constants by first use, so rebuilds give identical bytes.

    tf2onnx numbers the constants it folds in an order that changes from run to run;
    everything else in its output is stable.
    """
    first_use: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            first_use.setdefault(name, len(first_use))
    unused = len(first_use)
    initializers = sorted(graph.initializer, key=lambda t: (first_use.get(t.name, unused), t.name))
    folded = [t.name for t in initializers if t.name.startswith("const_fold_opt__")]
    renamed = {old: f"folded_constant_{i}" for i, old in enumerate(folded)}
    for node in graph.node:
        node.input[:] = [renamed.get(name, name) for name in node.input]
    ordered = [type(t).FromString(t.SerializeToString()) for t in initializers]
    for tensor in ordered:
        tensor.name = renamed.get(tensor.name, tensor.name)
    del graph.initializer[:]
    graph.initializer.extend(ordered)


def to_float16(fp32_bytes: bytes) -> bytes:
    """Store weights as float16 while keeping float32 inputs and outputs."""
    import onnx
    from onnxconverter_common import float16

    model = float16.convert_float_to_float16(onnx.load_from_string(fp32_bytes), keep_io_types=True)
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def copy_fixture_image() -> Path:
    """Copy dermapred's example image into the test fixtures, byte for byte."""
    from importlib.resources import files

    package, relative = FIXTURE_IMAGE
    source = files(package).joinpath(relative)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    target = FIXTURES / "example_image.jpg"
    target.write_bytes(source.read_bytes())
    return target


def reference_pixels(image_path: Path) -> Any:
    """Decode with Pillow and resize the way sklesion does (``tf.image.resize``)."""
    import numpy as np
    import tensorflow as tf
    from PIL import Image

    with Image.open(image_path) as image:
        rgb = np.asarray(image.convert("RGB"))
    return tf.image.resize(rgb, [IMAGE_SIZE, IMAGE_SIZE]).numpy().astype(np.float32)


def sklesion_metadata(classifier: Any, image_bytes: bytes, case: dict[str, Any]) -> Any:
    """Return sklesion's own encoding of one casebox metadata case."""
    import numpy as np

    location = case["location"] or "unknown"
    meta = {
        "sex": case["sex"],
        "location": location.replace("_", "-"),
        "age": case["age_years"],
    }
    ((_, vector),) = next(iter(classifier.preprocess({"image": image_bytes, "meta": meta})))
    return np.asarray(vector, dtype=np.float32)[0]


def check_inputs(classifier: Any, image_path: Path, pixels: Any) -> dict[str, Any]:
    """Assemble the comparison batch: seeded random inputs, then the example image cases."""
    import numpy as np

    image_bytes = image_path.read_bytes()
    rng = np.random.default_rng(20241101)
    images = [rng.uniform(0, 255, (IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)]
    images += [np.clip(pixels + rng.normal(0, 20, pixels.shape), 0, 255) for _ in range(3)]
    vectors = [sklesion_metadata(classifier, image_bytes, c) for c in ENCODING_CASES]
    require(len(images) == len(vectors) == RANDOM_CHECKS, "one vector per random image")
    for _, case in REFERENCE_CASES:
        images.append(pixels)
        vectors.append(sklesion_metadata(classifier, image_bytes, case))
    return {
        "image": np.stack(images).astype(np.float32),
        "metadata": np.stack(vectors).astype(np.float32),
    }


def run_onnx(path: Path, inputs: dict[str, Any]) -> Any:
    """Run an ONNX file one input at a time and stack the probabilities."""
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rows = [
        session.run(["probabilities"], {k: v[i : i + 1] for k, v in inputs.items()})[0]
        for i in range(len(inputs["image"]))
    ]
    return np.concatenate(rows)


def time_onnx(path: Path, inputs: dict[str, Any]) -> dict[str, float]:
    """Median seconds per single image with one and with two intra-op threads."""
    import statistics

    import onnxruntime as ort

    one = {k: v[-1:] for k, v in inputs.items()}
    result = {}
    for threads in (1, 2):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        session.run(None, one)
        samples = []
        for _ in range(TIMING_RUNS):
            started = time.perf_counter()
            session.run(None, one)
            samples.append(time.perf_counter() - started)
        result[f"threads_{threads}"] = round(statistics.median(samples), 4)
    return result


def write_manifest(
    classifier: Any, model_bytes: bytes, versions: dict[str, str], checks: dict[str, Any]
) -> None:
    """Write manifest.json from the package's own data and the measured checks."""
    props = classifier.model_props
    report = classifier.cr_test
    # The package's classification report, copied at full precision.
    per_class = {
        label: {
            "precision": float(report["precision"][label]),
            "recall": float(report["recall"][label]),
            "f1": float(report["f1-score"][label]),
            "support": int(report["support"][label]),
        }
        for label in LABELS
    }
    summary: dict[str, float | int] = {
        "accuracy": float(report["f1-score"]["accuracy"]),
        "test_images": int(report["support"]["accuracy"]),
    }
    for average in ("macro", "weighted"):
        for metric in ("precision", "recall", "f1-score"):
            key = f"{average}_avg_{metric.removesuffix('-score')}"
            summary[key] = float(report[metric][f"{average} avg"])
    age_mean = float(props["age_mean"])
    manifest = {
        "schema_version": 1,
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "task": "dermoscopic skin lesion classification (7 classes)",
        "file": "model.onnx",
        "sha256": hashlib.sha256(model_bytes).hexdigest(),
        "size_bytes": len(model_bytes),
        "inputs": [
            {"name": "image", "shape": [None, IMAGE_SIZE, IMAGE_SIZE, 3], "dtype": "float32"},
            {"name": "metadata", "shape": [None, 10], "dtype": "float32"},
        ],
        "output": {
            "name": "probabilities",
            "shape": [None, len(LABELS)],
            "dtype": "float32",
            "meaning": "softmax probabilities over labels, in label order; each row sums to 1",
        },
        "labels": list(LABELS),
        "label_names": {label: classifier.cl_info[label]["name"] for label in LABELS},
        "malignant_labels": list(MALIGNANT),
        "preprocessing": {
            "input": "image",
            "decode": (
                "8-bit RGB (alpha dropped, greyscale expanded). The model applies no EXIF "
                "orientation and no ICC colour conversion; pass an upright image. sklesion "
                "decodes with tf.image.decode_jpeg, which differs from Pillow by a few levels "
                "per pixel; the reference fixture uses Pillow."
            ),
            "channel_order": "RGB",
            "layout": "NHWC",
            "resize": {
                "width": IMAGE_SIZE,
                "height": IMAGE_SIZE,
                "method": "bilinear",
                "coordinate_transform": "half_pixel",
                "antialias": False,
                "keep_aspect_ratio": False,
                "equivalent": "tf.image.resize(image, [254, 254]) with TensorFlow 2.17 defaults",
            },
            "dtype": "float32",
            "value_range": [0, 255],
            "rounding": "none",
            "normalization": (
                "none outside the model: its first layer subtracts a per-channel mean and "
                "divides by the standard deviation learned in training"
            ),
        },
        "metadata_vector": {
            "input": "metadata",
            "length": 10,
            "sex": {"offset": 0, "categories": list(SEX), "fallback": "unknown"},
            "location": {"offset": 3, "categories": list(LOCATIONS), "fallback": "unknown"},
            "age": {
                "index": 8,
                "divisor": float(props["age_max"]),
                "missing_fill_years": age_mean,
            },
            "age_missing": {"index": 9},
            "layout": [
                *(f"sex == {s}" for s in SEX),
                *(f"location == {loc}" for loc in LOCATIONS),
                f"age_years / 90 (when unknown: {age_mean} / 90, the training mean)",
                "1 if age unknown else 0",
            ],
        },
        "metrics": {
            "source": "sklesion 0.2.2 cr_test.pkl: the author's held-out test split",
            "summary": summary,
            "per_class": per_class,
        },
        "provenance": {
            "source_package": "sklesion",
            "source_version": "0.2.2",
            "source_file": "sklesion/model.keras",
            "source_author": "Elio Pereira",
            "architecture": "Keras Xception image branch + dense metadata branch",
            "training_data": (
                "HAM10000 (the package ships the HAM10000 class codes but does not name its "
                "training data; see README.md)"
            ),
            "converter": (
                f"tf2onnx.convert.from_keras, opset {OPSET}; weights to float16 with "
                "onnxconverter-common convert_float_to_float16(keep_io_types=True)"
            ),
            "toolchain": versions,
            "build_script": "models/ham10000_xception/build.py",
            "checks": checks,
        },
        "licence": {
            "model": "MIT (declared in sklesion 0.2.2 package metadata)",
            "file": "LICENSE",
            "training_data": (
                "HAM10000 is published for academic machine learning purposes under its own "
                "terms, which the package does not state; see README.md before any "
                "commercial use"
            ),
        },
        "intended_use": (
            "Decision support for dermatologists reviewing dermoscopic images of a single "
            "skin lesion. Not a diagnosis and not for use by patients."
        ),
        "known_limits": [
            "Trained on dermoscopic images: clinical (phone camera) photos are out of "
            "distribution and its output on them has not been validated.",
            "HAM10000 is dominated by light skin types; performance on darker skin is unknown.",
            "Knows only 7 classes; any other condition is forced into one of them.",
            "Published metrics come from the author's own split of the training source, "
            "not from an external or prospective test.",
            "Melanoma recall on the author's test split is 0.58.",
        ],
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (HERE / "manifest.json").write_text(text, encoding="utf-8")
    print("wrote", HERE / "manifest.json")


def write_reference(
    classifier: Any, image_path: Path, inputs: dict[str, Any], keras_rows: Any
) -> None:
    """Record Keras probabilities on the example image for the parity test."""
    import numpy as np

    image_bytes = image_path.read_bytes()
    cases = []
    for (name, case), vector, row in zip(
        REFERENCE_CASES, inputs["metadata"][-len(REFERENCE_CASES) :], keras_rows, strict=True
    ):
        native = classifier.predict_P(
            {
                "image": image_bytes,
                "meta": {
                    "sex": case["sex"],
                    "location": (case["location"] or "unknown").replace("_", "-"),
                    "age": case["age_years"],
                },
            }
        )[0]
        cases.append(
            {
                "name": name,
                "metadata": case,
                "metadata_vector": [float(v) for v in vector],
                "probabilities": by_label(row),
                "sklesion_predict_P": by_label(native),
            }
        )
        print(name, "argmax", LABELS[int(np.argmax(row))], cases[-1]["probabilities"])
    reference = {
        "model": "sklesion 0.2.2 model.keras, run by Keras 3.5.0 on TensorFlow 2.17.0",
        "image": image_path.name,
        "image_sha256": hashlib.sha256(image_bytes).hexdigest(),
        "preprocessing": (
            "Pillow 13.0.0 decode to RGB, tf.image.resize to 254x254 (bilinear, half-pixel, "
            "no antialias), float32 0-255: the manifest's preprocessing. Metadata vectors "
            "from sklesion's own preprocess()."
        ),
        "sklesion_predict_P_note": (
            "sklesion's own predict_P on the JPEG bytes (tf.image.decode_jpeg instead of "
            "Pillow), recorded to show how much the decoder alone moves the output"
        ),
        "cases": cases,
        "metadata_encodings": [
            {"metadata": case, "metadata_vector": [float(v) for v in vector]}
            for case, vector in zip(ENCODING_CASES, inputs["metadata"][:RANDOM_CHECKS], strict=True)
        ],
    }
    target = FIXTURES / "reference_probabilities.json"
    target.write_text(json.dumps(reference, indent=2) + "\n", encoding="utf-8")
    print("wrote", target)


def by_label(row: Any) -> dict[str, float]:
    """Map one row of probabilities to labels, rounded to 6 decimals."""
    return {label: round(float(p), 6) for label, p in zip(LABELS, row, strict=True)}


if __name__ == "__main__":
    main()
