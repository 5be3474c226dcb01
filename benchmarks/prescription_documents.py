"""Time to make a signed prescription's documents: FHIR Bundle + JWS, PDF render, PAdES.

Target (the e-prescription issue): render plus sign at most 150 ms per prescription at
p95, warm, on this machine; and how the FHIR and PDF steps split the time.

Each round makes every part once, in turn, for the same document: the FHIR document
Bundle with its detached JWS (``build_bundle``), the PDF (``render_prescription_pdf``)
and its PAdES signature (``sign_pdf``). A baseline measured in the same rounds,
WeasyPrint rendering a one-line page, shows what any PDF costs here, so the figures can
be read as ratios on a shared, noisy machine. Keys and the development CA are made in a
temporary directory before timing starts.

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
from prescriptions.fhir import build_bundle
from prescriptions.identifiers import new_access_code, new_prescription_number
from prescriptions.pdf import html_to_pdf, render_prescription_pdf, sign_pdf
from prescriptions.pki import ensure_development_pki
from prescriptions.signing import load_or_create_signing_key


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
            instructions="Take one capsule each morning with a full glass of water, for 12 weeks.",
            quantity="84 capsules",
            repeats=1,
            substitution_allowed=True,
            supply_days=84,
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
            "baseline: one-line PDF": baseline,
            "FHIR Bundle + JWS": fhir,
            "PDF render": render,
            "PDF sign (PAdES)": sign,
        }
        timings: dict[str, list[float]] = {name: [] for name in steps}
        totals: list[float] = []
        for round_number in range(args.warmup + args.rounds):
            spent = {}
            for name, step in steps.items():
                started = time.perf_counter()
                step()
                spent[name] = (time.perf_counter() - started) * 1000
            if round_number >= args.warmup:
                for name, ms in spent.items():
                    timings[name].append(ms)
                totals.append(sum(ms for name, ms in spent.items() if not name.startswith("base")))

    base_p95 = percentile(timings["baseline: one-line PDF"], 0.95)
    print(f"{args.rounds} rounds after {args.warmup} warm-up rounds")
    print(f"{'step':<28} {'p50 ms':>8} {'p95 ms':>8} {'share':>7} {'p95/baseline':>13}")
    total_p50 = statistics.median(totals)
    for name, values in [*timings.items(), ("render + sign (all three)", totals)]:
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        share = "" if name.startswith(("base", "render +")) else f"{p50 / total_p50:6.0%}"
        print(f"{name:<28} {p50:8.1f} {p95:8.1f} {share:>7} {p95 / base_p95:13.2f}")
    verdict = "met" if percentile(totals, 0.95) <= 150 else "NOT met"
    print(f"target: render + sign p95 <= 150 ms: {verdict}")


if __name__ == "__main__":
    main()
