"""A pharmacy can trust a prescription Bundle: its JWS verifies, any edit breaks it, keys rotate."""

from __future__ import annotations

import base64
import copy
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from joserfc.jwk import ECKey

from prescriptions.fhir import build_bundle
from prescriptions.signing import (
    PRIVATE_KEY_FILE,
    SigningKey,
    SigningKeyError,
    bundle_signing_input,
    load_or_create_signing_key,
    load_public_keys,
    public_jwks,
    rotate_signing_key,
    verify_bundle,
    verify_detached,
)
from tests.prescriptions.test_fhir import BASE_URL, make_document, only


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    return tmp_path / "jws-keys"


@pytest.fixture
def signing_key(key_dir: Path) -> SigningKey:
    return load_or_create_signing_key(key_dir)


@pytest.fixture
def bundle(signing_key: SigningKey) -> dict[str, Any]:
    # What a pharmacy holds: the Bundle after a trip through JSON.
    signed = build_bundle(make_document(), base_url=BASE_URL, signing_key=signing_key)
    return json.loads(json.dumps(signed))


def published(key_dir: Path) -> dict[str, Any]:
    return public_jwks(load_public_keys(key_dir))


def jws_of(bundle: dict[str, Any]) -> str:
    data = only(bundle, "Provenance")["signature"][0]["data"]
    return base64.b64decode(data).decode("ascii")


def test_signed_bundle_verifies_with_the_published_jwks(
    bundle: dict[str, Any], key_dir: Path
) -> None:
    assert verify_bundle(bundle, published(key_dir))


def test_the_signature_is_a_detached_es256_jws_named_by_its_thumbprint(
    bundle: dict[str, Any], signing_key: SigningKey
) -> None:
    header, payload, signature = jws_of(bundle).split(".")

    assert payload == ""
    assert signature
    decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    assert decoded == {"alg": "ES256", "kid": signing_key.kid}
    assert signing_key.kid == ECKey.import_key(signing_key.public_key).thumbprint()


def set_quantity(bundle: dict[str, Any]) -> None:
    only(bundle, "MedicationRequest")["dispenseRequest"]["quantity"]["value"] = 840


def set_repeats(bundle: dict[str, Any]) -> None:
    only(bundle, "MedicationRequest")["dispenseRequest"]["numberOfRepeatsAllowed"] = 5


def set_substitution(bundle: dict[str, Any]) -> None:
    only(bundle, "MedicationRequest")["substitution"]["allowedBoolean"] = False


def set_validity(bundle: dict[str, Any]) -> None:
    only(bundle, "MedicationRequest")["dispenseRequest"]["validityPeriod"]["end"] = "2027-03-31"


def set_medication_code(bundle: dict[str, Any]) -> None:
    only(bundle, "Medication")["code"]["coding"][0]["code"] = "6064"


def set_patient_name(bundle: dict[str, Any]) -> None:
    only(bundle, "Patient")["name"][0]["text"] = "Someone Else"


def set_licence(bundle: dict[str, Any]) -> None:
    only(bundle, "Practitioner")["identifier"][0]["value"] = "CPSO-00000"


def add_instruction(bundle: dict[str, Any]) -> None:
    only(bundle, "MedicationRequest")["dosageInstruction"][0]["text"] += " Double if needed."


def set_recorded(bundle: dict[str, Any]) -> None:
    only(bundle, "Provenance")["recorded"] = "2026-01-01T00:00:00Z"


def set_timestamp(bundle: dict[str, Any]) -> None:
    bundle["timestamp"] = "2026-01-01T00:00:00Z"


def drop_pharmacy(bundle: dict[str, Any]) -> None:
    del only(bundle, "MedicationRequest")["dispenseRequest"]["performer"]


def add_entry(bundle: dict[str, Any]) -> None:
    bundle["entry"].insert(1, copy.deepcopy(bundle["entry"][1]))


@pytest.mark.parametrize(
    "edit",
    [
        set_quantity,
        set_repeats,
        set_substitution,
        set_validity,
        set_medication_code,
        set_patient_name,
        set_licence,
        add_instruction,
        set_recorded,
        set_timestamp,
        drop_pharmacy,
        add_entry,
    ],
)
def test_any_edit_to_the_bundle_fails_verification(
    bundle: dict[str, Any], key_dir: Path, edit: Callable[[dict[str, Any]], None]
) -> None:
    edit(bundle)

    assert not verify_bundle(bundle, published(key_dir))


def test_a_changed_signature_fails_verification(bundle: dict[str, Any], key_dir: Path) -> None:
    header, _, signature = jws_of(bundle).split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    only(bundle, "Provenance")["signature"][0]["data"] = base64.b64encode(
        f"{header}..{flipped}".encode()
    ).decode()

    assert not verify_bundle(bundle, published(key_dir))


def test_another_prescriptions_signature_does_not_fit(
    bundle: dict[str, Any], signing_key: SigningKey, key_dir: Path
) -> None:
    other = build_bundle(
        make_document(prescription_id="RX-54321-09876-34"),
        base_url=BASE_URL,
        signing_key=signing_key,
    )
    only(bundle, "Provenance")["signature"][0]["data"] = only(other, "Provenance")["signature"][0][
        "data"
    ]

    assert not verify_bundle(bundle, published(key_dir))


@pytest.mark.parametrize("data", [None, "", "not base64!", base64.b64encode(b"a.b.c").decode()])
def test_missing_or_garbled_signature_data_fails(
    bundle: dict[str, Any], key_dir: Path, data: str | None
) -> None:
    signature = only(bundle, "Provenance")["signature"][0]
    if data is None:
        del signature["data"]
    else:
        signature["data"] = data

    assert not verify_bundle(bundle, published(key_dir))


