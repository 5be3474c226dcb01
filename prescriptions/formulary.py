"""The curated dermatology formulary and its offline interaction reference data.

Three JSON files live next to this module: ``formulary.json`` (the medicines),
``interactions.json`` (extracted from the ANSM thesaurus by ``build_interactions.py``)
and ``curated_interactions.json`` (dermatology rules with a source each). They are
checked when loaded, so a damaged file fails loudly instead of giving wrong advice.
A clinic can point :func:`load_formulary` at its own, newer copies.
Where each code was confirmed is recorded in ``FORMULARY.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import combinations
from pathlib import Path
from typing import Any

SEVERITIES = frozenset({"block", "warning"})
PREGNANCY_CATEGORIES = frozenset({"compatible", "caution", "avoid", "contraindicated"})
ROUTES = frozenset({"topical", "oral", "subcutaneous", "nasal"})
LIMIT_PERIODS = frozenset({"day", "week"})

# A chemical substance (fifth level) of the WHO ATC classification, e.g. D07AD01.
_ATC = re.compile(r"[A-Z]\d{2}[A-Z]{2}\d{2}")
_RXCUI = re.compile(r"[1-9]\d{0,9}")
_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_FIELDS = frozenset(
    {
        "id",
        "name",
        "rxnorm_ingredients",
        "atc",
        "therapeutic_class",
        "allergy_classes",
        "forms",
        "doses",
        "pregnancy",
        "breastfeeding",
        "controlled_substance",
        "pregnancy_prevention_programme",
        "review_required",
    }
)


class FormularyError(ValueError):
    """A formulary or interaction file is malformed."""


@dataclass(frozen=True)
class Form:
    """One dosage form with its route and strengths."""

    form: str
    route: str
    strengths: tuple[str, ...]


@dataclass(frozen=True)
class DoseLimit:
    """An amount per period, e.g. 25 mg per week or 1 mg/kg per day."""

    value: float
    unit: str
    per: str


@dataclass(frozen=True)
class Dose:
    """Usual and maximum dosing for one route; a limit of None means not applicable."""

    route: str
    usual: str
    usual_limit: DoseLimit | None
    max_limit: DoseLimit | None
    note: str


@dataclass(frozen=True)
class UseFlag:
    """A pregnancy or breastfeeding category with its short reason."""

    category: str
    reason: str


@dataclass(frozen=True)
class Medicine:
    """One formulary medicine."""

    id: str
    name: str
    rxnorm_ingredients: tuple[str, ...]
    atc: tuple[str, ...]
    therapeutic_class: str
    allergy_classes: frozenset[str]
    forms: tuple[Form, ...]
    doses: tuple[Dose, ...]
    pregnancy: UseFlag
    breastfeeding: UseFlag
    controlled_substance: bool
    pregnancy_prevention_programme: bool
    review_required: bool


@dataclass(frozen=True)
class Interaction:
    """An interaction between two formulary medicines (or one and a named substance)."""

    first: str
    second: str
    severity: str
    level: str
    summary: str
    recommendation: str
    source: str


@dataclass(frozen=True)
class _ThesaurusRow:
    formulary_id: str
    protagonist: str
    other: str
    other_rxcuis: frozenset[str]
    severity: str
    level: str
    mechanism: str
    description: str


@dataclass(frozen=True)
class _CuratedRule:
    id: str
    a: frozenset[str]
    b: frozenset[str]
    b_other: tuple[str, ...]
    severity: str
    summary: str
    source: str


class Formulary:
    """The loaded, checked formulary with its lookups."""

    def __init__(
        self,
        medicines: tuple[Medicine, ...],
        thesaurus: tuple[_ThesaurusRow, ...],
        curated: tuple[_CuratedRule, ...],
        thesaurus_source: str,
    ) -> None:
        self.medicines = medicines
        self._by_id = {medicine.id: medicine for medicine in medicines}
        self._thesaurus = thesaurus
        self._curated = curated
        self.thesaurus_source = thesaurus_source

    def get(self, medicine_id: str) -> Medicine | None:
        """The medicine with this id, or None."""
        return self._by_id.get(medicine_id)

    def __getitem__(self, medicine_id: str) -> Medicine:
        return self._by_id[medicine_id]

    def search(self, prefix: str, limit: int = 20) -> list[Medicine]:
        """Medicines whose name, or a word of it, starts with ``prefix`` (case-insensitive)."""
        query = prefix.strip().casefold()
        if not query or limit < 1:
            return []
        starts = [m for m in self.medicines if m.name.casefold().startswith(query)]
        words = [
            m
            for m in self.medicines
            if m not in starts
            and any(word.startswith(query) for word in re.findall(r"\w+", m.name.casefold()))
        ]
        return (starts + words)[:limit]

    def allergy_classes(self, medicine_id: str) -> frozenset[str]:
        """The allergy classes a medicine belongs to (an allergy to any of them covers it)."""
        return self[medicine_id].allergy_classes

    def same_class(self, first: str, second: str) -> bool:
        """Whether two medicines share a therapeutic class (a duplicate-therapy check)."""
        return self[first].therapeutic_class == self[second].therapeutic_class

    def interactions_between(self, medicine_ids: Iterable[str]) -> list[Interaction]:
        """Every interaction among the given medicines, blocks first, each pair reported once."""
        ids = list(dict.fromkeys(medicine_ids))
        for medicine_id in ids:
            self[medicine_id]  # an unknown id is an error, never "no interaction"
        found: dict[tuple[str, str, str], Interaction] = {}
        for first, second in combinations(ids, 2):
            for rule, interaction in self._pair(first, second):
                # The thesaurus lists each pair twice ("a + b" and "b + a"): report it once.
                found.setdefault((min(first, second), max(first, second), rule), interaction)
        return sorted(found.values(), key=lambda i: (i.severity != "block", i.first, i.second))

    def curated_with_other(self, medicine_id: str) -> list[Interaction]:
        """Curated rules between a medicine and substances outside the formulary."""
        return [
            Interaction(medicine_id, other, rule.severity, "curated", rule.summary, "", rule.source)
            for rule in self._curated
            if medicine_id in rule.a
            for other in rule.b_other
        ]

    def _pair(self, first: str, second: str) -> list[tuple[str, Interaction]]:
        """(rule key, interaction) for each thesaurus row or curated rule that joins the two."""
        out = []
        for a, b in ((first, second), (second, first)):
            b_codes = set(self[b].rxnorm_ingredients)
            for row in self._thesaurus:
                if row.formulary_id == a and b_codes & row.other_rxcuis:
                    key = " + ".join(sorted((row.protagonist, row.other)))
                    out.append(
                        (
                            key,
                            Interaction(
                                a,
                                b,
                                row.severity,
                                row.level,
                                f"{row.protagonist} + {row.other}",
                                row.description,
                                self.thesaurus_source,
                            ),
                        )
                    )
            for rule in self._curated:
                if a in rule.a and b in rule.b:
                    interaction = Interaction(
                        a, b, rule.severity, "curated", rule.summary, "", rule.source
                    )
                    out.append((rule.id, interaction))
        return out


@cache
def formulary() -> Formulary:
    """The formulary shipped with casebox, read and checked once."""
    return load_formulary()


def load_formulary(
    formulary_path: Path | None = None,
    interactions_path: Path | None = None,
    curated_path: Path | None = None,
) -> Formulary:
    """Read and check the three files; a clinic may pass paths to its own copies."""
    medicines = parse_medicines(_read(formulary_path, "formulary.json"))
    known = {medicine.id for medicine in medicines}
    source, thesaurus = _parse_thesaurus(_read(interactions_path, "interactions.json"), known)
    curated = _parse_curated(_read(curated_path, "curated_interactions.json"), known)
    return Formulary(medicines, thesaurus, curated, source)


def _read(path: Path | None, name: str) -> Any:
    try:
        if path is None:
            text = resources.files("prescriptions").joinpath(name).read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, json.JSONDecodeError) as error:
        raise FormularyError(f"{name}: cannot be read as JSON ({error})") from error


def parse_medicines(raw: Any) -> tuple[Medicine, ...]:
    """Turn the formulary JSON array into medicines, refusing anything malformed."""
    if not isinstance(raw, list) or not raw:
        raise FormularyError("formulary.json must hold a non-empty JSON array")
    medicines = tuple(_medicine(position, item) for position, item in enumerate(raw))
    seen: set[str] = set()
    for medicine in medicines:
        if medicine.id in seen:
            raise FormularyError(f"formulary.json: two entries share the id {medicine.id!r}")
        seen.add(medicine.id)
    return medicines


def _medicine(position: int, item: Any) -> Medicine:
    where = f"formulary.json entry {position}"
    if not isinstance(item, dict) or set(item) != _FIELDS:
        raise FormularyError(f"{where} must have exactly the fields {sorted(_FIELDS)}")
    where = f"formulary.json entry {position} ({item['id']!r})"
    if not isinstance(item["id"], str) or not _ID.fullmatch(item["id"]):
        raise FormularyError(f"{where}: the id must be lower-case words joined by hyphens")
    name = _text(item["name"], where, "name")
    rxcuis = _strings(item["rxnorm_ingredients"], where, "rxnorm_ingredients", allow_empty=True)
    if not all(_RXCUI.fullmatch(code) for code in rxcuis):
        raise FormularyError(f"{where}: an RxNorm code is not an RXCUI (digits only)")
    atc = _strings(item["atc"], where, "atc")
    if not all(_ATC.fullmatch(code) for code in atc):
        raise FormularyError(f"{where}: an ATC code is not a substance code like D07AD01")
    for flag in ("controlled_substance", "pregnancy_prevention_programme", "review_required"):
        if not isinstance(item[flag], bool):
            raise FormularyError(f"{where}: {flag} must be true or false")
    forms = _list(item["forms"], where, "forms")
    doses = _list(item["doses"], where, "doses")
    return Medicine(
        id=item["id"],
        name=name,
        rxnorm_ingredients=rxcuis,
        atc=atc,
        therapeutic_class=_text(item["therapeutic_class"], where, "therapeutic_class"),
        allergy_classes=frozenset(
            _strings(item["allergy_classes"], where, "allergy_classes", allow_empty=True)
        ),
        forms=tuple(_form(form, where) for form in forms),
        doses=tuple(_dose(dose, where) for dose in doses),
        pregnancy=_use_flag(item["pregnancy"], where, "pregnancy"),
        breastfeeding=_use_flag(item["breastfeeding"], where, "breastfeeding"),
        controlled_substance=item["controlled_substance"],
        pregnancy_prevention_programme=item["pregnancy_prevention_programme"],
        review_required=item["review_required"],
    )


def _form(raw: Any, where: str) -> Form:
    if not isinstance(raw, dict) or raw.get("route") not in ROUTES:
        raise FormularyError(f"{where}: each form needs a route among {sorted(ROUTES)}")
    return Form(
        _text(raw.get("form"), where, "form"),
        raw["route"],
        _strings(raw.get("strengths"), where, "strengths"),
    )


def _dose(raw: Any, where: str) -> Dose:
    if not isinstance(raw, dict) or raw.get("route") not in ROUTES:
        raise FormularyError(f"{where}: each dose needs a route among {sorted(ROUTES)}")
    note = raw.get("note")
    if not isinstance(note, str):
        raise FormularyError(f"{where}: a dose note must be a string")
    return Dose(
        raw["route"],
        _text(raw.get("usual"), where, "usual dose"),
        _limit(raw.get("usual_limit"), where),
        _limit(raw.get("max_limit"), where),
        note,
    )


def _limit(raw: Any, where: str) -> DoseLimit | None:
    if raw is None:
        return None
    value = raw.get("value") if isinstance(raw, dict) else None
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or value <= 0
        or raw.get("per") not in LIMIT_PERIODS
    ):
        raise FormularyError(f"{where}: a dose limit needs a positive value and a period")
    return DoseLimit(float(value), _text(raw.get("unit"), where, "unit"), raw["per"])


def _use_flag(raw: Any, where: str, field: str) -> UseFlag:
    if not isinstance(raw, dict) or raw.get("category") not in PREGNANCY_CATEGORIES:
        raise FormularyError(f"{where}: {field} needs a category in {sorted(PREGNANCY_CATEGORIES)}")
    return UseFlag(raw["category"], _text(raw.get("reason"), where, f"{field} reason"))


def _parse_thesaurus(raw: Any, known: set[str]) -> tuple[str, tuple[_ThesaurusRow, ...]]:
    if not isinstance(raw, dict) or not isinstance(raw.get("entries"), list):
        raise FormularyError("interactions.json must hold an object with an entries array")
    source = raw.get("source", {})
    label = f"{source.get('name', 'ANSM thesaurus')}, {source.get('version', '')}".strip(", ")
    rows = []
    for position, entry in enumerate(raw["entries"]):
        where = f"interactions.json entry {position}"
        if not isinstance(entry, dict) or entry.get("formulary_id") not in known:
            raise FormularyError(f"{where}: formulary_id must name a formulary medicine")
        if entry.get("severity") not in SEVERITIES:
            raise FormularyError(f"{where}: severity must be one of {sorted(SEVERITIES)}")
        levels = _list(entry.get("levels"), where, "levels")
        codes = {
            code
            for substance in entry.get("other_substances") or []
            for code in substance.get("rxcui", [])
        }
        rows.append(
            _ThesaurusRow(
                entry["formulary_id"],
                _text(entry.get("protagonist"), where, "protagonist"),
                _text(entry.get("other"), where, "other"),
                frozenset(codes),
                entry["severity"],
                " / ".join(str(level.get("level", "")) for level in levels),
                str(entry.get("mechanism", "")),
                str(entry.get("description", "")),
            )
        )
    return label, tuple(rows)


def _parse_curated(raw: Any, known: set[str]) -> tuple[_CuratedRule, ...]:
    if not isinstance(raw, list):
        raise FormularyError("curated_interactions.json must hold a JSON array")
    rules = []
    for position, rule in enumerate(raw):
        where = f"curated_interactions.json entry {position}"
        if not isinstance(rule, dict) or rule.get("severity") not in SEVERITIES:
            raise FormularyError(f"{where}: severity must be one of {sorted(SEVERITIES)}")
        a = _strings(rule.get("a"), where, "a")
        b = _strings(rule.get("b"), where, "b", allow_empty=True)
        unknown = (set(a) | set(b)) - known
        if unknown:
            raise FormularyError(f"{where}: unknown formulary ids {sorted(unknown)}")
        rules.append(
            _CuratedRule(
                _text(rule.get("id"), where, "id"),
                frozenset(a),
                frozenset(b),
                _strings(rule.get("b_other"), where, "b_other", allow_empty=True),
                rule["severity"],
                _text(rule.get("summary"), where, "summary"),
                _text(rule.get("source"), where, "source"),
            )
        )
    return tuple(rules)


def _text(value: Any, where: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FormularyError(f"{where}: {field} must be a non-empty string")
    return value


def _list(value: Any, where: str, field: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise FormularyError(f"{where}: {field} must be a non-empty list")
    return value


def _strings(value: Any, where: str, field: str, allow_empty: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or (not value and not allow_empty):
        raise FormularyError(f"{where}: {field} must be a list of strings")
    if not all(isinstance(item, str) and item.strip() for item in value):
        raise FormularyError(f"{where}: {field} must hold only non-empty strings")
    return tuple(value)
