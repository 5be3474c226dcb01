"""Structured dose instructions: the patient's text made from them and the dose total."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from marshmallow import ValidationError

from casebox.i18n import force_locale, init_app
from prescriptions.dosage import (
    Dosage,
    dosage_from_json,
    dosage_to_json,
    patient_text,
    reader_text,
    record_text,
    total_dose,
)
from prescriptions.formulary import load_formulary
from prescriptions.safety import (
    DoseAmount,
    PatientSafetyContext,
    ProposedPrescription,
    check_prescription,
)
from prescriptions.schemas import DosageSchema


def dosage(**parts: Any) -> Dosage:
    """A dosage as the API takes it (validated), defaults: 1 capsule once a day, 12 weeks."""
    data = {
        "amount": {"value": 1, "unit": "capsule"},
        "frequency": {"times": 1, "per": "day"},
        "duration": {"value": 12, "unit": "week"},
        **parts,
    }
    loaded: Dosage = DosageSchema().load(data)
    return loaded


def refused(**parts: Any) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        dosage(**parts)
    messages: dict[str, Any] = caught.value.normalized_messages()  # type: ignore[assignment]
    return messages


@pytest.fixture
def babel_app() -> Iterator[Flask]:
    """A bare application with casebox's languages, for text in another locale."""
    app = Flask(__name__)
    init_app(app)
    with app.app_context():
        yield app


# --- text --------------------------------------------------------------------------------


def test_capsules_twice_a_day_morning_and_evening_for_weeks() -> None:
    text = record_text(
        dosage(frequency={"times": 2, "per": "day"}, timing=["evening", "morning"]), "oral"
    )
    assert text == "Take 1 capsule twice a day, in the morning and in the evening, for 12 weeks."


def test_a_thin_layer_of_a_topical_until_the_next_review() -> None:
    text = record_text(
        dosage(amount={"unquantified": "thin_layer"}, timing=["bedtime"],
               duration={"until_review": True}),
        "topical",
    )  # fmt: skip
    assert text == "Apply a thin layer once a day, at bedtime, until your next review."


def test_fingertip_units_and_as_much_as_needed_are_applied() -> None:
    ftu = dosage(
        amount={"value": 2, "unit": "fingertip_unit"}, duration={"value": 5, "unit": "day"}
    )
    assert record_text(ftu, "topical") == "Apply 2 fingertip units once a day, for 5 days."
    ample = dosage(amount={"unquantified": "as_needed"}, frequency={"times": 3, "per": "day"})
    assert record_text(ample, "topical").startswith("Apply as much as needed 3 times a day,")


def test_every_n_hours_with_food() -> None:
    text = record_text(
        dosage(amount={"value": 1, "unit": "tablet"}, frequency={"every_hours": 8},
               timing=["with_food"], duration={"value": 7, "unit": "day"}),
        "oral",
    )  # fmt: skip
    assert text == "Take 1 tablet every 8 hours, with food, for 7 days."


def test_weekly_methotrexate_says_the_same_day_each_week_and_keeps_the_note() -> None:
    text = record_text(
        dosage(amount={"value": 4, "unit": "tablet"}, frequency={"times": 1, "per": "week"},
               duration={"value": 3, "unit": "month"},
               note="Take your folic acid on a different day"),
        "oral",
    )  # fmt: skip
    assert text == (
        "Take 4 tablets once a week, on the same day each week, for 3 months. "
        "Take your folic acid on a different day."
    )
    assert record_text(dosage(frequency={"times": 2, "per": "week"}), "oral") == (
        "Take 1 capsule twice a week, for 12 weeks."
    )