def test_a_bundle_without_its_provenance_or_with_two_signatures_fails(
    bundle: dict[str, Any], key_dir: Path
) -> None:
    twice = copy.deepcopy(bundle)
    provenance = only(twice, "Provenance")
    provenance["signature"].append(copy.deepcopy(provenance["signature"][0]))
    unsigned = copy.deepcopy(bundle)
    unsigned["entry"] = unsigned["entry"][:-1]

    assert not verify_bundle(twice, published(key_dir))
    assert not verify_bundle(unsigned, published(key_dir))
    assert not verify_bundle({"resourceType": "Bundle", "type": "collection"}, published(key_dir))


def test_a_key_the_jwks_does_not_hold_fails(bundle: dict[str, Any], tmp_path: Path) -> None:
    stranger = load_or_create_signing_key(tmp_path / "someone-else")

    assert not verify_bundle(bundle, public_jwks([stranger]))
    assert not verify_bundle(bundle, {"keys": []})


def test_a_jwks_entry_whose_kid_is_not_its_thumbprint_is_ignored(
    bundle: dict[str, Any], signing_key: SigningKey, tmp_path: Path
) -> None:
    stranger = load_or_create_signing_key(tmp_path / "someone-else")
    (entry,) = public_jwks([stranger])["keys"]
    forged = {"keys": [{**entry, "kid": signing_key.kid}]}

    assert not verify_bundle(bundle, forged)


def test_old_bundles_verify_after_rotation_and_new_ones_use_the_new_key(
    key_dir: Path, signing_key: SigningKey, bundle: dict[str, Any]
) -> None:
    new_key = rotate_signing_key(key_dir)
    new_bundle = build_bundle(make_document(), base_url=BASE_URL, signing_key=new_key)
    jwks = published(key_dir)

    assert new_key.kid != signing_key.kid
    assert load_or_create_signing_key(key_dir).kid == new_key.kid
    assert {entry["kid"] for entry in jwks["keys"]} == {signing_key.kid, new_key.kid}
    assert verify_bundle(bundle, jwks)
    assert verify_bundle(new_bundle, jwks)
    assert not verify_bundle(bundle, public_jwks([new_key]))


def test_the_key_is_created_once_and_reused(key_dir: Path, signing_key: SigningKey) -> None:
    assert load_or_create_signing_key(key_dir).kid == signing_key.kid
    assert len(load_public_keys(key_dir)) == 1


def test_the_private_key_file_is_readable_by_its_owner_only(
    key_dir: Path, signing_key: SigningKey
) -> None:
    old_umask = os.umask(0)
    try:
        rotate_signing_key(key_dir)
    finally:
        os.umask(old_umask)

    assert stat.S_IMODE((key_dir / PRIVATE_KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    assert not [path for path in key_dir.iterdir() if path.name.startswith(".")]


def test_a_private_key_readable_by_others_is_refused(
    key_dir: Path, signing_key: SigningKey
) -> None:
    (key_dir / PRIVATE_KEY_FILE).chmod(0o644)

    with pytest.raises(SigningKeyError, match="chmod 600"):
        load_or_create_signing_key(key_dir)


def test_no_private_key_material_is_published_or_printed(
    key_dir: Path, signing_key: SigningKey
) -> None:
    jwks = published(key_dir)
    private_pem = (key_dir / PRIVATE_KEY_FILE).read_text()
    private_d = ECKey.import_key(private_pem).as_dict(private=True)["d"]

    (entry,) = jwks["keys"]
    assert set(entry) == {"kty", "crv", "x", "y", "kid", "use", "alg"}
    assert private_d not in json.dumps(jwks)
    assert private_d not in repr(signing_key)
    assert "PRIVATE" not in repr(signing_key)
    for path in (key_dir / "public").iterdir():
        assert "PRIVATE" not in path.read_text()


def test_verify_detached_accepts_only_detached_es256_over_the_same_payload(
    signing_key: SigningKey,
) -> None:
    jwks = public_jwks([signing_key])
    jws = signing_key.sign_detached(b"payload")
    header, _, signature = jws.split(".")
    attached = f"{header}.{base64.urlsafe_b64encode(b'payload').decode().rstrip('=')}.{signature}"
    unsigned_header = base64.urlsafe_b64encode(b'{"alg":"none"}').decode().rstrip("=")

    assert verify_detached(jws, b"payload", jwks)
    assert not verify_detached(jws, b"payloaD", jwks)
    assert not verify_detached(attached, b"payload", jwks)
    assert not verify_detached(f"{unsigned_header}..", b"payload", jwks)
    assert not verify_detached("not a jws", b"payload", jwks)


def test_what_is_signed_is_the_canonical_bundle_without_the_signature_value(
    bundle: dict[str, Any], signing_key: SigningKey
) -> None:
    reordered = json.loads(json.dumps(bundle, sort_keys=True, indent=2))
    payload = bundle_signing_input(bundle)

    assert bundle_signing_input(reordered) == payload
    assert only(bundle, "Provenance")["signature"][0]["data"].encode() not in payload
    assert b'"sigFormat":"application/jose"' in payload
    assert verify_detached(jws_of(bundle), payload, public_jwks([signing_key]))


def test_canonical_json_matches_rfc_8785_examples() -> None:
    # RFC 8785 section 3.2.2 (values) and 3.2.3 (property sorting by UTF-16 code units).
    values = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    assert rfc8785.dumps(values) == (
        b'{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        b'"string":"\xe2\x82\xac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    sorting = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    keys = list(json.loads(rfc8785.dumps(sorting)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
