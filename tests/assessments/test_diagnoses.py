"""The coded diagnosis list: identifier checks, the shipped data and prefix search."""

from __future__ import annotations

import dataclasses
import re
from importlib import resources
from pathlib import Path

import pytest

from casebox.assessments import diagnoses
from casebox.assessments.diagnoses import (
    GROUPS,
    SNOMED_SYSTEM,
    Diagnosis,
    all_diagnoses,
    find_diagnosis,
    is_valid_sctid,
    search_diagnoses,
)

RECORD = Path(diagnoses.__file__).with_name("DIAGNOSES.md")


def _codes(results: list[Diagnosis]) -> list[str]:
    return [diagnosis.code for diagnosis in results]


def _entry(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "code": "254701007",
        "display": "Basal cell carcinoma of skin",
        "group": "malignant",
        "synonyms": ["bcc"],
    }
    entry.update(changes)
    return entry


# --- is_valid_sctid -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "22298006",  # Myocardial infarction, from SNOMED's own Global Patient Set examples
        "44054006",  # Diabetes mellitus type 2
        "404684003",  # Clinical finding, the top of the hierarchy
        "900000000000207008",  # the International Edition's module: 18 digits
        "731000124108",  # the US Edition's module: an extension concept, partition "10"
        "999000041000000102",  # the UK Edition's module
    ],
)
def test_accepts_known_concept_identifiers(code: str) -> None:
    assert is_valid_sctid(code)


@pytest.mark.parametrize(
    "code",
    [
        "254701008",  # Basal cell carcinoma of skin with its check digit changed
        "24079002",  # Atopic dermatitis with its check digit changed
        "4697243010",  # a real description id: valid check digit, but partition "01"
        "5160592011",  # another description id
        "024079001",  # a leading zero in front of a valid concept id
        "25470100A",
        "abc",
        "",
        "12345",  # too short
        "1" * 19,  # too long
        " 254701007",
        "254701007\n",
        # Full-width digits: digits to str.isdigit, but not to SNOMED CT.
        "".join(chr(0xFF10 + int(digit)) for digit in "254701007"),
    ],
)
def test_rejects_malformed_identifiers(code: str) -> None:
    assert not is_valid_sctid(code)


def test_rejects_a_changed_digit_anywhere() -> None:
    code = "254701007"
    for position in range(len(code) - 1):
        for digit in "0123456789":
            changed = code[:position] + digit + code[position + 1 :]
            if changed != code and changed[0] != "0":
                assert not is_valid_sctid(changed), changed


# --- the shipped list ---------------------------------------------------------------------------


def test_every_code_is_a_valid_concept_identifier() -> None:
    for diagnosis in all_diagnoses():
        assert is_valid_sctid(diagnosis.code), diagnosis


def test_codes_and_displays_are_unique() -> None:
    listed = all_diagnoses()
    assert len({diagnosis.code for diagnosis in listed}) == len(listed)
    assert len({diagnosis.display.casefold() for diagnosis in listed}) == len(listed)


def test_entries_are_well_formed() -> None:
    listed = all_diagnoses()
    assert 40 <= len(listed) <= 70
    for diagnosis in listed:
        assert diagnosis.group in GROUPS
        assert diagnosis.display == diagnosis.display.strip() != ""
        assert isinstance(diagnosis.synonyms, tuple)
        assert all(synonym.strip() for synonym in diagnosis.synonyms)


def test_the_main_skin_cancers_are_listed() -> None:
    assert {"93655004", "254701007", "254651007", "201101007"} <= {
        diagnosis.code for diagnosis in all_diagnoses()
    }


def test_every_code_has_a_verification_record() -> None:
    # DIAGNOSES.md says where each identifier was confirmed; an unrecorded code is unreviewed.
    recorded = set(re.findall(r"^\| `(\d+)` \|", RECORD.read_text(encoding="utf-8"), re.MULTILINE))
    assert recorded == {diagnosis.code for diagnosis in all_diagnoses()}