def test_when_needed_with_a_daily_maximum() -> None:
    alone = dosage(
        amount={"value": 1, "unit": "tablet"}, frequency={"as_needed": True, "max_per_day": 2},
        duration={"value": 1, "unit": "month"},
    )  # fmt: skip
    assert record_text(alone, "oral") == (
        "Take 1 tablet when needed, up to 2 times a day, for 1 month."
    )
    spaced = dosage(
        amount={"value": 1, "unit": "tablet"},
        frequency={"every_hours": 6, "as_needed": True, "max_per_day": 3},
        duration={"value": 1, "unit": "week"},
    )
    assert record_text(spaced, "oral") == (
        "Take 1 tablet every 6 hours when needed, no more than 3 times a day, for 1 week."
    )


@pytest.mark.parametrize(
    ("duration", "words"),
    [
        ({"value": 1, "unit": "day"}, "for 1 day."),
        ({"value": 10, "unit": "day"}, "for 10 days."),
        ({"value": 1, "unit": "week"}, "for 1 week."),
        ({"value": 6, "unit": "month"}, "for 6 months."),
        ({"until_review": True}, "until your next review."),
    ],
)
def test_durations(duration: dict[str, Any], words: str) -> None:
    assert record_text(dosage(duration=duration), "oral").endswith(f"once a day, {words}")


def test_injections_and_measured_amounts() -> None:
    pen = dosage(amount={"value": 1, "unit": "pen"}, frequency={"times": 1, "per": "week"})
    assert record_text(pen, "subcutaneous").startswith("Inject 1 pre-filled pen once a week")
    liquid = dosage(amount={"value": 2.5, "unit": "mL"}, frequency={"times": 3, "per": "day"})
    assert record_text(liquid, "oral").startswith("Take 2.5 mL 3 times a day")
    half = dosage(amount={"value": 0.5, "unit": "tablet"})
    assert record_text(half, "oral").startswith("Take 0.5 tablets once a day")


def test_the_record_stays_english_while_the_patient_reads_in_their_language(
    babel_app: Flask,
) -> None:
    tablets = dosage(
        amount={"value": 1.5, "unit": "tablet"}, frequency={"times": 2, "per": "day"},
        timing=["morning", "evening"],
    )  # fmt: skip
    with force_locale("fr"):
        french = patient_text(tablets, "oral")
        record = record_text(tablets, "oral")
    assert (
        record == "Take 1.5 tablets twice a day, in the morning and in the evening, for 12 weeks."
    )
    assert french == (
        "Prendre 1,5 comprimé deux fois par jour, le matin et le soir, pendant 12 semaines."
    )  # 1,5 is singular in French


def test_the_patient_s_pages_remake_the_text_from_the_stored_structure(babel_app: Flask) -> None:
    stored = dosage_to_json(dosage(amount={"value": 2.5, "unit": "mL"}))
    with force_locale("fr"):
        assert reader_text(stored, "oral", "Take 2.5 mL once a day, for 12 weeks.") == (
            "Prendre 2,5 mL une fois par jour, pendant 12 semaines."
        )
    assert reader_text(None, "oral", "Take one capsule a day.") == "Take one capsule a day."


# --- totals and the dose-range check -------------------------------------------------------


def test_the_total_multiplies_the_strength_by_the_times_a_day_or_week() -> None:
    assert total_dose(dosage(amount={"value": 2, "unit": "capsule"},
                             frequency={"times": 2, "per": "day"}), "100 mg") == DoseAmount(
        400, "mg", "day"
    )  # fmt: skip
    assert total_dose(dosage(frequency={"every_hours": 6}), "500 mg") == DoseAmount(
        2000, "mg", "day"
    )
    weekly = dosage(amount={"value": 4, "unit": "tablet"}, frequency={"times": 1, "per": "week"})
    assert total_dose(weekly, "2.5 mg") == DoseAmount(10, "mg", "week")
    liquid = dosage(amount={"value": 5, "unit": "mL"}, frequency={"times": 3, "per": "day"})
    assert total_dose(liquid, "250 mg/5 mL") == DoseAmount(750, "mg", "day")
    ftu = dosage(amount={"value": 4, "unit": "fingertip_unit"})
    assert total_dose(ftu, "0.05%") == DoseAmount(2, "g", "day")
    when_needed = dosage(frequency={"every_hours": 4, "as_needed": True, "max_per_day": 4})
    assert total_dose(when_needed, "10 mg") == DoseAmount(40, "mg", "day")  # the maximum


