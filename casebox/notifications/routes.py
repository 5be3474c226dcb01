"""HTTP API of notifications: your notices, marking one read, and your channels."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from casebox.accounts.auth import current_api_user, requires
from casebox.notifications import operations
from casebox.notifications.models import Notification
from casebox.notifications.schemas import (
    NotificationListArgsSchema,
    NotificationListSchema,
    NotificationPreferencesInputSchema,
    NotificationPreferencesSchema,
    NotificationSchema,
)

blp = Blueprint(
    "notifications",
    __name__,
    url_prefix="/api/v1",
    description=(
        "Notifications: in-app notices; e-mail (staff by default, patients by choice) and"
        " text messages (patients)"
    ),
    template_folder="templates",
)


@blp.route("/me/notifications")
class MyNotifications(MethodView):
    @requires()
    @blp.arguments(NotificationListArgsSchema, location="query")
    @blp.response(200, NotificationListSchema)
    def get(self, args: dict[str, Any]) -> operations.NotificationList:
        """Your notices, newest first, and how many are unread. Open a notice's link to read it."""
        return operations.list_notifications(
            current_api_user(), limit=args["limit"], unread_only=args["unread"]
        )


@blp.route("/me/notifications/<string:notification_id>/read")
class ReadNotification(MethodView):
    @requires()
    @blp.response(200, NotificationSchema)
    @blp.alt_response(404, description="No such notice of yours.")
    def post(self, notification_id: str) -> Notification:
        """Mark one of your notices read; marking it again keeps the first time."""
        return operations.mark_read(current_api_user(), notification_id)


@blp.route("/me/notification-preferences")
class MyNotificationPreferences(MethodView):
    @requires(*operations.CHOOSING_ROLES)
    @blp.response(200, NotificationPreferencesSchema)
    def get(self) -> operations.ChannelChoice:
        """Your channels: in-app always; e-mail and (patients) text messages when chosen.

        Patients start with the app only; specialists and pharmacists start with e-mail.
        """
        return operations.preferences_of(current_api_user())

    @requires(*operations.CHOOSING_ROLES)
    @blp.arguments(NotificationPreferencesInputSchema)
    @blp.response(200, NotificationPreferencesSchema)
    @blp.alt_response(
        422, description="Texts without a number or for staff, or a channel not offered."
    )
    def put(self, data: dict[str, Any]) -> operations.ChannelChoice:
        """Choose e-mail and text messages (which say only that there is a new message).

        Texts are for patients only; staff send ``"sms": false`` and no phone.
        """
        return operations.set_preferences(current_api_user(), data)


@blp.after_request
def _never_cache(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
