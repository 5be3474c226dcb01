"""Reading the patient pages' HTML forms through the API's schemas, errors per field."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError

from casebox.errors import ValidationFailed


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
            flat[name] = [str(item) for item in (value if isinstance(value, list) else [value])]
    return flat


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