def test_an_unquantified_amount_has_no_total() -> None:
    assert total_dose(dosage(amount={"unquantified": "thin_layer"}), "0.05%") is None


def test_two_capsules_twice_a_day_of_doxycycline_is_above_its_maximum() -> None:
    two_twice = dosage(amount={"value": 2, "unit": "capsule"}, frequency={"times": 2, "per": "day"})
    proposed = ProposedPrescription(
        medicine_id="doxycycline", form="capsule", route="oral", strength="100 mg",
        dose=total_dose(two_twice, "100 mg"), supply_days=28, repeats=0, validity_days=30,
    )  # fmt: skip
    patient = PatientSafetyContext(
        age_years=40, can_become_pregnant=False, pregnant=None, breastfeeding=None
    )
    findings = check_prescription(load_formulary(), patient, proposed, today=dt.date(2026, 12, 1))
    assert [(f.severity, f.code) for f in findings] == [("block", "dose_above_maximum")]
    assert "400 mg per day is above the formulary maximum of 200 mg per day" in findings[0].message


# --- validation and JSON -------------------------------------------------------------------


def test_impossible_values_are_refused_field_by_field() -> None:
    assert refused(amount={"value": 0, "unit": "capsule"})["amount"]["value"]
    assert refused(amount={"value": 1.5, "unit": "capsule"})["amount"]["value"]
    assert refused(amount={"value": 0.3, "unit": "tablet"})["amount"]["value"]
    assert refused(amount={"value": 1, "unit": "spoon"})["amount"]["unit"]
    assert refused(amount={"value": 1})["amount"]["unit"]
    assert refused(amount={"unquantified": "thin_layer", "value": 1, "unit": "g"})["amount"]
    assert refused(frequency={"times": 25, "per": "day"})["frequency"]["times"]
    assert refused(frequency={"times": 8, "per": "week"})["frequency"]["times"]
    assert refused(frequency={"every_hours": 0})["frequency"]["every_hours"]
    assert refused(frequency={})["frequency"]["times"]
    assert refused(frequency={"as_needed": True})["frequency"]["max_per_day"]
    assert refused(frequency={"times": 3, "per": "day", "as_needed": True, "max_per_day": 2})[
        "frequency"
    ]["max_per_day"]
    assert refused(frequency={"times": 1, "per": "day", "max_per_day": 2})["frequency"]
    assert refused(duration={"value": 13, "unit": "year"})["duration"]["unit"]
    assert refused(duration={"value": 105, "unit": "week"})["duration"]["value"]
    assert refused(duration={})["duration"]
    assert refused(timing=["dawn"])["timing"]
    assert refused(timing=["with_food", "empty_stomach"])["timing"]
    assert refused(timing=["morning", "morning"])["timing"]
    assert refused(timing=["morning", "evening"])["timing"]  # but only once a day
    assert refused(note="x" * 201)["note"]


def test_the_json_goes_back_and_forth_unchanged() -> None:
    value = dosage(
        amount={"value": 1, "unit": "tablet"},
        frequency={"every_hours": 6, "as_needed": True, "max_per_day": 3},
        timing=["after_food", "morning"], note="Stop if a rash appears.",
    )  # fmt: skip
    data = dosage_to_json(value)
    assert data == {
        "amount": {"value": 1, "unit": "tablet"},
        "frequency": {"every_hours": 6, "as_needed": True, "max_per_day": 3},
        "duration": {"value": 12, "unit": "week"},
        "timing": ["morning", "after_food"],  # in their fixed order
        "note": "Stop if a rash appears.",
    }
    assert dosage_from_json(data) == value
