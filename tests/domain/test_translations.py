"""The French catalogue is complete, reviewed, compiled and consistent with the code.

Each check fails with the list of entries to fix; ``make translations`` extracts,
merges and compiles (see the Makefile), the translator fills in what these name.
"""

from __future__ import annotations

import io
import re
import shlex
import tomllib
from collections import Counter
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "casebox" / "translations"
FRENCH_PO = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po"
FRENCH_MO = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.mo"
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?([sdifrx%])")


def _makefile_keywords() -> list[str]:
    """The extra -k keywords `make translations` extracts with (one source of truth)."""
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith("BABEL_KEYWORDS"):
            words = shlex.split(line.partition("=")[2])
            return [word for word in words if word != "-k"]
    raise AssertionError("the Makefile defines no BABEL_KEYWORDS")


@cache
def _extracted() -> dict[str, list[str]]:
    """Every marked msgid in the code and templates babel.cfg names, with where it is."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = dict(DEFAULT_KEYWORDS)
    keywords.update(dict.fromkeys(_makefile_keywords()))
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=keywords
    ):
        msgid = message[0] if isinstance(message, tuple) else message  # plurals: singular
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


@cache
def _french() -> Catalog:
    with FRENCH_PO.open("rb") as po:
        return read_po(po, locale="fr")


def _entries() -> list[Message]:
    return [message for message in _french() if message.id]


def _placeholders(text: str) -> Counter[str]:
    return Counter(f"{name or ''}:{kind}" for name, kind in PLACEHOLDER.findall(text))


def test_the_code_marks_strings_for_the_catalogue() -> None:
    found = _extracted()
    # A sample from each kind of source: errors, photo advice, notifications, templates.
    assert "Not found" in found
    assert any(
        location.startswith("casebox/photos/quality.py")
        for location in found[
            "The photo is blurred: hold the phone steady about 20 cm from the skin and tap "
            "the screen on the affected area to focus."
        ]
    )
    assert "You have a new message from your dermatology service; log in to read it." in found
    assert "Hello," in found


def test_every_marked_string_is_in_the_french_catalogue() -> None:
    catalogue = _french()
    missing = {
        msgid: where[0] for msgid, where in _extracted().items() if catalogue.get(msgid) is None
    }
    assert not missing, f"run `make translations` and translate: {missing}"


def test_every_french_entry_is_translated_and_reviewed() -> None:
    untranslated = [
        message.id
        for message in _entries()
        if not message.string or (isinstance(message.string, tuple) and not all(message.string))
    ]
    fuzzy = [message.id for message in _entries() if message.fuzzy]
    assert not untranslated, f"empty French entries: {untranslated}"
    assert not fuzzy, f"fuzzy French entries (review, then remove the flag): {fuzzy}"


def test_placeholders_are_the_same_in_french() -> None:
    wrong = []
    for message in _entries():
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        # A plural form may use the singular's placeholders or the plural's ("once a
        # day" / "%(count)s times a day").
        allowed = [_placeholders(msgid) for msgid in ids]
        for string in strings:
            if _placeholders(string) not in allowed:
                wrong.append((ids[0], string))
    assert not wrong, f"placeholders differ: {wrong}"


def test_the_committed_mo_is_compiled_from_the_po() -> None:
    compiled = io.BytesIO()
    write_mo(compiled, _french())
    assert FRENCH_MO.read_bytes() == compiled.getvalue(), "stale .mo: run `make translations`"


def test_the_package_ships_the_catalogues() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["*"]
    package = ROOT / "casebox"
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    assert {FRENCH_MO, FRENCH_PO, TRANSLATIONS / "messages.pot"} <= shipped
