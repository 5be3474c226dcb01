"""HTTP API of the review queues (specialists and admins)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from casebox.accounts.auth import current_api_user, requires
from casebox.accounts.models import Role
from casebox.queues import operations
from casebox.queues.schemas import QueueArgsSchema, QueuePageSchema, QueueSummarySchema

blp = Blueprint("queues", __name__, url_prefix="/api/v1", description="Review queues")


@blp.route("/queues")
class Queues(MethodView):
    @requires(Role.SPECIALIST, Role.ADMIN)
    @blp.response(200, QueueSummarySchema(many=True))
    def get(self) -> list[operations.QueueSummary]:
        """Your review queues with waiting, in-review, due-soon (24 h) and breached counts."""
        return operations.summarize_queues(current_api_user())


@blp.route("/queues/<string:name>/cases")
class QueueCases(MethodView):
    @requires(Role.SPECIALIST, Role.ADMIN)
    @blp.arguments(QueueArgsSchema, location="query")
    @blp.response(200, QueuePageSchema)
    def get(self, args: dict[str, Any], name: str) -> operations.QueuePage:
        """Cases to review in one of your queues: most urgent first, then earliest SLA."""
        page, per_page = args.pop("page"), args.pop("per_page")
        return operations.list_queue_cases(
            current_api_user(), name, page=page, per_page=per_page,
            filters=operations.QueueFilters(**args),
        )  # fmt: skip
