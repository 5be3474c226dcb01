"""Calibration of the photo quality gate (casebox.photos.quality) on real and degraded photos.

There are no patient photos in this repository. The script measures:

* casebox's own synthetic lesion photos (``casebox.demo.synthetic_lesion_photo`` and the
  test factory's ``skin_image``), drawn at review size;
* real photographs shipped inside two PyPI wheels, read straight from the wheel files
  (nothing is copied into the repository): scikit-image 0.26.0 ``skimage/data``
  (astronaut: NASA, public domain; chelsea, coffee, camera: CC0; rocket: SpaceX, public
  domain; hubble_deep_field: NASA; grass, gravel, brick, retina: CC0;
  immunohistochemistry: no known restrictions) and matplotlib 3.11.2 ``grace_hopper.jpg``
  (US Navy, public domain);
* darker-skin versions of the skin images, made by scaling each channel in linear light
  so that the mean colour becomes a Monk Skin Tone swatch (MST 6, 8, 10; Google, CC BY
  4.0) or a Fitzpatrick V-VI tone. This keeps the real texture but is a simulation: no
  photo of dark skin ships in a package we could find.

Each image is degraded (Gaussian and motion blur given in working-size pixels, exposure
in stops of linear light, smaller originals) and assessed as the pipeline assesses the
review image: its pixels before JPEG encoding. The table shows the metrics, the verdict
and the reason codes; the summary shows where each threshold falls between the groups it
must separate.

    .venv/bin/pip download --no-deps --only-binary :all: -d /tmp/wheels \\
        scikit-image==0.26.0 matplotlib==3.11.2
    .venv/bin/python benchmarks/quality_calibration.py --wheels /tmp/wheels

Without ``--wheels`` only the synthetic photos are measured.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from casebox.demo import synthetic_lesion_photo  # noqa: E402
from casebox.photos.quality import (  # noqa: E402
    WORKING_LONG_EDGE,
    QualityReport,
    QualityThresholds,
    assess_quality,
)
from tests.photos.imagefactory import skin_image  # noqa: E402

PHONE_SIZE = (4032, 3024)  # the original size assumed unless a degradation changes it
SKIMAGE = "skimage/data/{}"
HOPPER = "matplotlib/mpl-data/sample_data/grace_hopper.jpg"
NON_SKIN_FILES = (
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "hubble_deep_field.jpg",
    "retina.jpg",
    "ihc.png",
    "grass.png",
    "gravel.png",
    "brick.png",
    "camera.png",
)
# Monk Skin Tone scale swatches 6, 8 and 10, and two Fitzpatrick V-VI tones.
DARK_TONES = {
    "MST6": (0xA0, 0x7E, 0x56),
    "MST8": (0x60, 0x41, 0x34),
    "MST10": (0x29, 0x24, 0x20),
    "FitzV": (90, 60, 45),
    "FitzVI": (60, 40, 30),
}


@dataclass(frozen=True)
class Source:
    """A test image, whether it shows skin, and whether it is a real photograph."""

    name: str
    image: Image.Image
    skin: bool
    photo: bool = True  # False: drawn by a program, with little or no fine texture


@dataclass(frozen=True)
class Degradation:
    """A named change to an image, and the original size it implies."""

    name: str
    apply: Callable[[Image.Image], Image.Image]
    original_size: tuple[int, int] | None = None  # None: PHONE_SIZE


# --------------------------------------------------------------------------- sources


def synthetic_sources() -> list[Source]:
    """casebox's demo lesion photos and the test factory's skin, at their natural sizes."""
    demo = [
        Source(f"demo{seed}", Image.open(io.BytesIO(synthetic_lesion_photo(seed))), True, False)
        for seed in (1, 2)
    ]
    return [*demo, Source("factory", skin_image((2048, 1536)), True, False)]


def wheel_sources(wheels: Path) -> list[Source]:
    """Real photographs read from the scikit-image and matplotlib wheels."""
    skimage_wheel = _one(wheels, "scikit_image-*.whl")
    matplotlib_wheel = _one(wheels, "matplotlib-*.whl")

    def skimage(name: str) -> Image.Image:
        return _read(skimage_wheel, SKIMAGE.format(name))

    astronaut = skimage("astronaut.png")
    hopper = _read(matplotlib_wheel, HOPPER)
    sources = [
        Source("astronaut", astronaut, True),
        Source("astro-face", astronaut.crop((160, 70, 290, 200)), True),
        Source("hopper", hopper, True),
        Source("hopper-face", hopper.crop((165, 190, 355, 380)), True),
    ]
    for file_name in NON_SKIN_FILES:
        sources.append(Source(file_name.split(".")[0], skimage(file_name), False))
    return sources


def _one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    if not found:
        raise SystemExit(f"no {pattern} in {folder}")
    return found[-1]


def _read(wheel: Path, member: str) -> Image.Image:
    with zipfile.ZipFile(wheel) as archive:
        image = Image.open(io.BytesIO(archive.read(member)))
        return image.convert("RGB")


def flat_scenes() -> list[Source]:
    """Textured scenes of one non-skin colour: sky, leaves, a grey wall."""
    scenes = []
    colours = {
        "blue": (60, 110, 190),
        "green": (70, 140, 60),
        "grey": (128, 128, 128),
        "dark grey": (30, 30, 30),
    }
    for name, colour in colours.items():
        scenes.append(Source(name, _textured(colour, (2048, 1536), len(scenes)), False, False))
    return scenes


def _textured(colour: tuple[int, int, int], size: tuple[int, int], seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 12, (size[1] // 2, size[0] // 2, 3)).astype(np.float32)
    small = np.clip(np.asarray(colour, np.float32) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)


def darkened(source: Source, tone: str) -> Source:
    """The source with its mean colour moved to a darker skin tone, texture kept."""
    linear = _to_linear(np.asarray(source.image, np.float32) / 255)
    target = _to_linear(np.asarray(DARK_TONES[tone], np.float32) / 255)
    gain = target / np.median(linear.reshape(-1, 3), axis=0)
    pixels = _to_srgb(np.clip(linear * gain, 0, 1))
    return Source(f"{source.name}@{tone}", Image.fromarray(pixels), source.skin, source.photo)


def _to_linear(srgb: np.ndarray) -> np.ndarray:
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _to_srgb(linear: np.ndarray) -> np.ndarray:
    srgb = np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.clip(np.round(srgb * 255), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- degradations


def _working_scale(image: Image.Image) -> float:
    """Source pixels per working-size pixel (1 for images no larger than the working size)."""
    return max(1.0, max(image.size) / WORKING_LONG_EDGE)


def gaussian(sigma: float) -> Degradation:
    """Gaussian blur of ``sigma`` working-size pixels."""

    def apply(image: Image.Image) -> Image.Image:
        pixels = np.asarray(image)
        blurred = cv2.GaussianBlur(pixels, (0, 0), sigma * _working_scale(image))
        return Image.fromarray(blurred)

    return Degradation(f"gauss {sigma:g}", apply)


def motion(length: int, *, diagonal: bool = True) -> Degradation:
    """Diagonal or horizontal motion blur over ``length`` working-size pixels."""

    def apply(image: Image.Image) -> Image.Image:
        size = max(1, round(length * _working_scale(image)))
        line = np.eye(size) if diagonal else np.ones((1, size))
        kernel = (line / size).astype(np.float32)
        return Image.fromarray(cv2.filter2D(np.asarray(image), -1, kernel))

    return Degradation(f"{'motion' if diagonal else 'hmotion'} {length}", apply)


def exposure(stops: float) -> Degradation:
    """Exposure changed by ``stops`` in linear light, clipped as a sensor would."""

    def apply(image: Image.Image) -> Image.Image:
        linear = _to_linear(np.asarray(image, np.float32) / 255) * 2.0**stops
        return Image.fromarray(_to_srgb(np.clip(linear, 0, 1)))

    return Degradation(f"EV {stops:+g}", apply)


def original(size: tuple[int, int]) -> Degradation:
    """The photo as if its original had this size (the review is then that size)."""

    def apply(image: Image.Image) -> Image.Image:
        scale = min(size[0] / image.width, size[1] / image.height, 1.0)
        target = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        return image.resize(target, Image.Resampling.LANCZOS)

    return Degradation(f"size {size[0]}x{size[1]}", apply, size)


DEGRADATIONS = [
    Degradation("none", lambda image: image),
    *(gaussian(sigma) for sigma in (0.5, 1, 1.5, 2, 3, 4, 6)),
    *(motion(length) for length in (3, 5, 9, 15, 25)),
    *(motion(length, diagonal=False) for length in (3, 5, 9, 15)),
    *(exposure(stops) for stops in (-4, -3, -2, -1, 1, 1.5, 2, 3)),
    original((1024, 768)),
    original((800, 600)),
    original((640, 480)),
    original((400, 300)),
]


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Row:
    """One assessed image."""

    source: Source
    degradation: Degradation
    report: QualityReport


def review_pixels(image: Image.Image) -> Image.Image:
    """The image as the pipeline assesses it: the review's RGB pixels, before JPEG encoding."""
    return image.convert("RGB")


