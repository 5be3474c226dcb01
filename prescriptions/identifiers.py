"""The identifiers printed on a prescription: a readable number that catches typos, and
a secret access code.

The number is ten random digits (never sequential: it reveals nothing about how many
prescriptions a clinic writes) followed by two ISO 7064 MOD 97-10 check digits, the
scheme of IBANs: any single wrong digit and any swap of two neighbouring digits is
detected when a pharmacist types the number in. Printed as ``RX-12345-67890-12``.
The access code is 256 random bits; with the number it opens the verification page.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Final

PREFIX: Final = "RX"
RANDOM_DIGITS: Final = 10
_NUMBER = re.compile(r"RX-?(\d{5})-?(\d{5})-?(\d{2})")


def check_digits(digits: str) -> str:
    """The two MOD 97-10 check digits for a string of digits."""
    return f"{98 - int(digits + '00') % 97:02d}"


def new_prescription_number() -> str:
    """A fresh random prescription number with its check digits."""
    digits = "".join(secrets.choice("0123456789") for _ in range(RANDOM_DIGITS))
    check = check_digits(digits)
    return f"{PREFIX}-{digits[:5]}-{digits[5:]}-{check}"


def normalise_prescription_number(text: str) -> str | None:
    """The canonical form of a typed number (spaces, case and hyphens forgiven), or None
    when it is not a well-formed number whose check digits agree."""
    compact = re.sub(r"[\s]", "", text).upper()
    found = _NUMBER.fullmatch(compact)
    if found is None:
        return None
    first, second, check = found.groups()
    if int(first + second + check) % 97 != 1:
        return None
    return f"{PREFIX}-{first}-{second}-{check}"


def new_access_code() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def access_code_digest(code: str) -> str:
    """What is stored to recognise an access code (the code itself is not looked up)."""
    return hashlib.sha256(code.encode()).hexdigest()
