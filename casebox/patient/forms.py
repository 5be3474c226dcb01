"""Reading the patient pages' HTML forms through the API's schemas, errors per field."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError

from casebox.errors import ValidationFailed
from casebox.i18n import N_

# marshmallow's messages, written for developers, as a patient reads them on a form.
_PLAIN_WORDS = {
    "Missing data for required field.": N_("Please answer this question."),
    "Not a valid boolean.": N_("Choose yes or no."),
    "Not a valid email address.": N_("Enter your e-mail address, e.g. name@example.org."),
    "Not a valid date.": N_("Enter the date as year-month-day."),
    "Field may not be null.": N_("Please answer this question."),
}


def load_form(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    """Validate ``data`` with an API schema; a failure is the same 422 the API gives."""
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as error:
        messages = error.normalized_messages()
        raise ValidationFailed(
            "Some answers need your attention.", errors=_flatten(messages)
        ) from None
    return loaded


def _flatten(messages: dict[str, Any], prefix: str = "") -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            items = value if isinstance(value, list) else [value]
            flat[name] = [_plain(str(item)) for item in items]
    return flat


def _plain(message: str) -> str:
    if message.startswith("Must be one of:"):
        return N_("Choose one of the answers.")
    return _PLAIN_WORDS.get(message, message)


def checkbox(form: Any, name: str) -> bool:
    """An HTML checkbox: present when ticked."""
    return name in form


def yes_no(form: Any, name: str) -> bool | str | None:
    """A yes/no radio pair as a JSON boolean; anything else is left for the schema to refuse."""
    value = form.get(name)
    return {"yes": True, "no": False}.get(value, value)


def lines(text: str) -> list[str]:
    """A textarea with one entry per line, blank lines dropped."""
    return [line.strip() for line in text.splitlines() if line.strip()]
