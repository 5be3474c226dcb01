"""Every sentence a notice shows, in one place, so that each can be translated.

The e-mail and text bodies are the templates in ``templates/notifications/``; these
are the pieces the code hands them. None carries clinical detail: the page behind the
notice's link shows that, after login. They are marked English (``N_``): ``gettext``
turns them into the reader's language when shown or sent.
"""

from __future__ import annotations

from casebox.i18n import N_
from casebox.notifications.models import NotificationKind

# The one sentence an e-mail or a text message says (issue 6, "Notifications").
NOTICE = N_("You have a new message from your dermatology service; log in to read it.")
EMAIL_SUBJECT = N_("A new message from your dermatology service")
LOGIN_PROMPT = N_("Log in")

# In-app titles: shown only to the logged-in recipient.
TITLES: dict[NotificationKind, str] = {
    NotificationKind.CASE_RESPONSE: N_("Your specialist has responded."),
    NotificationKind.CASE_MORE_INFO: N_("Your specialist asks for more information."),
    NotificationKind.PRESCRIPTION_ISSUED: N_("A prescription has been issued for you."),
    NotificationKind.PRESCRIPTION_UPDATED: N_("A prescription's status has changed."),
    NotificationKind.FOLLOW_UP_DUE: N_("It is time for your follow-up photos."),
}


def title_of(kind: NotificationKind) -> str:
    """The in-app title of a notice of this kind."""
    return TITLES[kind]
