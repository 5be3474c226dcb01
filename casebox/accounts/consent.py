"""The consent text patients accept, versioned, and its hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TEXTS_DIR = Path(__file__).with_name("consent_texts")


@dataclass(frozen=True)
class ConsentText:
    """One version of the consent text."""

    version: str
    text: str

    @property
    def sha256(self) -> str:
        """Hash recorded with each acceptance, so the accepted wording is provable."""
        return hashlib.sha256(self.text.encode()).hexdigest()


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in path.stem.split("."))


@cache
def current_consent() -> ConsentText:
    """The newest consent text shipped with casebox (English, the version of record)."""
    newest = max(TEXTS_DIR.glob("*.md"), key=_version_key)
    return ConsentText(version=newest.stem, text=newest.read_text(encoding="utf-8"))


@cache
def consent_for_language(language: str) -> ConsentText:
    """The current consent text as a patient reads it: translated when a translation exists.

    A translation carries the version of the English text it translates
    (``consent_texts/<language>/<version>.md``); a missing one falls back to English.
    """
    current = current_consent()
    translated = TEXTS_DIR / language / f"{current.version}.md"
    if language == "en" or not translated.is_file():
        return current
    return ConsentText(version=current.version, text=translated.read_text(encoding="utf-8"))
