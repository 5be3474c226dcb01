"""Structured dose instructions and the patient-friendly text made from them.

The prescriber enters how much is taken each time, how often, for how long and, when it
matters, when (morning, with food...). From that one structure come:

* the text for the patient, "Take 1 capsule twice a day, in the evening, for 12 weeks.",
  in English (stored with the prescription as the document of record, printed on the PDF)
  or in French (the patient's pages), every fragment a catalogue message;
* the total per day or per week (:func:`total_dose`) that the dose-range check compares
  with the formulary's limits, e.g. 2 x 100 mg capsules twice a day is 400 mg a day;
* the FHIR ``Dosage`` of the MedicationRequest (:mod:`prescriptions.fhir`).

Pure values, no database. The JSON shape (``dosage_to_json``) is the API's and is stored
as is in the prescription's ``dosage`` column and in the signed document.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from babel import Locale
from babel.lists import format_list
from babel.numbers import format_decimal
from flask_babel import force_locale, get_locale, gettext, ngettext

from prescriptions.safety import DoseAmount

# Units of one administration. Countable ones are whole numbers (tablets may be halved
# or quartered); mg, g, microgram and mL are measured.
COUNTED_UNITS = ("tablet", "capsule", "sachet", "pen", "drop", "spray", "application",
                 "fingertip_unit")  # fmt: skip
MEASURED_UNITS = ("mg", "g", "microgram", "mL")
UNITS = COUNTED_UNITS + MEASURED_UNITS
# Units whose amount is the strength of one: 2 capsules of "100 mg" are 200 mg.
_ONE_OF_STRENGTH = frozenset({"tablet", "capsule", "sachet", "pen"})
# An adult fingertip unit is about 0.5 g of cream or ointment (Long & Finlay, 1991).
FINGERTIP_UNIT_GRAMS = 0.5
UNQUANTIFIED = ("thin_layer", "as_needed")
FREQUENCY_PERIODS = ("day", "week")
DURATION_UNITS = ("day", "week", "month")
# The fixed timing words, in the order they are said; at most one about food.
TIMES_OF_DAY = ("morning", "midday", "evening", "bedtime")
FOOD = ("with_food", "before_food", "after_food", "empty_stomach")
TIMINGS = TIMES_OF_DAY + FOOD
NOTE_MAX = 200

_STRENGTH = re.compile(
    r"\s*(\d+(?:\.\d+)?)\s*(mg|g|micrograms?)\s*(?:/\s*(\d+(?:\.\d+)?)?\s*mL)?\s*", re.IGNORECASE
)


@dataclass(frozen=True)
class Amount:
    """How much each time: a value and unit, or unquantified ("a thin layer")."""

    value: float | None = None
    unit: str | None = None
    unquantified: str | None = None  # one of UNQUANTIFIED


@dataclass(frozen=True)
class Frequency:
    """How often: N times a day or week, every N hours, or when needed (with a maximum)."""

    times: int | None = None
    per: str | None = None  # "day" | "week", with times
    every_hours: int | None = None
    as_needed: bool = False
    max_per_day: int | None = None  # with as_needed: the most administrations in a day

    def administrations(self) -> tuple[float, str]:
        """How many administrations per day or per week at most, for the dose total."""
        if self.as_needed and self.max_per_day is not None:
            return float(self.max_per_day), "day"
        if self.every_hours is not None:
            if self.every_hours <= 24:
                return 24 / self.every_hours, "day"
            return 168 / self.every_hours, "week"
        assert self.times is not None and self.per is not None  # checked by the schema
        return float(self.times), self.per


@dataclass(frozen=True)
class Duration:
    """For how long: a number of days, weeks or months, or until the next review."""

    value: int | None = None
    unit: str | None = None  # one of DURATION_UNITS
    until_review: bool = False


@dataclass(frozen=True)
class Dosage:
    """The structured dose instructions of one prescription line."""

    amount: Amount
    frequency: Frequency
    duration: Duration
    timing: tuple[str, ...] = ()  # TIMINGS, in their fixed order
    note: str | None = None  # a short free-text addition, kept as the prescriber wrote it


# --------------------------------------------------------------------------- JSON


def dosage_to_json(dosage: Dosage) -> dict[str, Any]:
    """The dosage as the API and the stored document show it (absent parts left out)."""
    amount = dosage.amount
    frequency = dosage.frequency
    duration = dosage.duration
    data: dict[str, Any] = {
        "amount": {"unquantified": amount.unquantified}
        if amount.unquantified
        else {"value": amount.value, "unit": amount.unit},
        "frequency": {
            key: value
            for key, value in (
                ("times", frequency.times),
                ("per", frequency.per),
                ("every_hours", frequency.every_hours),
                ("as_needed", frequency.as_needed or None),
                ("max_per_day", frequency.max_per_day),
            )
            if value is not None
        },
        "duration": {"until_review": True}
        if duration.until_review
        else {"value": duration.value, "unit": duration.unit},
        "timing": list(dosage.timing),
    }
    if dosage.note:
        data["note"] = dosage.note
    return data


def dosage_from_json(data: dict[str, Any]) -> Dosage:
    """The stored JSON back as a value (the inverse of :func:`dosage_to_json`)."""
    amount = data["amount"]
    frequency = data["frequency"]
    duration = data["duration"]
    timing = set(data.get("timing") or ())
    return Dosage(
        amount=Amount(
            value=amount.get("value"),
            unit=amount.get("unit"),
            unquantified=amount.get("unquantified"),
        ),
        frequency=Frequency(
            times=frequency.get("times"),
            per=frequency.get("per"),
            every_hours=frequency.get("every_hours"),
            as_needed=bool(frequency.get("as_needed")),
            max_per_day=frequency.get("max_per_day"),
        ),
        duration=Duration(
            value=duration.get("value"),
            unit=duration.get("unit"),
            until_review=bool(duration.get("until_review")),
        ),
        timing=tuple(word for word in TIMINGS if word in timing),
        note=(data.get("note") or "").strip() or None,
    )


# --------------------------------------------------------------------------- totals


def total_dose(dosage: Dosage, strength: str) -> DoseAmount | None:
    """The most taken per day or per week, for the dose-range check (None: unquantified).

    Counted units of a product with a single-unit strength are converted with it (2
    capsules of 100 mg = 200 mg), mL of a "250 mg/5 mL" liquid to mg, fingertip units to
    grams; anything else stays in its own unit, which the check reports as unconvertible.
    """
    amount = dosage.amount
    if amount.value is None or amount.unit is None:
        return None
    count, per = dosage.frequency.administrations()
    value, unit = amount.value, amount.unit
    parsed = _STRENGTH.fullmatch(strength or "")
    if parsed is not None:
        number, strength_unit, per_ml = parsed.groups()
        strength_unit = (
            "microgram" if strength_unit.lower().startswith("microgram") else strength_unit
        )
        is_liquid = parsed.group(0).count("/") == 1
        if unit in _ONE_OF_STRENGTH and not is_liquid:
            value, unit = value * float(number), strength_unit
        elif unit == "mL" and is_liquid:
            value, unit = value * float(number) / float(per_ml or 1), strength_unit
    if unit == "fingertip_unit":
        value, unit = value * FINGERTIP_UNIT_GRAMS, "g"
    return DoseAmount(value=round(value * count, 6), unit=unit, per=per)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- text


def record_text(dosage: Dosage, route: str) -> str:
    """The English text stored and printed with the prescription (the document of record)."""
    with force_locale("en"):
        return patient_text(dosage, route)


def patient_text(dosage: Dosage, route: str) -> str:
    """The instructions in the current language, e.g. "Take 1 capsule twice a day, ...."."""
    locale = _locale()
    parts = [f"{_action(dosage.amount, route, locale)} {_frequency(dosage.frequency, locale)}"]
    if dosage.timing:
        parts.append(format_list([_timing(word) for word in dosage.timing], locale=locale))
    parts.append(_duration(dosage.duration, locale))
    text = ", ".join(parts) + "."
    if dosage.note:
        note = dosage.note.strip()
        text = f"{text} {note}{'' if note[-1] in '.!?' else '.'}"
    return text


def reader_text(dosage: dict[str, Any] | None, route: str, stored: str) -> str:
    """A prescription's instructions in the reader's language (the patient's pages).

    Made again from the stored structure in the current locale; a prescription written
    before dosages were structured keeps its stored text.
    """
    if dosage is None:
        return stored
    return patient_text(dosage_from_json(dosage), route)


def _locale() -> str:
    try:
        locale = get_locale()
    except RuntimeError:  # no application: English
        locale = None
    return str(locale) if locale else "en"


def _number(value: float, locale: str) -> str:
    return format_decimal(value, locale=locale, decimal_quantization=False)


def _plural(value: float, locale: str) -> int:
    """The count that picks the catalogue's plural form: 1.5 is plural in English, not in
    French (CLDR), and gettext plural rules only take whole numbers."""
    if float(value).is_integer():
        return int(value)
    return 1 if Locale.parse(locale).plural_form(value) == "one" else math.ceil(value) + 1


def _action(amount: Amount, route: str, locale: str) -> str:
    what = _amount(amount, locale)
    if route == "oral":
        return gettext("Take %(amount)s", amount=what)
    if route == "subcutaneous":
        return gettext("Inject %(amount)s", amount=what)
    if route in ("topical", "nasal"):
        return gettext("Apply %(amount)s", amount=what)
    return gettext("Use %(amount)s", amount=what)


def _amount(amount: Amount, locale: str) -> str:
    if amount.unquantified == "thin_layer":
        return gettext("a thin layer")
    if amount.unquantified == "as_needed":
        return gettext("as much as needed")
    assert amount.value is not None and amount.unit is not None  # checked by the schema
    count, n = _number(amount.value, locale), _plural(amount.value, locale)
    unit = amount.unit
    if unit == "tablet":
        return ngettext("%(count)s tablet", "%(count)s tablets", n, count=count)
    if unit == "capsule":
        return ngettext("%(count)s capsule", "%(count)s capsules", n, count=count)
    if unit == "sachet":
        return ngettext("%(count)s sachet", "%(count)s sachets", n, count=count)
    if unit == "pen":
        return ngettext("%(count)s pre-filled pen", "%(count)s pre-filled pens", n, count=count)
    if unit == "drop":
        return ngettext("%(count)s drop", "%(count)s drops", n, count=count)
    if unit == "spray":
        return ngettext("%(count)s spray", "%(count)s sprays", n, count=count)
    if unit == "application":
        return ngettext("%(count)s application", "%(count)s applications", n, count=count)
    if unit == "fingertip_unit":
        return ngettext("%(count)s fingertip unit", "%(count)s fingertip units", n, count=count)
    if unit == "microgram":
        return ngettext("%(count)s microgram", "%(count)s micrograms", n, count=count)
    return f"{count} {unit}"  # mg, g, mL: symbols, the same in every language


def _frequency(frequency: Frequency, locale: str) -> str:
    regular = _regular(frequency, locale)
    if not frequency.as_needed:
        return regular
    most = frequency.max_per_day or 1
    if not regular:
        return ngettext(
            "when needed, up to once a day", "when needed, up to %(count)s times a day", most,
            count=_number(most, locale),
        )  # fmt: skip
    limit = ngettext(
        "no more than once a day", "no more than %(count)s times a day", most,
        count=_number(most, locale),
    )  # fmt: skip
    return gettext("%(regular)s when needed, %(limit)s", regular=regular, limit=limit)


def _regular(frequency: Frequency, locale: str) -> str:
    if frequency.every_hours is not None:
        hours = frequency.every_hours
        return ngettext("every hour", "every %(count)s hours", hours, count=_number(hours, locale))
    times = frequency.times
    if times is None:
        return ""
    if frequency.per == "week":
        if times == 1:
            return gettext("once a week, on the same day each week")
        if times == 2:
            return gettext("twice a week")
        return gettext("%(count)s times a week", count=_number(times, locale))
    if times == 1:
        return gettext("once a day")
    if times == 2:
        return gettext("twice a day")
    return gettext("%(count)s times a day", count=_number(times, locale))


def _timing(word: str) -> str:
    return {
        "morning": gettext("in the morning"),
        "midday": gettext("at midday"),
        "evening": gettext("in the evening"),
        "bedtime": gettext("at bedtime"),
        "with_food": gettext("with food"),
        "before_food": gettext("before food"),
        "after_food": gettext("after food"),
        "empty_stomach": gettext("on an empty stomach"),
    }[word]


def _duration(duration: Duration, locale: str) -> str:
    if duration.until_review or duration.value is None:
        return gettext("until your next review")
    count, n = _number(duration.value, locale), duration.value
    if duration.unit == "day":
        return ngettext("for %(count)s day", "for %(count)s days", n, count=count)
    if duration.unit == "week":
        return ngettext("for %(count)s week", "for %(count)s weeks", n, count=count)
    return ngettext("for %(count)s month", "for %(count)s months", n, count=count)
