"""Prescription numbers catch a pharmacist's typing mistakes; access codes are secret."""

from __future__ import annotations

import itertools

from prescriptions.identifiers import (
    check_digits,
    new_access_code,
    new_prescription_number,
    normalise_prescription_number,
)


def test_a_new_number_is_well_formed_and_passes_its_own_check() -> None:
    number = new_prescription_number()
    assert normalise_prescription_number(number) == number
    assert len(number) == len("RX-12345-67890-12")


def test_the_check_is_iso_7064_mod_97_10_as_in_an_iban() -> None:
    # GB82 WEST 1234 5698 7654 32 (the IBAN registry's example) in numeric form: the
    # account part, then "GB" as 1611, then the check digits it must produce, 82.
    assert check_digits("32142829123456987654321611") == "82"
    assert int("3214282912345698765432161182") % 97 == 1


def test_typed_numbers_are_forgiven_spacing_and_case() -> None:
    number = new_prescription_number()
    typed = " " + number.lower().replace("-", " ") + " "
    assert normalise_prescription_number(typed) == number
    assert normalise_prescription_number(number.replace("-", "")) == number


def test_every_single_wrong_digit_is_detected() -> None:
    number = new_prescription_number()
    for position, character in enumerate(number):
        if not character.isdigit():
            continue
        for wrong in "0123456789":
            if wrong != character:
                mistyped = number[:position] + wrong + number[position + 1 :]
                assert normalise_prescription_number(mistyped) is None


def test_every_swap_of_neighbouring_digits_is_detected() -> None:
    number = new_prescription_number()
    digits = [i for i, c in enumerate(number) if c.isdigit()]
    for a, b in itertools.pairwise(digits):
        if b == a + 1 and number[a] != number[b]:
            swapped = number[:a] + number[b] + number[a] + number[b + 1 :]
            assert normalise_prescription_number(swapped) is None


def test_numbers_are_not_sequential_and_access_codes_carry_256_bits() -> None:
    numbers = {new_prescription_number() for _ in range(200)}
    assert len(numbers) == 200
    code = new_access_code()
    assert len(code) >= 43 and code != new_access_code()