def assess_all(sources: list[Source], thresholds: QualityThresholds) -> Iterator[Row]:
    """Every source under every degradation (non-skin scenes only undegraded)."""
    for source in sources:
        for degradation in DEGRADATIONS if source.skin else DEGRADATIONS[:1]:
            review = review_pixels(degradation.apply(source.image))
            size = degradation.original_size or PHONE_SIZE
            report = assess_quality(review, original_size=size, thresholds=thresholds)
            yield Row(source, degradation, report)


def print_table(rows: list[Row]) -> None:
    """One line per image and degradation."""
    header = (
        f"{'image':<22}{'degradation':<16}{'sharp':>8}{'centre':>8}{'whole':>8}"
        f"{'hi%':>7}{'lo%':>7}{'luma':>6}{'skin%':>7}  verdict   reasons"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        m = row.report.metrics
        reasons = ", ".join(f"{r.code}/{r.severity}" for r in row.report.reasons)
        print(
            f"{row.source.name:<22}{row.degradation.name:<16}{m['sharpness']:>8.0f}"
            f"{m['sharpness_centre']:>8.0f}{m['sharpness_whole']:>8.0f}"
            f"{100 * m['highlight_clip']:>7.1f}{100 * m['shadow_clip']:>7.1f}"
            f"{m['mean_luma']:>6.0f}{100 * m['skin_fraction']:>7.1f}  "
            f"{row.report.verdict:<9} {reasons}"
        )


def print_summary(rows: list[Row], thresholds: QualityThresholds) -> None:
    """Where each threshold falls between the groups it has to separate."""
    photos = [row for row in rows if row.source.skin and row.source.photo]
    t = thresholds
    print("\nsharpness of real skin photos (and recoloured ones) by degradation; verdicts")
    print("  count ready / warning / rejected (any reason):")
    blur_names = [d.name for d in DEGRADATIONS if d.name.split()[0] in GROUPS["blur"]]
    for name in blur_names if photos else []:
        group = [row for row in photos if row.degradation.name == name]
        _span(name, [row.report.metrics["sharpness"] for row in group], group)
    if not photos:
        print("  (none measured: pass --wheels)")
    print(f"  -> warn below {t.warn_sharpness:g}, reject below {t.min_sharpness:g}")
    drawn = [
        row
        for row in rows
        if row.source.skin and not row.source.photo and row.degradation.name == "none"
    ]
    print("  drawn skin pictures, undegraded (little fine texture):")
    for row in drawn:
        print(f"    {row.source.name:<20} {row.report.metrics['sharpness']:8.1f}")
    print("\nexposure of skin photos (real and drawn) by degradation:")
    skin = [row for row in rows if row.source.skin]
    for name in [d.name for d in DEGRADATIONS if d.name.split()[0] in GROUPS["exposure"]]:
        group = [row for row in skin if row.degradation.name == name]
        metrics = [row.report.metrics for row in group]
        hi = [100 * m["highlight_clip"] for m in metrics]
        lo = [100 * m["shadow_clip"] for m in metrics]
        luma = [m["mean_luma"] for m in metrics]
        print(
            f"  {name:<11} highlights {min(hi):5.1f}..{max(hi):5.1f} %  shadows "
            f"{min(lo):5.1f}..{max(lo):5.1f} %  mean luma {min(luma):3.0f}..{max(luma):3.0f}  "
            f"{_tally(group, ('overexposed', 'underexposed'))}"
        )
    print(
        f"  -> highlights warn > {100 * t.max_highlight_clip:g} %, reject > "
        f"{100 * t.reject_highlight_clip:g} %; shadows warn > {100 * t.max_shadow_clip:g} %, "
        f"reject > {100 * t.reject_shadow_clip:g} %; mean luma warns outside "
        f"{t.min_mean_luma:g}..{t.max_mean_luma:g}"
    )
    print("\nskin fraction, undegraded:")
    for row in rows:
        if row.degradation.name == "none":
            kind = "skin" if row.source.skin else "no skin"
            fraction = 100 * row.report.metrics["skin_fraction"]
            print(f"  {row.source.name:<24}{kind:<9}{fraction:6.1f} %  {row.report.verdict}")
    print(f"  -> reject below {100 * t.min_skin_fraction:g} %")


GROUPS = {
    "blur": ("none", "gauss", "motion", "hmotion"),
    "exposure": ("EV", "none"),
}


def _tally(rows: list[Row], codes: tuple[str, ...] | None = None) -> str:
    """Counts of ready / warning / rejected, for any reason or only for the given codes."""
    counts = {"ready": 0, "warning": 0, "rejected": 0}
    for row in rows:
        severities = {r.severity for r in row.report.reasons if codes is None or r.code in codes}
        verdict = "rejected" if "reject" in severities else "warning" if severities else "ready"
        counts[verdict] += 1
    return f"{counts['ready']:>2} / {counts['warning']:>2} / {counts['rejected']:>2}"


def _span(name: str, values: list[float], group: list[Row]) -> None:
    print(
        f"  {name:<11} min {min(values):7.1f}  median {statistics.median(values):7.1f}"
        f"  max {max(values):7.1f}   {_tally(group, ('blurred',))}"
    )


def print_timing(thresholds: QualityThresholds, runs: int = 30) -> None:
    """Median and worst time of one assessment of a 2048 x 1536 review image."""
    review = review_pixels(skin_image((2048, 1536)))
    assess_quality(review, original_size=PHONE_SIZE, thresholds=thresholds)  # warm up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        assess_quality(review, original_size=PHONE_SIZE, thresholds=thresholds)
        times.append(1000 * (time.perf_counter() - start))
    print(
        f"\nassess_quality on 2048x1536: median {statistics.median(times):.1f} ms, "
        f"max {max(times):.1f} ms over {runs} runs (cv2 threads: {cv2.getNumThreads()})"
    )


def main() -> None:
    """Measure every source under every degradation and print the table and summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="folder with the two wheels (see above)")
    args = parser.parse_args()
    thresholds = QualityThresholds()
    skin = synthetic_sources()
    others = flat_scenes()
    if args.wheels:
        real = wheel_sources(args.wheels)
        skin += [source for source in real if source.skin]
        others += [source for source in real if not source.skin]
    faces = [source for source in skin if source.name in ("astro-face", "hopper-face", "demo1")]
    skin += [darkened(source, tone) for source in faces for tone in DARK_TONES]
    rows = list(assess_all(skin + others, thresholds))
    print_table(rows)
    print_summary(rows, thresholds)
    print_timing(thresholds)


if __name__ == "__main__":
    main()
