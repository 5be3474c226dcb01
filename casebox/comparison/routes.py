"""HTTP API of comparing photos: align two photos, accept or reject, the difference image."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from casebox.accounts.auth import current_api_user, requires
from casebox.accounts.models import Role
from casebox.comparison import operations
from casebox.comparison.alignment import align, difference_image
from casebox.comparison.models import PhotoAlignment
from casebox.comparison.schemas import (
    AlignmentDecisionSchema,
    AlignmentRequestSchema,
    AlignmentSchema,
)
from casebox.database import db

blp = Blueprint("alignments", __name__, url_prefix="/api/v1", description="Photo comparison")


def _end_read() -> None:
    # The image work below holds no database lock (SQLite's write lock, the audit head).
    db.session.commit()


@blp.route("/alignments")
class Alignments(MethodView):
    @requires(Role.SPECIALIST)
    @blp.arguments(AlignmentRequestSchema)
    @blp.response(201, AlignmentSchema)
    def post(self, data: dict[str, str]) -> PhotoAlignment:
        """Align two photos of one patient (features + RANSAC homography, ECC refinement)."""
        user = current_api_user()
        pair = operations.load_pair(user, data["fixed_photo_id"], data["moving_photo_id"])
        _end_read()
        found = align(pair.fixed, pair.fixed_size, pair.moving, pair.moving_size)
        return operations.store_alignment(user, pair, found)


@blp.route("/alignments/<string:alignment_id>")
class AlignmentItem(MethodView):
    @requires(Role.SPECIALIST, Role.ADMIN)
    @blp.response(200, AlignmentSchema)
    def get(self, alignment_id: str) -> PhotoAlignment:
        """One alignment with its matrix, inliers and the specialist's decision."""
        return operations.view_alignment(current_api_user(), alignment_id)

    @requires(Role.SPECIALIST)
    @blp.arguments(AlignmentDecisionSchema)
    @blp.response(200, AlignmentSchema)
    def patch(self, data: dict[str, bool], alignment_id: str) -> PhotoAlignment:
        """Accept or reject the alignment; only an accepted one shows the difference."""
        return operations.decide_alignment(
            current_api_user(), alignment_id, accepted=data["accepted"]
        )


@blp.route("/alignments/<string:alignment_id>/difference")
class AlignmentDifference(MethodView):
    @requires(Role.SPECIALIST, Role.ADMIN)
    @blp.response(200, content_type="image/jpeg")
    def get(self, alignment_id: str) -> Response:
        """The colour difference of the registered photos, in the fixed photo's frame."""
        user = current_api_user()
        loaded = operations.load_difference(user, alignment_id)
        _end_read()
        pair = loaded.pair
        image = difference_image(
            pair.fixed, pair.moving, loaded.alignment, pair.fixed_size, pair.moving_size
        )
        operations.record_difference_view(user, alignment_id)
        response = Response(operations.encode_difference(image), mimetype="image/jpeg")
        response.headers["Cache-Control"] = "private, no-store"
        return response
