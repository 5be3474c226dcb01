"""The coded diagnosis list: a reviewed SNOMED CT dermatology subset, searched by prefix.

The entries live in ``diagnoses.json`` next to this module and are checked once,
on first use, so a damaged list fails loudly instead of storing wrong codes.
Where each identifier was confirmed is recorded in ``DIAGNOSES.md``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

SNOMED_SYSTEM = "http://snomed.info/sct"

GROUPS = frozenset(
    {
        "malignant",
        "premalignant",
        "benign-neoplasm",
        "inflammatory",
        "infection",
        "pigmentary",
        "hair-nail",
        "vascular",
        "other",
    }
)

_DATA_FILE = "diagnoses.json"
_FIELDS = frozenset({"code", "display", "group", "synonyms"})

# SNOMED CT identifiers: 6 to 18 digits, and the first may not be a zero.
_SCTID = re.compile(r"[1-9][0-9]{5,17}")
# The partition identifier of a concept in the core ("00") or an extension ("10").
_CONCEPT_PARTITIONS = frozenset({"00", "10"})
_WORD = re.compile(r"[\w']+")

# Verhoeff's dihedral group D5 multiplication table (SNOMED CT check digit).
_MULTIPLY: tuple[tuple[int, ...], ...] = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)


def _permutations() -> tuple[tuple[int, ...], ...]:
    """Verhoeff's position permutations: the first two rows, then repeated composition."""
    # Derived rather than typed out: hand-copied rows of this table are a known source of
    # checkers that reject real identifiers.
    rows = [tuple(range(10)), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4)]
    while len(rows) < 8:
        rows.append(tuple(rows[-1][rows[1][digit]] for digit in range(10)))
    return tuple(rows)


_PERMUTE = _permutations()


@dataclass(frozen=True)
class Diagnosis:
    """One coded diagnosis."""

    code: str
    display: str
    group: str
    synonyms: tuple[str, ...]


def is_valid_sctid(code: str) -> bool:
    """Whether ``code`` is a well-formed SNOMED CT concept identifier."""
    if not isinstance(code, str) or _SCTID.fullmatch(code) is None:
        return False
    if code[-3:-1] not in _CONCEPT_PARTITIONS:
        return False
    check = 0
    for position, digit in enumerate(reversed(code)):
        check = _MULTIPLY[check][_PERMUTE[position % 8][int(digit)]]
    return check == 0


def all_diagnoses() -> tuple[Diagnosis, ...]:
    """Every coded diagnosis, in list order."""
    return _catalogue()[0]


def find_diagnosis(code: str) -> Diagnosis | None:
    """The diagnosis with this concept identifier, or None when it is not in the list."""
    return _catalogue()[1].get(code)


def search_diagnoses(query: str, limit: int = 20) -> list[Diagnosis]:
    """Diagnoses whose display words or synonyms start with the query's words, best first."""
    if limit < 1:
        return []
    words = _words(query)
    diagnoses = all_diagnoses()
    if not words:
        return list(diagnoses[:limit])
    ranked = []
    for index, diagnosis in enumerate(diagnoses):
        rank = _rank(diagnosis, " ".join(words), words)
        if rank is not None:
            ranked.append((rank, index, diagnosis))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [diagnosis for _, _, diagnosis in ranked[:limit]]


def _rank(diagnosis: Diagnosis, phrase: str, words: list[str]) -> int | None:
    """0 when the display starts with the query, 1 for display words, 2 for a synonym."""
    display_words = _words(diagnosis.display)
    if " ".join(display_words).startswith(phrase):
        return 0
    if _prefixes_all(words, display_words):
        return 1
    for synonym in diagnosis.synonyms:
        synonym_words = _words(synonym)
        if " ".join(synonym_words).startswith(phrase) or _prefixes_all(words, synonym_words):
            return 2
    return None


def _prefixes_all(words: list[str], candidates: list[str]) -> bool:
    """Whether every query word starts some word of the candidate text."""
    return all(any(candidate.startswith(word) for candidate in candidates) for word in words)


def _words(text: str) -> list[str]:
    """Case-folded words, so that punctuation and spacing do not change a match."""
    return _WORD.findall(text.casefold())


@cache
def _catalogue() -> tuple[tuple[Diagnosis, ...], dict[str, Diagnosis]]:
    """The list, read and checked once."""
    text = resources.files("casebox.assessments").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    diagnoses = _parse(json.loads(text))
    return diagnoses, {diagnosis.code: diagnosis for diagnosis in diagnoses}


def _parse(raw: Any) -> tuple[Diagnosis, ...]:
    """Turn the JSON array into diagnoses, refusing anything malformed or duplicated."""
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{_DATA_FILE} must hold a non-empty JSON array")
    diagnoses = tuple(_entry(position, item) for position, item in enumerate(raw))
    _unique("code", [diagnosis.code for diagnosis in diagnoses])
    _unique("display", [diagnosis.display.casefold() for diagnosis in diagnoses])
    return diagnoses


def _entry(position: int, item: Any) -> Diagnosis:
    """One checked entry of the JSON array."""
    where = f"{_DATA_FILE} entry {position}"
    if not isinstance(item, dict) or set(item) != _FIELDS:
        raise ValueError(f"{where} must have exactly the fields {sorted(_FIELDS)}")
    code, display, group, synonyms = (
        item[name] for name in ("code", "display", "group", "synonyms")
    )
    if not isinstance(code, str) or not is_valid_sctid(code):
        raise ValueError(f"{where}: the code is not a valid SNOMED CT concept identifier")
    if not isinstance(display, str) or not display.strip() or display != display.strip():
        raise ValueError(f"{where}: the display must be a trimmed, non-empty string")
    if group not in GROUPS:
        raise ValueError(f"{where}: the group must be one of {sorted(GROUPS)}")
    if not isinstance(synonyms, list) or not all(
        isinstance(synonym, str) and synonym.strip() for synonym in synonyms
    ):
        raise ValueError(f"{where}: the synonyms must be a list of non-empty strings")
    return Diagnosis(code, display, group, tuple(synonyms))


def _unique(field: str, values: list[str]) -> None:
    """Refuse a list in which two entries share a code or a display."""
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{_DATA_FILE}: two entries share the {field} {value!r}")
        seen.add(value)
