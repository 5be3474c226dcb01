"""HTTP API of follow-ups (/api/v1/follow-ups) and of patients' replies to requests."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from casebox.accounts.auth import current_api_user, requires
from casebox.accounts.models import Role
from casebox.cases.models import CaseReply
from casebox.followups import operations, replies
from casebox.followups.models import FollowUp
from casebox.followups.schemas import (
    FollowUpListArgsSchema,
    FollowUpListSchema,
    ReplyInputSchema,
    ReplySchema,
    StaffFollowUpSchema,
)

blp = Blueprint("follow_ups", __name__, url_prefix="/api/v1", description="Follow-ups and replies")


@blp.route("/follow-ups")
class FollowUps(MethodView):
    @requires(Role.SPECIALIST, Role.ADMIN)
    @blp.arguments(FollowUpListArgsSchema, location="query")
    @blp.response(200, FollowUpListSchema)
    def get(self, args: dict[str, str]) -> dict[str, Any]:
        """Follow-ups you set or on your queues' cases: overdue (default), due or scheduled.

        Overdue: the due time has passed and the patient has not sent the follow-up case.
        Due: reminded, the follow-up case waits for the patient. Scheduled: still to come.
        """
        return {"items": operations.list_follow_ups(current_api_user(), args["state"])}


@blp.route("/follow-ups/<string:follow_up_id>")
class FollowUpItem(MethodView):
    @requires(Role.SPECIALIST, Role.ADMIN)
    @blp.response(200, StaffFollowUpSchema)
    def delete(self, follow_up_id: str) -> FollowUp:
        """Cancel a follow-up not yet answered (you set it, or hold or held its case)."""
        return operations.cancel_follow_up(current_api_user(), follow_up_id)


@blp.route("/cases/<string:case_id>/reply")
class CaseReplies(MethodView):
    @requires(Role.PATIENT)
    @blp.arguments(ReplyInputSchema)
    @blp.response(201, ReplySchema)
    def post(self, data: dict[str, Any], case_id: str) -> CaseReply:
        """Answer the specialist's request for more information (add photos first).

        The case goes back for review, to the specialist who asked if they are available.
        """
        return replies.reply_to_request(
            current_api_user(),
            case_id,
            message=data["message"],
            accept_quality_warnings=data["accept_quality_warnings"],
        )
