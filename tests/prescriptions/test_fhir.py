"""The prescription's FHIR document Bundle: valid R4(B), complete, coded and reproducible."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from prescriptions.document import (
    MedicationLine,
    Organisation,
    PatientDetails,
    Prescriber,
    PrescriptionDocument,
)
from prescriptions.fhir import build_bundle
from prescriptions.signing import SigningKey, bundle_signing_input, load_or_create_signing_key

BASE_URL = "https://clinic.example"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"


def make_document(**changes: Any) -> PrescriptionDocument:
    """A doxycycline prescription addressed to a pharmacy; keyword arguments replace fields."""
    doc = PrescriptionDocument(
        prescription_id="RX-12345-67890-12",
        access_code="k" * 43,
        verification_url=f"{BASE_URL}/verify/RX-12345-67890-12?code=" + "k" * 43,
        issued_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        valid_until=date(2026, 3, 31),
        prescriber=Prescriber(
            id="0b6f1c1e-prescriber",
            name="Dr Ada Okafor",
            licence_number="CPSO-98765",
            licence_authority="College of Physicians and Surgeons of Ontario",
            licence_system="https://cpso.on.ca/licence",
        ),
        patient=PatientDetails(
            id="7d1e2f3a-patient", name="Jo Bloggs", date_of_birth=date(1990, 5, 4), sex="female"
        ),
        clinic=Organisation(
            id="clinic-1", name="Riverside Skin Clinic", address="1 Main St", phone="+1 555 0100"
        ),
        pharmacy=Organisation(id="pharmacy-1", name="Corner Pharmacy", address="2 High St"),
        medication=MedicationLine(
            formulary_id="doxycycline-oral",
            name="Doxycycline",
            rxnorm_code="3640",
            atc_code="J01AA02",
            form="capsule",
            route="oral",
            strength="100 mg",
            instructions="Take 1 capsule twice a day, with food, for 6 weeks.",
            quantity="84 capsules",
            repeats=1,
            substitution_allowed=True,
            supply_days=42,
            dosage={
                "amount": {"value": 1, "unit": "capsule"},
                "frequency": {"times": 2, "per": "day"},
                "duration": {"value": 6, "unit": "week"},
                "timing": ["with_food"],
            },
        ),
    )
    return dataclasses.replace(doc, **changes)


def with_medication(**changes: Any) -> PrescriptionDocument:
    doc = make_document()
    return dataclasses.replace(doc, medication=dataclasses.replace(doc.medication, **changes))


@pytest.fixture
def signing_key(tmp_path: Path) -> SigningKey:
    return load_or_create_signing_key(tmp_path / "jws-keys")


def resources(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [
        entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == resource_type
    ]


def only(bundle: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (resource,) = resources(bundle, resource_type)
    return resource


def resolve(bundle: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    (resource,) = [e["resource"] for e in bundle["entry"] if e["fullUrl"] == reference["reference"]]
    return resource


def test_bundle_parses_back_as_a_fhir_document(signing_key: SigningKey) -> None:
    bundle = build_bundle(make_document(), base_url=BASE_URL, signing_key=signing_key)

    parsed = Bundle.model_validate(json.loads(json.dumps(bundle)))

    assert parsed.type == "document"
    assert bundle["identifier"]["system"] == "urn:ietf:rfc:3986"
    assert bundle["identifier"]["value"].startswith("urn:uuid:")
    assert bundle["timestamp"] == "2026-03-01T09:30:00Z"
    assert all(entry["fullUrl"].startswith("urn:uuid:") for entry in bundle["entry"])
    assert len({entry["fullUrl"] for entry in bundle["entry"]}) == len(bundle["entry"])


def test_composition_comes_first_and_its_section_holds_the_medication_request(
    signing_key: SigningKey,
) -> None:
    bundle = build_bundle(make_document(), base_url=BASE_URL, signing_key=signing_key)

    composition = bundle["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert composition["status"] == "final"
    assert composition["type"]["coding"] == [
        {"system": "http://loinc.org", "code": "57833-6", "display": "Prescription for medication"}
    ]
    assert composition["title"] == "Prescription RX-12345-67890-12"
    assert composition["date"] == "2026-03-01T09:30:00Z"
    assert resolve(bundle, composition["subject"])["resourceType"] == "Patient"
    assert resolve(bundle, composition["author"][0])["resourceType"] == "Practitioner"
    (section,) = composition["section"]
    assert resolve(bundle, section["entry"][0])["resourceType"] == "MedicationRequest"
    assert "Take 1 capsule twice a day, with food, for 6 weeks." in section["text"]["div"]


def test_every_reference_resolves_inside_the_bundle(signing_key: SigningKey) -> None:
    bundle = build_bundle(make_document(), base_url=BASE_URL, signing_key=signing_key)
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}

    def references(value: Any) -> list[str]:
        if isinstance(value, dict):
            found = [value["reference"]] if isinstance(value.get("reference"), str) else []
            return found + [ref for item in value.values() for ref in references(item)]
        if isinstance(value, list):
            return [ref for item in value for ref in references(item)]
        return []

    assert set(references(bundle["entry"])) <= full_urls


def test_medication_request_says_what_to_dispense_how_often_and_until_when(
    signing_key: SigningKey,
) -> None:
    bundle = build_bundle(make_document(), base_url=BASE_URL, signing_key=signing_key)

    request = only(bundle, "MedicationRequest")
    assert request["status"] == "active"
    assert request["intent"] == "order"
    assert request["identifier"][0]["value"] == "RX-12345-67890-12"
    assert request["authoredOn"] == "2026-03-01T09:30:00Z"
    assert resolve(bundle, request["medicationReference"])["resourceType"] == "Medication"
    assert resolve(bundle, request["subject"])["resourceType"] == "Patient"
    assert resolve(bundle, request["requester"])["resourceType"] == "Practitioner"
    dosage = request["dosageInstruction"][0]
    assert dosage["text"] == "Take 1 capsule twice a day, with food, for 6 weeks."
    assert dosage["patientInstruction"] == dosage["text"]
    assert dosage["route"]["coding"][0]["code"] == "26643006"  # SNOMED CT oral route
    assert dosage["timing"]["repeat"] == {
        "frequency": 2,
        "period": 1,
        "periodUnit": "d",
        "when": ["C"],  # with a meal
        "boundsDuration": {"value": 6, "unit": "weeks", "system": UCUM, "code": "wk"},
    }
    assert dosage["asNeededBoolean"] is False
    assert dosage["doseAndRate"] == [{"doseQuantity": {"value": 1, "unit": "capsule"}}]
    dispense = request["dispenseRequest"]
    assert dispense["quantity"] == {"value": 84, "unit": "capsules"}
    assert dispense["numberOfRepeatsAllowed"] == 1
    assert dispense["validityPeriod"] == {"start": "2026-03-01T09:30:00Z", "end": "2026-03-31"}
    assert dispense["expectedSupplyDuration"]["value"] == 42
    assert request["substitution"] == {"allowedBoolean": True}


def test_every_n_hours_when_needed_gives_a_period_in_hours_and_a_daily_maximum(
    signing_key: SigningKey,
) -> None:
    doc = with_medication(
        instructions="Take 1 tablet every 6 hours when needed, no more than 3 times a day, "
        "until your next review.",
        dosage={
            "amount": {"value": 250, "unit": "mg"},
            "frequency": {"every_hours": 6, "as_needed": True, "max_per_day": 3},
            "duration": {"until_review": True},
            "timing": [],
            "note": "Stop if a rash appears.",
        },
    )

    request = only(
        build_bundle(doc, base_url=BASE_URL, signing_key=signing_key), "MedicationRequest"
    )

    dosage = request["dosageInstruction"][0]
    assert dosage["timing"]["repeat"] == {"frequency": 1, "period": 6, "periodUnit": "h"}
    assert dosage["asNeededBoolean"] is True
    assert dosage["doseAndRate"][0]["doseQuantity"] == {
        "value": 250, "unit": "mg", "system": UCUM, "code": "mg"
    }  # fmt: skip
    assert dosage["maxDosePerPeriod"] == {
        "numerator": {"value": 750, "unit": "mg", "system": UCUM, "code": "mg"},
        "denominator": {"value": 1, "unit": "day", "system": UCUM, "code": "d"},
    }
    assert [item["text"] for item in dosage["additionalInstruction"]] == [
        "until the next review",
        "Stop if a rash appears.",
    ]
    assert Bundle.model_validate(build_bundle(doc, base_url=BASE_URL, signing_key=signing_key))


def test_a_thin_layer_once_a_week_has_no_dose_quantity(signing_key: SigningKey) -> None:
    doc = with_medication(
        route="topical",
        form="cream",
        instructions="Apply a thin layer once a week, on the same day each week, for 4 weeks.",
        dosage={
            "amount": {"unquantified": "thin_layer"},
            "frequency": {"times": 1, "per": "week"},
            "duration": {"value": 4, "unit": "week"},
            "timing": ["bedtime", "empty_stomach"],
        },
    )

    request = only(
        build_bundle(doc, base_url=BASE_URL, signing_key=signing_key), "MedicationRequest"
    )

    dosage = request["dosageInstruction"][0]
    assert "doseAndRate" not in dosage
    assert dosage["timing"]["repeat"]["periodUnit"] == "wk"
    assert dosage["timing"]["repeat"]["when"] == ["HS"]
    assert dosage["additionalInstruction"] == [{"text": "on an empty stomach"}]
    assert dosage["route"]["coding"][0]["code"] == "6064005"  # SNOMED CT topical route


def test_a_document_signed_before_dosages_were_structured_keeps_its_text(
    signing_key: SigningKey,
) -> None:
    doc = with_medication(dosage=None, instructions="Take one capsule a day.")

    request = only(
        build_bundle(doc, base_url=BASE_URL, signing_key=signing_key), "MedicationRequest"
    )

    dosage = request["dosageInstruction"][0]
    assert dosage["text"] == "Take one capsule a day."
    assert "timing" not in dosage and "doseAndRate" not in dosage


def test_a_quantity_in_grams_is_ucum_coded_and_no_substitution_is_kept(
    signing_key: SigningKey,
) -> None:
    doc = with_medication(quantity="30 g", substitution_allowed=False, repeats=0)

    request = only(
        build_bundle(doc, base_url=BASE_URL, signing_key=signing_key), "MedicationRequest"
    )

    assert request["dispenseRequest"]["quantity"] == {
        "value": 30,
        "unit": "g",
        "system": "http://unitsofmeasure.org",
        "code": "g",
    }
    assert request["dispenseRequest"]["numberOfRepeatsAllowed"] == 0
    assert request["substitution"] == {"allowedBoolean": False}


def test_medication_is_coded_in_rxnorm_and_atc_with_form_and_strength(
    signing_key: SigningKey,
) -> None:
    medication = only(
        build_bundle(make_document(), base_url=BASE_URL, signing_key=signing_key), "Medication"
    )

    codings = {coding["system"]: coding["code"] for coding in medication["code"]["coding"]}
    assert codings == {RXNORM: "3640", ATC: "J01AA02"}
    assert medication["code"]["text"] == "Doxycycline 100 mg capsule"
    assert medication["form"]["text"] == "capsule"


def test_a_medicine_without_an_rxnorm_code_is_coded_in_atc_only(signing_key: SigningKey) -> None:
    doc = with_medication(rxnorm_code=None, atc_code="D07AA02", name="Hydrocortisone")

    medication = only(build_bundle(doc, base_url=BASE_URL, signing_key=signing_key), "Medication")

    assert [coding["system"] for coding in medication["code"]["coding"]] == [ATC]
    assert "ingredient" not in medication


def test_patient_and_practitioner_with_the_licence_identifier(signing_key: SigningKey) -> None:
    bundle = build_bundle(make_document(), base_url=BASE_URL, signing_key=signing_key)

    patient = only(bundle, "Patient")
    assert patient["name"] == [{"text": "Jo Bloggs"}]
    assert patient["birthDate"] == "1990-05-04"
    assert patient["gender"] == "female"
    practitioner = only(bundle, "Practitioner")
    licence = {
        "use": "official",
        "system": "https://cpso.on.ca/licence",
        "value": "CPSO-98765",
        "assigner": {"display": "College of Physicians and Surgeons of Ontario"},
    }
    assert licence in practitioner["identifier"]
    assert practitioner["qualification"][0]["identifier"] == [licence]
    assert practitioner["name"] == [{"text": "Dr Ada Okafor"}]


def test_the_pharmacy_is_the_organisation_asked_to_dispense(signing_key: SigningKey) -> None:
    bundle = build_bundle(make_document(), base_url=BASE_URL, signing_key=signing_key)

    names = {organization["name"] for organization in resources(bundle, "Organization")}
    assert names == {"Riverside Skin Clinic", "Corner Pharmacy"}
    performer = only(bundle, "MedicationRequest")["dispenseRequest"]["performer"]
    assert resolve(bundle, performer)["name"] == "Corner Pharmacy"


def test_without_a_pharmacy_only_the_clinic_is_named(signing_key: SigningKey) -> None:
    bundle = build_bundle(make_document(pharmacy=None), base_url=BASE_URL, signing_key=signing_key)

    assert [org["name"] for org in resources(bundle, "Organization")] == ["Riverside Skin Clinic"]
    assert "performer" not in only(bundle, "MedicationRequest")["dispenseRequest"]
    Bundle.model_validate(bundle)


def test_overridden_warnings_reach_the_pharmacist(signing_key: SigningKey) -> None:
    doc = make_document(warnings_overridden=("Benefit outweighs the photosensitivity risk",))

    request = only(
        build_bundle(doc, base_url=BASE_URL, signing_key=signing_key), "MedicationRequest"
    )

    assert "Benefit outweighs the photosensitivity risk" in request["note"][0]["text"]


def test_provenance_targets_every_resource_and_carries_the_authors_jose_signature(
    signing_key: SigningKey,
) -> None:
    bundle = build_bundle(make_document(), base_url=BASE_URL, signing_key=signing_key)

    assert bundle["entry"][-1]["resource"]["resourceType"] == "Provenance"
    provenance = only(bundle, "Provenance")
    others = {e["fullUrl"] for e in bundle["entry"] if e["resource"] is not provenance}
    assert {target["reference"] for target in provenance["target"]} == others
    assert provenance["recorded"] == "2026-03-01T09:30:00Z"
    assert resolve(bundle, provenance["agent"][0]["who"])["resourceType"] == "Practitioner"
    (signature,) = provenance["signature"]
    assert signature["type"] == [
        {
            "system": "urn:iso-astm:E1762-95:2013",
            "code": "1.2.840.10065.1.12.1.1",
            "display": "Author's Signature",
        }
    ]
    assert signature["sigFormat"] == "application/jose"
    assert signature["targetFormat"] == "application/fhir+json"
    assert resolve(bundle, signature["who"])["resourceType"] == "Practitioner"
    assert signature["data"]


def test_the_access_code_does_not_travel_in_the_bundle(signing_key: SigningKey) -> None:
    bundle = build_bundle(make_document(), base_url=BASE_URL, signing_key=signing_key)

    assert "k" * 43 not in json.dumps(bundle)


def test_rendering_the_same_document_again_gives_the_same_document(
    signing_key: SigningKey,
) -> None:
    first = build_bundle(make_document(), base_url=BASE_URL, signing_key=signing_key)
    second = build_bundle(make_document(), base_url=BASE_URL, signing_key=signing_key)

    assert bundle_signing_input(first) == bundle_signing_input(second)
    # Only the signature value differs: ECDSA signatures are randomised.
    assert without_signature_data(first) == without_signature_data(second)
    assert first["entry"][0]["fullUrl"] == second["entry"][0]["fullUrl"]


def test_another_prescription_gets_other_identifiers(signing_key: SigningKey) -> None:
    first = build_bundle(make_document(), base_url=BASE_URL, signing_key=signing_key)
    other = build_bundle(
        make_document(prescription_id="RX-54321-09876-34"),
        base_url=BASE_URL,
        signing_key=signing_key,
    )

    first_urls = {entry["fullUrl"] for entry in first["entry"]}
    assert first_urls.isdisjoint(entry["fullUrl"] for entry in other["entry"])
    assert first["identifier"] != other["identifier"]


def test_a_naive_issue_time_or_a_quantity_without_unit_is_refused(signing_key: SigningKey) -> None:
    with pytest.raises(ValueError, match="timezone"):
        build_bundle(
            make_document(issued_at=datetime(2026, 3, 1, 9, 30)),  # naive on purpose
            base_url=BASE_URL,
            signing_key=signing_key,
        )
    with pytest.raises(ValueError, match="quantity"):
        build_bundle(with_medication(quantity="plenty"), base_url=BASE_URL, signing_key=signing_key)


def without_signature_data(bundle: dict[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(bundle)
    for signature in only(copied, "Provenance")["signature"]:
        signature.pop("data")
    return copied
