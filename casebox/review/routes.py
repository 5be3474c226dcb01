"""HTTP API of claiming: open a case for review, renew, return it, reassign it."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from casebox.accounts.auth import current_api_user, requires
from casebox.accounts.models import Role
from casebox.review import claims
from casebox.review.schemas import ClaimSchema, ReassignSchema

blp = Blueprint("claims", __name__, url_prefix="/api/v1", description="Claiming cases for review")


@blp.route("/cases/<string:case_id>/claim")
class CaseClaim(MethodView):
    @requires(Role.SPECIALIST)
    @blp.response(200, ClaimSchema)
    def post(self, case_id: str) -> claims.Claim:
        """Claim the case for review under a lease, or renew your claim (409 if taken)."""
        return claims.claim_case(current_api_user(), case_id)

    @requires(Role.SPECIALIST, Role.ADMIN)
    @blp.response(204)
    def delete(self, case_id: str) -> None:
        """Return the case to its queue (the specialist holding it, or an admin)."""
        claims.release_case(current_api_user(), case_id)

    @requires(Role.ADMIN)
    @blp.arguments(ReassignSchema)
    @blp.response(200, ClaimSchema)
    def put(self, data: dict[str, str], case_id: str) -> claims.Claim:
        """Reassign the case to another specialist of its queue (admins)."""
        return claims.reassign_case(current_api_user(), case_id, data["specialist_id"])
