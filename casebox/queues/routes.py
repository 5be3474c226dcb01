"""HTTP API of the review queues (specialists and admins)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from casebox.accounts.auth import requires
from casebox.accounts.models import Role
from casebox.cases.schemas import PageArgsSchema
from casebox.queues import operations
from casebox.queues.schemas import QueuePageSchema, QueueSummarySchema

blp = Blueprint("queues", __name__, url_prefix="/api/v1", description="Review queues")


@blp.route("/queues")
class Queues(MethodView):
    @requires(Role.SPECIALIST, Role.ADMIN)
    @blp.response(200, QueueSummarySchema(many=True))
    def get(self) -> list[operations.QueueSummary]:
        """Each review queue with waiting, due-soon (24 h) and SLA-breached counts."""
        return operations.summarize_queues()


@blp.route("/queues/<string:name>/cases")
class QueueCases(MethodView):
    @requires(Role.SPECIALIST, Role.ADMIN)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, QueuePageSchema)
    def get(self, args: dict[str, int], name: str) -> operations.QueuePage:
        """Cases awaiting review in a queue: most urgent first, then earliest SLA."""
        return operations.list_queue_cases(name, **args)
