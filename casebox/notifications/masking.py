"""Masked phone numbers and e-mail addresses, for logs that must not identify anyone."""

from __future__ import annotations


def mask_phone(number: str) -> str:
    """All but the last two digits hidden: ``+1*********23``."""
    digits = number.lstrip("+")
    shown = digits[-2:] if len(digits) > 4 else ""
    return "+" + "*" * (len(digits) - len(shown)) + shown


def mask_email(address: str) -> str:
    """The first letter of each side only: ``p***@e***``."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain[:1]}***"