def test_the_list_is_package_data() -> None:
    folder = resources.files("casebox.assessments")
    assert folder.joinpath("diagnoses.json").is_file()
    assert folder.joinpath("DIAGNOSES.md").is_file()


def test_snomed_system_uri() -> None:
    assert SNOMED_SYSTEM == "http://snomed.info/sct"


def test_diagnoses_are_immutable() -> None:
    diagnosis = all_diagnoses()[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        diagnosis.code = "22298006"  # type: ignore[misc]


# --- find_diagnosis -----------------------------------------------------------------------------


def test_find_diagnosis_by_code() -> None:
    found = find_diagnosis("254701007")
    assert found is not None
    assert found.display == "Basal cell carcinoma of skin"
    assert found.group == "malignant"


@pytest.mark.parametrize("code", ["22298006", "254701008", "unknown", "", " 254701007"])
def test_find_diagnosis_of_an_unknown_code_is_none(code: str) -> None:
    assert find_diagnosis(code) is None


# --- search_diagnoses ---------------------------------------------------------------------------


def test_mel_finds_melanoma() -> None:
    assert "93655004" in _codes(search_diagnoses("mel"))


def test_bcc_finds_basal_cell_carcinoma_by_synonym() -> None:
    assert _codes(search_diagnoses("bcc")) == ["254701007"]


def test_atopic_finds_atopic_dermatitis_first() -> None:
    assert _codes(search_diagnoses("atopic"))[0] == "24079001"


def test_search_ignores_case_and_spacing() -> None:
    assert _codes(search_diagnoses("  ATOPIC   Derm ")) == _codes(search_diagnoses("atopic derm"))
    assert _codes(search_diagnoses("Shingles")) == ["4740000"]


def test_display_prefix_ranks_before_word_prefix_before_synonym() -> None:
    # "Melanoma in situ" starts with the query; two displays have it as a later word.
    assert _codes(search_diagnoses("melanoma")) == ["189758001", "93655004", "302837001"]
    tinea = search_diagnoses("tinea")
    first_synonym_hit = _codes(tinea).index("47382004")  # Dermatophytosis, synonym "tinea"
    assert all(d.display.startswith("Tinea") for d in tinea[:first_synonym_hit])
    assert first_synonym_hit == 4


def test_every_query_word_must_match() -> None:
    assert _codes(search_diagnoses("contact derm")) == ["40275004", "238575004"]
    assert search_diagnoses("contact psoriasis") == []


def test_results_are_limited() -> None:
    assert len(search_diagnoses("a", limit=3)) == 3
    assert search_diagnoses("tinea", limit=2) == search_diagnoses("tinea")[:2]
    assert search_diagnoses("tinea", limit=0) == []


def test_empty_query_returns_the_list_in_order() -> None:
    assert search_diagnoses("") == list(all_diagnoses()[:20])
    assert search_diagnoses("   ", limit=5) == list(all_diagnoses()[:5])


def test_no_match_is_empty() -> None:
    assert search_diagnoses("zzz") == []


# --- validation of the data file ----------------------------------------------------------------


def test_parse_accepts_a_good_entry() -> None:
    (parsed,) = diagnoses._parse([_entry()])
    assert parsed == Diagnosis("254701007", "Basal cell carcinoma of skin", "malignant", ("bcc",))


@pytest.mark.parametrize(
    "raw",
    [
        [],
        {"code": "254701007"},
        [_entry(code="254701008")],  # wrong check digit
        [_entry(code=254701007)],  # a number, not a string
        [_entry(group="cancer")],
        [_entry(display=" ")],
        [_entry(synonyms="bcc")],
        [_entry(synonyms=[""])],
        [{**_entry(), "extra": 1}],
        [_entry(), _entry(display="Rodent ulcer")],  # same code twice
        [_entry(), _entry(code="24079001")],  # same display twice
    ],
)
def test_parse_refuses_malformed_data(raw: object) -> None:
    with pytest.raises(ValueError, match=r"diagnoses\.json"):
        diagnoses._parse(raw)
