"""Request and response shapes of the notifications API."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from casebox.accounts.schemas import StrictBoolean
from casebox.i18n import gettext
from casebox.notifications.models import Notification
from casebox.notifications.texts import title_of

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
PHONE_PUNCTUATION = re.compile(r"[\s().-]")


class PhoneNumber(fields.String):
    """A mobile number in international form; spaces, dots, dashes and brackets are dropped."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        number = PHONE_PUNCTUATION.sub("", text)
        if not E164.match(number):
            raise ValidationError(
                gettext("Give the number in international form, e.g. +1 514 555 0123.")
            )
        return number


class NotificationSchema(Schema):
    id = fields.String(attribute="public_id", dump_only=True)
    kind = fields.String(dump_only=True)
    title = fields.Method("_title", dump_only=True)
    link = fields.String(dump_only=True, metadata={"description": "The API path to open."})
    created_at = fields.AwareDateTime(dump_only=True)
    read_at = fields.AwareDateTime(dump_only=True, allow_none=True)

    def _title(self, notification: Notification) -> str:
        return gettext(title_of(notification.kind))


class NotificationListSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema), dump_only=True)
    unread = fields.Integer(dump_only=True, metadata={"description": "Unread notices in all."})


class NotificationListArgsSchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
    unread = fields.Boolean(load_default=False, metadata={"description": "Only unread notices."})


class NotificationPreferencesSchema(Schema):
    in_app = fields.Boolean(dump_only=True, metadata={"description": "Always on."})
    email = fields.Boolean(dump_only=True)
    sms = fields.Boolean(dump_only=True)
    phone = fields.String(dump_only=True, allow_none=True)
    available = fields.List(fields.String(), dump_only=True)


class NotificationPreferencesInputSchema(Schema):
    email = StrictBoolean(required=True)
    sms = StrictBoolean(required=True)
    phone = PhoneNumber(
        load_default=None,
        allow_none=True,
        metadata={"description": "Mobile number for texts (E.164); omitted or null clears it."},
    )
