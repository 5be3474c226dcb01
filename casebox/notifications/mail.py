"""E-mail notices: rendered from templates, sent over SMTP (or written to files in
development when no SMTP host is configured)."""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING

from casebox.notifications.masking import mask_email

if TYPE_CHECKING:
    from casebox.settings import Settings

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 20
IMPLICIT_TLS_PORT = 465


def email_available(settings: Settings) -> bool:
    """Whether patients may choose e-mail: an SMTP host, or any setup outside production."""
    return bool(settings.smtp_host) or not settings.is_production


def build_email(to: str, subject: str, text: str, html: str, settings: Settings) -> EmailMessage:
    """A multipart/alternative message, plain text first."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2].strip("> "))
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def send_email(message: EmailMessage, settings: Settings) -> None:
    """Hand the message to the SMTP server, or write it to a file without one."""
    if not settings.smtp_host:
        _write_to_file(message, settings)
        return
    smtp = _connect(settings)
    try:
        smtp.send_message(message)
    except BaseException:
        smtp.close()
        raise
    # Accepted: from here on nothing may raise, or the job would send it again.
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
    log.info("e-mail notice sent to %s", mask_email(str(message["To"])))


def _connect(settings: Settings) -> smtplib.SMTP:
    assert settings.smtp_host is not None
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_port == IMPLICIT_TLS_PORT:
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)
    try:
        if settings.smtp_starttls and settings.smtp_port != IMPLICIT_TLS_PORT:
            smtp.starttls(context=context)
        if settings.smtp_username and settings.smtp_password:
            smtp.login(settings.smtp_username, settings.smtp_password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _write_to_file(message: EmailMessage, settings: Settings) -> None:
    directory = settings.data_dir / "mail"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{uuid.uuid4()}.eml"
    path.write_bytes(message.as_bytes())
    log.info(
        "no SMTP host: e-mail notice for %s written to %s", mask_email(str(message["To"])), path
    )
