"""Text messages behind a small provider interface; the default provider only logs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from casebox.notifications.masking import mask_phone

if TYPE_CHECKING:
    from casebox.settings import Settings

log = logging.getLogger(__name__)


class SmsProvider(Protocol):
    """Something that sends one text message, or raises so the job is retried."""

    def send(self, to: str, body: str) -> None:
        """Send ``body`` to the E.164 number ``to``."""


class LoggingSmsProvider:
    """Sends nothing: logs that a text went out, to a masked number, without its body."""

    def send(self, to: str, body: str) -> None:
        """Log the masked number and the length of the text."""
        log.info("text message sent to %s (%d characters)", mask_phone(to), len(body))


# Provider names accepted by CASEBOX_SMS_BACKEND; a real gateway is added here.
SMS_PROVIDERS: dict[str, Callable[[Settings], SmsProvider]] = {
    "logging": lambda settings: LoggingSmsProvider(),
}


def sms_provider(settings: Settings) -> SmsProvider:
    """The provider the settings name."""
    return SMS_PROVIDERS[settings.sms_backend](settings)


def sms_available(settings: Settings) -> bool:
    """Whether patients may choose texts: a real provider, or any outside production."""
    return settings.sms_backend != "logging" or not settings.is_production
