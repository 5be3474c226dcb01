"""The safety checks a prescriber sees before signing: each rule blocks or warns as it should."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from prescriptions.formulary import formulary, load_formulary
from prescriptions.safety import (
    DoseAmount,
    Finding,
    PatientSafetyContext,
    PregnancyTest,
    ProposedPrescription,
    check_prescription,
)

TODAY = date(2025, 3, 10)


def patient(**changes) -> PatientSafetyContext:
    """A 34-year-old man of 70 kg with no allergies or medicines, unless changed."""
    defaults = {
        "age_years": 34,
        "can_become_pregnant": False,
        "pregnant": False,
        "breastfeeding": False,
        "weight_kg": 70.0,
    }
    return PatientSafetyContext(**{**defaults, **changes})


def woman(**changes) -> PatientSafetyContext:
    """A 24-year-old woman who can become pregnant, not pregnant, not breastfeeding."""
    return patient(age_years=24, can_become_pregnant=True, weight_kg=60.0, **changes)


def prescribe(medicine_id: str, form: str, route: str, strength: str, dose, **changes):
    values = {"supply_days": 28, "repeats": 0, "validity_days": 28, **changes}
    return ProposedPrescription(medicine_id, form, route, strength, dose, **values)


def doxycycline(**changes) -> ProposedPrescription:
    """Doxycycline 100 mg capsules, 100 mg a day for four weeks."""
    base = prescribe("doxycycline", "capsule", "oral", "100 mg", DoseAmount(100, "mg", "day"))
    return dataclasses.replace(base, **changes)


def amoxicillin(**changes) -> ProposedPrescription:
    """Amoxicillin 500 mg capsules, three a day for a week."""
    base = prescribe(
        "amoxicillin", "capsule", "oral", "500 mg", DoseAmount(1500, "mg", "day"), supply_days=7
    )
    return dataclasses.replace(base, **changes)


def isotretinoin(**changes) -> ProposedPrescription:
    """Oral isotretinoin 20 mg, 40 mg a day, 30 days, no repeats, valid 7 days."""
    base = prescribe(
        "isotretinoin-oral",
        "capsule",
        "oral",
        "20 mg",
        DoseAmount(40, "mg", "day"),
        supply_days=30,
        validity_days=7,
    )
    return dataclasses.replace(base, **changes)


def test_finding_key_names_the_rule_and_medicines():
    finding = Finding("interaction", "warning", "…", ("methotrexate", "amoxicillin"))
    assert finding.key == "interaction:methotrexate+amoxicillin"


def supervised(days_ago: int, negative: bool = True) -> PregnancyTest:
    return PregnancyTest(TODAY - timedelta(days=days_ago), negative, "Dr Okafor", "clinic")


def check(who: PatientSafetyContext, proposed: ProposedPrescription) -> list[Finding]:
    return check_prescription(formulary(), who, proposed, today=TODAY)


def codes(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(finding.severity, finding.code) for finding in findings]


def only(findings: list[Finding], code: str) -> Finding:
    matching = [finding for finding in findings if finding.code == code]
    assert len(matching) == 1, codes(findings)
    return matching[0]


# --- safe prescriptions give nothing ------------------------------------------------------


def test_a_usual_doxycycline_course_for_a_healthy_adult_has_no_findings():
    assert check(patient(), doxycycline()) == []


def test_a_mild_steroid_cream_without_a_quantified_dose_has_no_findings():
    cream = prescribe("hydrocortisone-topical", "cream", "topical", "1%", None, supply_days=14)
    assert (
        check(patient(allergies=("NKDA",), current_medications=("cetirizine 10mg",)), cream) == []
    )


# --- formulary membership and controlled substances ---------------------------------------


def test_an_unknown_medicine_is_a_single_block():
    findings = check(
        patient(), prescribe("oxycodone", "tablet", "oral", "5 mg", DoseAmount(10, "mg", "day"))
    )
    assert codes(findings) == [("block", "not_in_formulary")]
    assert findings[0].message == "'oxycodone' is not a medicine in the formulary."


def test_a_strength_the_formulary_does_not_list_is_blocked():
    findings = check(patient(), doxycycline(strength="150 mg"))
    assert codes(findings) == [("block", "not_in_formulary")]
    assert findings[0].message == (
        "Doxycycline capsule is not in the formulary at 150 mg; listed strengths: 50 mg, 100 mg."
    )


def test_strength_spacing_does_not_matter():
    assert check(patient(), doxycycline(strength="100mg")) == []


def test_a_form_on_the_wrong_route_is_blocked():
    gel = prescribe("clindamycin", "gel", "oral", "1%", None)
    finding = only(check(patient(), gel), "not_in_formulary")
    assert finding.message.startswith("Clindamycin is not in the formulary as gel (oral)")


def test_a_controlled_substance_is_refused(tmp_path: Path):
    data = json.loads(Path("prescriptions/formulary.json").read_text(encoding="utf-8"))
    for entry in data:
        if entry["id"] == "chlorphenamine":
            entry["controlled_substance"] = True
    path = tmp_path / "formulary.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    clinic_formulary = load_formulary(formulary_path=path)
    proposed = prescribe("chlorphenamine", "tablet", "oral", "4 mg", DoseAmount(12, "mg", "day"))
    findings = check_prescription(clinic_formulary, patient(), proposed, today=TODAY)
    assert codes(findings) == [("block", "controlled_substance")]
    assert findings[0].message == (
        "Chlorphenamine is a controlled substance; casebox does not issue prescriptions "
        "for controlled substances."
    )


# --- allergies ------------------------------------------------------------------------------


def test_penicillin_allergy_blocks_amoxicillin():
    findings = check(patient(allergies=("Penicillin (rash, hives)",)), amoxicillin())
    assert codes(findings) == [("block", "allergy")]
    assert findings[0].message == (
        "Allergy: Amoxicillin is one of the penicillins, and the patient reports an allergy "
        "to penicillins."
    )
    assert findings[0].medicine_ids == ("amoxicillin",)


def test_an_amoxicillin_allergy_blocks_flucloxacillin_by_class():
    fluclox = prescribe(
        "flucloxacillin", "capsule", "oral", "500 mg", DoseAmount(2000, "mg", "day")
    )
    finding = only(check(patient(allergies=("amoxicillin",)), fluclox), "allergy")
    assert finding.severity == "block"
    assert finding.message == (
        "Allergy: the patient reports an allergy to Amoxicillin; Flucloxacillin is also one "
        "of the penicillins and may cross-react."
    )


def test_a_penicillin_allergy_only_warns_for_a_cephalosporin():
    cefalexin = prescribe("cefalexin", "capsule", "oral", "500 mg", DoseAmount(1500, "mg", "day"))
    finding = only(check(patient(allergies=("penicillins",)), cefalexin), "allergy")
    assert finding.severity == "warning"
    assert "Cefalexin is also one of the beta-lactam antibiotics" in finding.message
    assert "do not prescribe it if the reaction was immediate" in finding.message


def test_a_named_beta_lactam_allergy_blocks_a_cephalosporin():
    cefalexin = prescribe("cefalexin", "capsule", "oral", "500 mg", DoseAmount(1500, "mg", "day"))
    assert codes(check(patient(allergies=("β-lactam antibiotics",)), cefalexin)) == [
        ("block", "allergy")
    ]


@pytest.mark.parametrize("entry", ["Sulfa drugs", "sulphonamides", "SULFA", "sulfonamide allergy"])
def test_sulfa_allergy_spellings_block_co_trimoxazole(entry):
    co_trimoxazole = prescribe(
        "co-trimoxazole", "tablet", "oral", "960 mg", DoseAmount(1920, "mg", "day")
    )
    finding = only(check(patient(allergies=(entry,)), co_trimoxazole), "allergy")
    assert finding.severity == "block"
    assert "is one of the sulfonamides" in finding.message


def test_sulfa_allergy_blocks_silver_sulfadiazine_but_not_trimethoprim():
    cream = prescribe("silver-sulfadiazine", "cream", "topical", "1%", None)
    trimethoprim = prescribe(
        "trimethoprim", "tablet", "oral", "200 mg", DoseAmount(400, "mg", "day")
    )
    assert codes(check(patient(allergies=("sulfa",)), cream)) == [("block", "allergy")]
    assert check(patient(allergies=("sulfa",)), trimethoprim) == []


def test_a_trimethoprim_allergy_blocks_co_trimoxazole():
    co_trimoxazole = prescribe(
        "co-trimoxazole", "tablet", "oral", "960 mg", DoseAmount(1920, "mg", "day")
    )
    assert codes(check(patient(allergies=("trimethoprim",)), co_trimoxazole)) == [
        ("block", "allergy")
    ]


def test_a_penicillin_allergy_does_not_touch_clarithromycin():
    clarithromycin = prescribe(
        "clarithromycin", "tablet", "oral", "500 mg", DoseAmount(1000, "mg", "day")
    )
    assert check(patient(allergies=("penicillin",)), clarithromycin) == []


def test_a_brand_or_us_spelling_is_recognised():
    aciclovir = prescribe("aciclovir", "tablet", "oral", "400 mg", DoseAmount(1200, "mg", "day"))
    assert codes(check(patient(allergies=("Acyclovir",)), aciclovir)) == [("block", "allergy")]


def test_an_allergy_to_one_corticosteroid_warns_for_another():
    clobetasol = prescribe(
        "clobetasol-propionate", "ointment", "topical", "0.05%", DoseAmount(30, "g", "week")
    )
    finding = only(check(patient(allergies=("hydrocortisone",)), clobetasol), "allergy")
    assert finding.severity == "warning"
    assert "cross-sensitivity between corticosteroids depends on their structural group" in (
        finding.message
    )


def test_unmatched_allergy_entries_are_counted_not_quoted():
    findings = check(patient(allergies=("latex, peanuts", "Keflx", "none")), doxycycline())
    finding = only(findings, "allergy_unchecked")
    assert finding.severity == "warning"
    assert finding.message == (
        "3 allergy entries could not be matched to the formulary; check them against "
        "Doxycycline by hand before signing."
    )
    assert finding.patient_entries == ("latex", "peanuts", "Keflx")
    assert "peanut" not in finding.message


def test_no_known_allergies_gives_no_finding():
    assert (
        check(patient(allergies=("No known drug allergies", "NKDA", "none")), doxycycline()) == []
    )


# --- interactions ---------------------------------------------------------------------------


def test_isotretinoin_with_doxycycline_taken_now_is_blocked():
    findings = check(patient(current_medications=("doxycycline 100mg",)), isotretinoin())
    finding = only(findings, "interaction")
    assert finding.severity == "block"
    assert finding.medicine_ids == ("isotretinoin-oral", "doxycycline")
    assert finding.message.startswith(
        "Interaction: Isotretinoin (oral) with Doxycycline (current medication)."
    )
    assert (
        "ANSM CONTRE-INDICATION (RÉTINOÏDES + CYCLINES): Risque d'hypertension intracrânienne."
        in (finding.message)
    )
    assert "casebox rule: Oral retinoid with a tetracycline" in finding.message


def test_trimethoprim_for_a_patient_on_weekly_methotrexate_is_blocked():
    trimethoprim = prescribe(
        "trimethoprim", "tablet", "oral", "200 mg", DoseAmount(400, "mg", "day")
    )
    finding = only(
        check(patient(current_medications=("Methotrexate weekly",)), trimethoprim), "interaction"
    )
    assert finding.severity == "block"
    assert "bone-marrow toxicity" in finding.message
    assert "CONTRE-INDICATION (TRIMETHOPRIME + METHOTREXATE)" in finding.message


def test_methotrexate_with_an_active_amoxicillin_prescription_warns_with_the_level():
    methotrexate = prescribe(
        "methotrexate", "tablet", "oral", "2.5 mg", DoseAmount(15, "mg", "week")
    )
    finding = only(
        check(patient(active_prescriptions=("amoxicillin",)), methotrexate), "interaction"
    )
    assert finding.severity == "warning"
    assert finding.message.startswith(
        "Interaction: Methotrexate with Amoxicillin (active prescription). "
        "ANSM Association DECONSEILLEE (METHOTREXATE + PÉNICILLINES): Augmentation des effets"
    )


def test_vitamin_a_supplements_with_isotretinoin_are_blocked():
    findings = check(patient(current_medications=("Vitamin A 5000 IU daily",)), isotretinoin())
    finding = only(findings, "interaction")
    assert finding.severity == "block"
    assert "vitamin A (retinol) supplements" in finding.message
    assert "hypervitaminosis A" in finding.message
    assert finding.patient_entries == ("Vitamin A 5000 IU daily",)
    assert not [f for f in findings if f.code == "medication_unchecked"]


def test_a_current_medication_outside_the_formulary_is_flagged_as_unchecked():
    findings = check(patient(current_medications=("warfarin 5mg", "atorvastatin")), doxycycline())
    finding = only(findings, "medication_unchecked")
    assert finding.severity == "warning"
    assert finding.message == (
        "2 current medication entries could not be matched to the formulary, so interactions "
        "with Doxycycline were not checked for them; check by hand before signing."
    )
    assert finding.patient_entries == ("warfarin 5mg", "atorvastatin")


def test_a_shampoo_is_not_mistaken_for_ketoconazole_tablets():
    ciclosporin = prescribe(
        "ciclosporin", "capsule", "oral", "100 mg", DoseAmount(175, "mg", "day")
    )
    assert check(patient(current_medications=("ketoconazole 2% shampoo",)), ciclosporin) == []
    tablets = check(patient(current_medications=("ketoconazole 200mg tablets",)), ciclosporin)
    finding = only(tablets, "interaction")
    assert finding.severity == "warning"
    assert finding.medicine_ids == ("ciclosporin", "ketoconazole-oral")


def test_oral_tacrolimus_is_not_matched_to_the_topical_ointment():
    ciclosporin = prescribe(
        "ciclosporin", "capsule", "oral", "100 mg", DoseAmount(175, "mg", "day")
    )
    finding = only(
        check(patient(current_medications=("tacrolimus 1mg capsules",)), ciclosporin),
        "medication_unchecked",
    )
    assert finding.patient_entries == ("tacrolimus 1mg capsules",)


def test_an_active_prescription_no_longer_in_the_formulary_is_flagged():
    finding = only(
        check(patient(active_prescriptions=("oxytetracycline",)), doxycycline()),
        "active_prescription_unchecked",
    )
    assert finding.severity == "warning"
    assert "no longer in the formulary" in finding.message


# --- duplicate therapy ----------------------------------------------------------------------


def test_a_second_tetracycline_is_duplicate_therapy():
    finding = only(
        check(patient(current_medications=("Lymecycline 408 mg",)), doxycycline()),
        "duplicate_therapy",
    )
    assert finding.severity == "warning"
    assert finding.message == (
        "Duplicate therapy: Doxycycline and Lymecycline (current medication) are both in the "
        "class tetracycline antibacterial."
    )


def test_the_same_medicine_already_prescribed_is_duplicate_therapy():
    finding = only(
        check(patient(active_prescriptions=("doxycycline",)), doxycycline()), "duplicate_therapy"
    )
    assert finding.message == (
        "Duplicate therapy: the patient already has Doxycycline (active prescription)."
    )


def test_medicines_of_different_classes_are_not_duplicates():
    cetirizine = prescribe("cetirizine", "tablet", "oral", "10 mg", DoseAmount(10, "mg", "day"))
    assert check(patient(active_prescriptions=("clobetasol-propionate",)), cetirizine) == []


# --- dose -----------------------------------------------------------------------------------


def test_a_dose_above_the_maximum_is_blocked():
    findings = check(patient(), doxycycline(dose=DoseAmount(300, "mg", "day")))
    assert codes(findings) == [("block", "dose_above_maximum")]
    assert findings[0].message == (
        "Doxycycline: 300 mg per day is above the formulary maximum of 200 mg per day."
    )


def test_daily_methotrexate_is_caught_against_its_weekly_maximum():
    methotrexate = prescribe(
        "methotrexate", "tablet", "oral", "2.5 mg", DoseAmount(7.5, "mg", "day")
    )
    finding = only(check(patient(), methotrexate), "dose_above_maximum")
    assert finding.message == (
        "Methotrexate: 7.5 mg per day (52.5 mg per week) is above the formulary maximum of "
        "25 mg per week. Formulary note: once-weekly dosing; a daily schedule is a dosing error."
    )


def test_weekly_methotrexate_in_range_has_no_findings():
    methotrexate = prescribe(
        "methotrexate", "tablet", "oral", "2.5 mg", DoseAmount(15, "mg", "week")
    )
    assert check(patient(), methotrexate) == []


def test_a_dose_below_the_usual_range_warns():
    findings = check(patient(), doxycycline(dose=DoseAmount(50, "mg", "day")))
    assert codes(findings) == [("warning", "dose_below_usual")]
    assert findings[0].message.startswith(
        "Doxycycline: 50 mg per day is below the usual dose of 100 mg per day (usual: 100 mg daily"
    )


def test_a_weekly_topical_limit_is_checked_from_grams_per_day():
    clobetasol = prescribe(
        "clobetasol-propionate", "ointment", "topical", "0.05%", DoseAmount(10, "g", "day")
    )
    finding = only(check(patient(), clobetasol), "dose_above_maximum")
    assert finding.message.startswith(
        "Clobetasol propionate: 10 g per day (70 g per week) is above the formulary maximum "
        "of 50 g per week."
    )
    ok = dataclasses.replace(clobetasol, dose=DoseAmount(30, "g", "week"))
    assert check(patient(), ok) == []


def test_units_convert_within_mass():
    assert check(patient(), doxycycline(dose=DoseAmount(0.1, "g", "day"))) == []
    heavy = check(patient(), doxycycline(dose=DoseAmount(0.25, "g", "day")))
    assert codes(heavy) == [("block", "dose_above_maximum")]


def test_a_dose_in_units_that_do_not_convert_is_unchecked():
    gel = prescribe("brimonidine-topical", "gel", "topical", "3 mg/g", DoseAmount(1, "mL", "day"))
    findings = check(patient(), gel)
    finding = only(findings, "dose_unchecked")
    assert finding.message == (
        "The dose of Brimonidine (topical gel) was not checked: the dose is given in mL but "
        "the formulary limits it in g, which casebox cannot convert."
    )


def test_a_per_kilogram_limit_uses_the_weight():
    # 60 kg: 80 mg a day is 1.33 mg/kg, above isotretinoin's 1 mg/kg maximum.
    findings = check(patient(weight_kg=60.0), isotretinoin(dose=DoseAmount(80, "mg", "day")))
    assert codes(findings) == [("block", "dose_above_maximum")]
    assert findings[0].message.startswith(
        "Isotretinoin (oral): 80 mg per day is above the formulary maximum of 1 mg/kg per day."
    )
    assert "60" not in findings[0].message  # the weight is not repeated back
    assert check(patient(weight_kg=60.0), isotretinoin(dose=DoseAmount(40, "mg", "day"))) == []


def test_a_per_kilogram_limit_without_a_weight_is_unchecked():
    finding = only(check(patient(weight_kg=None), isotretinoin()), "dose_unchecked")
    assert finding.severity == "warning"
    assert "needs the patient's weight, which is not recorded" in finding.message


def test_an_unquantified_dose_of_a_limited_medicine_is_unchecked():
    clobetasol = prescribe("clobetasol-propionate", "cream", "topical", "0.05%", None)
    finding = only(check(patient(), clobetasol), "dose_unchecked")
    assert finding.message == (
        "No quantified dose was given for Clobetasol propionate, so it could not be checked "
        "against the formulary's limit of 50 g per week."
    )


def test_a_once_weekly_regimen_is_not_called_under_dosing():
    fluconazole = prescribe(
        "fluconazole", "capsule", "oral", "150 mg", DoseAmount(150, "mg", "week")
    )
    assert check(patient(), fluconazole) == []


def test_a_weekly_amount_above_the_daily_maximum_asks_how_it_is_spread():
    terbinafine = prescribe(
        "terbinafine", "tablet", "oral", "250 mg", DoseAmount(1000, "mg", "week")
    )
    finding = only(check(patient(), terbinafine), "dose_unchecked")
    assert "exceeds the daily maximum of 250 mg per day if taken on fewer days" in finding.message


def test_a_child_under_twelve_is_warned_about_adult_doses():
    finding = only(check(patient(age_years=9, weight_kg=30.0), doxycycline()), "paediatric_dose")
    assert finding.message == (
        "The formulary's dose limits for Doxycycline are adult doses; for a child under 12, "
        "check the dose and the medicine's suitability in a paediatric reference "
        "(BNF for Children)."
    )


# --- pregnancy and breastfeeding ------------------------------------------------------------


def test_doxycycline_in_pregnancy_is_blocked():
    finding = only(check(woman(pregnant=True), doxycycline()), "pregnancy")
    assert finding.severity == "block"
    assert finding.message.startswith("Doxycycline is contraindicated in pregnancy: ")


def test_a_medicine_to_avoid_in_pregnancy_warns():
    clarithromycin = prescribe(
        "clarithromycin", "tablet", "oral", "500 mg", DoseAmount(1000, "mg", "day")
    )
    finding = only(check(woman(pregnant=True), clarithromycin), "pregnancy")
    assert finding.severity == "warning"
    assert finding.message.startswith("Clarithromycin should be avoided in pregnancy: ")


def test_amoxicillin_in_pregnancy_is_fine():
    assert check(woman(pregnant=True), amoxicillin()) == []


def test_unknown_pregnancy_status_warns_for_a_contraindicated_medicine():
    finding = only(check(woman(pregnant=None), doxycycline()), "pregnancy")
    assert finding.severity == "warning"
    assert "the patient's pregnancy status is not recorded; confirm it before signing" in (
        finding.message
    )


def test_a_patient_who_cannot_become_pregnant_gets_no_pregnancy_finding():
    assert check(patient(pregnant=None, breastfeeding=None), doxycycline()) == []


def test_methotrexate_while_breastfeeding_is_blocked():
    methotrexate = prescribe(
        "methotrexate", "tablet", "oral", "2.5 mg", DoseAmount(15, "mg", "week")
    )
    finding = only(check(woman(breastfeeding=True), methotrexate), "breastfeeding")
    assert finding.severity == "block"
    assert finding.message.startswith("Methotrexate is contraindicated in breastfeeding: ")


def test_a_medicine_to_avoid_while_breastfeeding_warns():
    terbinafine = prescribe("terbinafine", "tablet", "oral", "250 mg", DoseAmount(250, "mg", "day"))
    finding = only(check(woman(breastfeeding=True), terbinafine), "breastfeeding")
    assert finding.severity == "warning"
    assert finding.message.startswith("Terbinafine should be avoided in breastfeeding: ")


# --- pregnancy prevention programme ---------------------------------------------------------

TWO_TESTS = (supervised(1), supervised(29))


def test_isotretinoin_with_two_negative_tests_and_a_monthly_supply_is_allowed():
    assert check(woman(pregnancy_tests=TWO_TESTS), isotretinoin()) == []


def test_isotretinoin_without_pregnancy_tests_is_blocked():
    findings = check(woman(), isotretinoin())
    assert codes(findings) == [("block", "pregnancy_prevention"), ("block", "pregnancy_prevention")]
    assert findings[0].message.startswith(
        "Isotretinoin (oral) needs a medically supervised negative pregnancy test taken today "
        "or in the 3 days before"
    )
    assert findings[1].message.startswith(
        "Isotretinoin (oral) needs a second medically supervised negative pregnancy test taken "
        "at least 19 days before the recent one"
    )


def test_isotretinoin_with_a_repeat_is_blocked():
    finding = only(
        check(woman(pregnancy_tests=TWO_TESTS), isotretinoin(repeats=1)), "pregnancy_prevention"
    )
    assert finding.message.startswith(
        "Isotretinoin (oral) may not be prescribed with repeats for a patient who can become "
        "pregnant"
    )
    assert finding.message.endswith("This one has 1.")


def test_isotretinoin_for_more_than_thirty_days_is_blocked():
    finding = only(
        check(woman(pregnancy_tests=TWO_TESTS), isotretinoin(supply_days=60)),
        "pregnancy_prevention",
    )
    assert "at most 30 days" in finding.message
    assert finding.message.endswith("this prescription is for 60 days.")


def test_an_isotretinoin_prescription_valid_longer_than_seven_days_is_blocked():
    finding = only(
        check(woman(pregnancy_tests=TWO_TESTS), isotretinoin(validity_days=28)),
        "pregnancy_prevention",
    )
    assert "valid for at most 7 days" in finding.message


def test_every_programme_violation_is_its_own_block():
    findings = check(woman(), isotretinoin(supply_days=90, repeats=2, validity_days=30))
    assert [f.code for f in findings if f.severity == "block"] == ["pregnancy_prevention"] * 5


def test_a_latest_test_older_than_three_days_does_not_count():
    findings = check(woman(pregnancy_tests=(supervised(4), supervised(30))), isotretinoin())
    assert codes(findings) == [("block", "pregnancy_prevention")]
    assert "today or in the 3 days before" in findings[0].message


def test_two_tests_less_than_nineteen_days_apart_do_not_count():
    findings = check(woman(pregnancy_tests=(supervised(0), supervised(10))), isotretinoin())
    assert codes(findings) == [("block", "pregnancy_prevention")]
    assert "at least 19 days before the recent one" in findings[0].message


def test_self_reported_tests_do_not_count():
    home = tuple(dataclasses.replace(test, source="self_reported") for test in TWO_TESTS)
    findings = check(woman(pregnancy_tests=home), isotretinoin())
    assert len(findings) == 2
    assert all(
        finding.message.endswith("Self-reported tests do not count.") for finding in findings
    )


def test_a_positive_test_in_the_window_blocks_even_with_two_negatives():
    tests = (
        *TWO_TESTS,
        PregnancyTest(TODAY - timedelta(days=12), False, "patient", "self_reported"),
    )
    finding = only(check(woman(pregnancy_tests=tests), isotretinoin()), "pregnancy_prevention")
    assert finding.message.startswith("A positive pregnancy test is documented")


def test_a_test_dated_in_the_future_is_ignored():
    tests = (PregnancyTest(TODAY + timedelta(days=1), True, "lab", "laboratory"), supervised(29))
    assert (
        "today or in the 3 days before"
        in check(woman(pregnancy_tests=tests), isotretinoin())[0].message
    )


def test_the_programme_does_not_apply_to_a_patient_who_cannot_become_pregnant():
    assert check(patient(), isotretinoin(supply_days=60, repeats=2, validity_days=28)) == []


def test_mycophenolate_follows_its_own_eight_day_test_spacing():
    mycophenolate = prescribe(
        "mycophenolate-mofetil",
        "tablet",
        "oral",
        "500 mg",
        DoseAmount(2000, "mg", "day"),
        supply_days=30,
        validity_days=7,
    )
    assert check(woman(pregnancy_tests=(supervised(0), supervised(9))), mycophenolate) == []
    findings = check(woman(pregnancy_tests=(supervised(0), supervised(5))), mycophenolate)
    assert "at least 8 days before the recent one" in only(findings, "pregnancy_prevention").message


# --- ordering and input validation ----------------------------------------------------------


def test_blocks_come_before_warnings_and_the_order_is_stable():
    who = woman(
        pregnant=None,
        allergies=("latex",),
        current_medications=("doxycycline 100mg", "warfarin"),
    )
    first = check(who, isotretinoin(supply_days=60))
    assert first == check(who, isotretinoin(supply_days=60))
    severities = [finding.severity for finding in first]
    assert severities == sorted(severities, key=lambda severity: severity != "block")
    assert codes(first) == [
        ("block", "interaction"),
        ("block", "pregnancy_prevention"),
        ("block", "pregnancy_prevention"),
        ("block", "pregnancy_prevention"),
        ("warning", "allergy_unchecked"),
        ("warning", "medication_unchecked"),
        ("warning", "pregnancy"),
    ]


def test_warning_keys_are_unique():
    who = woman(
        pregnant=None,
        breastfeeding=None,
        allergies=("latex",),
        current_medications=("lymecycline", "warfarin"),
        active_prescriptions=("minocycline",),
    )
    warnings = [f.key for f in check(who, doxycycline(dose=DoseAmount(50, "mg", "day")))]
    assert len(warnings) == len(set(warnings))


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: DoseAmount(0, "mg", "day"), "positive amount"),
        (lambda: DoseAmount(float("nan"), "mg", "day"), "positive amount"),
        (lambda: DoseAmount(5, "mg", "month"), "per day or per week"),  # type: ignore[arg-type]
        (lambda: doxycycline(repeats=-1), "repeats"),
        (lambda: doxycycline(supply_days=0), "supply_days"),
        (lambda: patient(weight_kg=-3.0), "weight_kg"),
        (lambda: PregnancyTest(TODAY, True, " ", "clinic"), "who documented it"),
    ],
)
def test_impossible_input_is_refused_when_built(build, error):
    with pytest.raises(ValueError, match=error):
        build()
