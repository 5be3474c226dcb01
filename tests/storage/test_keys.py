"""The key rules every backend shares."""

from __future__ import annotations

import pytest

from storage import MAX_KEY_LENGTH, validate_key


@pytest.mark.parametrize(
    "key",
    [
        "k",
        "cases/01HXYZ/photos/01HXZZ/original",
        "a.b-c_d",
        ".hidden",
        "...",
        "x" * MAX_KEY_LENGTH,
    ],
)
def test_good_keys_pass_unchanged(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../x",
        "/abs",
        "a//b",
        "a/./b",
        "a/../b",
        "a/",
        ".",
        "..",
        "a b",
        "a\\b",
        "a:b",
        "é",
        "a\x00b",
        "a\nb",
        "x" * (MAX_KEY_LENGTH + 1),
    ],
)
def test_bad_keys_are_value_errors(key: str) -> None:
    with pytest.raises(ValueError):
        validate_key(key)


def test_a_non_string_key_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        validate_key(b"bytes-key")  # type: ignore[arg-type]
