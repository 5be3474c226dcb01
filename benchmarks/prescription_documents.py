"""Time to make a signed prescription's documents: FHIR Bundle + JWS, PDF render, PAdES.

Target (the e-prescription issue): render plus sign at most 150 ms per prescription at
p95, warm, on this machine; and how the FHIR and PDF steps split the time.

Each round makes every part once, in turn, for the same document: the FHIR document
Bundle with its detached JWS (``build_bundle``), the PDF (``render_prescription_pdf``)
and its PAdES signature (``sign_pdf``). A baseline measured in the same rounds,
WeasyPrint rendering a one-line page, shows what any PDF costs here, so the figures can
be read as ratios on a shared, noisy machine; the CPU time of each step is printed too,
as the load of other processes inflates wall-clock times (mostly their p95) but hardly
CPU times. Keys and the development CA are made in a temporary directory before timing
starts. The last lines give the split between the FHIR and the PDF steps and the verdict.

    .venv/bin/python benchmarks/prescription_documents.py [--rounds 200] [--warmup 10]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from prescriptions.document import (
    MedicationLine,
    Organisation,
    PatientDetails,
    Prescriber,
    PrescriptionDocument,
)
from prescriptions.dosage import Amount, Dosage, Duration, Frequency, dosage_to_json, patient_text
from prescriptions.fhir import build_bundle
from prescriptions.identifiers import new_access_code, new_prescription_number
from prescriptions.pdf import html_to_pdf, render_prescription_pdf, sign_pdf
from prescriptions.pki import ensure_development_pki
from prescriptions.signing import load_or_create_signing_key

TARGET_MS = 150
BASELINE = "baseline: one-line PDF"
FHIR = "FHIR Bundle + JWS"
RENDER = "PDF render"
SIGN = "PDF sign (PAdES)"
TOTAL = "render + sign (all three)"
PARTS = (FHIR, RENDER, SIGN)
DOSAGE = Dosage(
    amount=Amount(1, "capsule"),
    frequency=Frequency(times=1, per="day"),
    duration=Duration(12, "week"),
    timing=("morning", "with_food"),
    note="With a full glass of water.",
)


def sample_document() -> PrescriptionDocument:
    """A realistic doxycycline prescription (invented people)."""
    number, code = new_prescription_number(), new_access_code()
    issued = datetime.now(UTC)
    return PrescriptionDocument(
        prescription_id=number,
        access_code=code,
        verification_url=f"http://127.0.0.1:5000/verify/{number}?code={code}",
        issued_at=issued,
        valid_until=(issued + timedelta(days=30)).date(),
        prescriber=Prescriber(
            "p1",
            "Dr Pat Prescriber",
            "CPSO-98765",
            "College of Physicians",
            "https://licences.example/cpso",
        ),
        patient=PatientDetails("u1", "Alex Example", date(1980, 2, 29), "female"),
        clinic=Organisation("clinic", "casebox demo clinic", "1 Example Street, Springfield"),
        pharmacy=None,
        medication=MedicationLine(
            formulary_id="doxycycline",
            name="Doxycycline",
            rxnorm_code="3640",
            atc_code="J01AA02",
            form="capsule",
            route="oral",
            strength="100 mg",
            instructions=patient_text(DOSAGE, "oral"),
            quantity="84 capsules",
            repeats=1,
            substitution_allowed=True,
            supply_days=84,
            dosage=dosage_to_json(DOSAGE),
        ),
    )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        key = load_or_create_signing_key(Path(scratch) / "jws")
        identity = ensure_development_pki(Path(scratch) / "pki")
        document = sample_document()
        rendered: dict[str, bytes] = {}

        def fhir() -> None:
            build_bundle(document, base_url="http://127.0.0.1:5000", signing_key=key)

        def render() -> None:
            rendered["pdf"] = render_prescription_pdf(document)

        def sign() -> None:
            sign_pdf(rendered["pdf"], identity, reason="Prescription", location="Springfield")

        def baseline() -> None:
            html_to_pdf("<p>casebox</p>")

        steps: dict[str, Callable[[], None]] = {
            BASELINE: baseline,
            FHIR: fhir,
            RENDER: render,
            SIGN: sign,
        }
        wall: dict[str, list[float]] = {name: [] for name in [*steps, TOTAL]}
        cpu: dict[str, list[float]] = {name: [] for name in [*steps, TOTAL]}
        for round_number in range(args.warmup + args.rounds):
            spent: dict[str, tuple[float, float]] = {}
            for name, step in steps.items():
                started, started_cpu = time.perf_counter(), time.thread_time()
                step()
                spent[name] = (
                    (time.perf_counter() - started) * 1000,
                    (time.thread_time() - started_cpu) * 1000,
                )
            if round_number < args.warmup:
                continue
            for name, (ms, cpu_ms) in spent.items():
                wall[name].append(ms)
                cpu[name].append(cpu_ms)
            wall[TOTAL].append(sum(spent[name][0] for name in PARTS))
            cpu[TOTAL].append(sum(spent[name][1] for name in PARTS))

    report(args, wall, cpu)


def report(
    args: argparse.Namespace, wall: dict[str, list[float]], cpu: dict[str, list[float]]
) -> None:
    """The table, the split between the FHIR and PDF steps, and the verdict."""
    p50 = {name: statistics.median(values) for name, values in wall.items()}
    p95 = {name: percentile(values, 0.95) for name, values in wall.items()}
    cpu_p50 = {name: statistics.median(values) for name, values in cpu.items()}
    cpu_p95 = {name: percentile(values, 0.95) for name, values in cpu.items()}
    print(
        f"{args.rounds} rounds after {args.warmup} warm-up rounds; wall clock, and CPU time of"
        " this thread (which the load of other processes does not inflate)"
    )
    header = ("step", "p50 ms", "p95 ms", "CPU p50", "CPU p95", "share", "p95/baseline")
    print(f"{header[0]:<28} {header[1]:>8} {header[2]:>8} {header[3]:>8} {header[4]:>8}"
          f" {header[5]:>6} {header[6]:>13}")  # fmt: skip
    for name in wall:
        share = f"{p50[name] / p50[TOTAL]:6.0%}" if name in PARTS else ""
        print(
            f"{name:<28} {p50[name]:8.1f} {p95[name]:8.1f} {cpu_p50[name]:8.1f}"
            f" {cpu_p95[name]:8.1f} {share:>6} {p95[name] / p95[BASELINE]:13.2f}"
        )
    pdf = p50[RENDER] + p50[SIGN]
    print(
        f"split of the p50 total: FHIR {p50[FHIR] / p50[TOTAL]:.0%}, PDF {pdf / p50[TOTAL]:.0%}"
        f" (render {p50[RENDER] / p50[TOTAL]:.0%}, sign {p50[SIGN] / p50[TOTAL]:.0%})"
    )
    verdict = "met" if p95[TOTAL] <= TARGET_MS else "NOT met"
    print(
        f"target: render + sign p95 <= {TARGET_MS} ms: {verdict} (wall p95 {p95[TOTAL]:.1f} ms,"
        f" CPU p95 {cpu_p95[TOTAL]:.1f} ms, {p95[TOTAL] / p95[BASELINE]:.1f} x the one-line PDF)"
    )


if __name__ == "__main__":
    main()
