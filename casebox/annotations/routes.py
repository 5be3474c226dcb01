"""HTTP API of annotations (W3C Web Annotations on a photo) and photo calibration."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from casebox.accounts.auth import current_api_user, requires
from casebox.accounts.models import Role
from casebox.annotations import operations
from casebox.annotations.schemas import (
    AnnotationInputSchema,
    AnnotationPageSchema,
    AnnotationSchema,
    CalibrationInputSchema,
    CalibrationSchema,
)
from casebox.cases.schemas import calibration_document

blp = Blueprint("annotations", __name__, url_prefix="/api/v1", description="Annotations")


@blp.route("/photos/<string:photo_id>/annotations")
class PhotoAnnotations(MethodView):
    @requires(Role.SPECIALIST, Role.ADMIN)
    @blp.response(200, AnnotationPageSchema)
    def get(self, photo_id: str) -> dict[str, Any]:
        """The photo's annotations, oldest first, with measurements (audited)."""
        return {"items": operations.list_annotations(current_api_user(), photo_id)}

    @requires(Role.SPECIALIST)
    @blp.arguments(AnnotationInputSchema)
    @blp.response(201, AnnotationSchema)
    def post(self, document: dict[str, Any], photo_id: str) -> operations.StoredAnnotation:
        """Draw a shape on a photo of the case you are reviewing (original-pixel coordinates)."""
        return operations.create_annotation(current_api_user(), photo_id, document)


@blp.route("/photos/<string:photo_id>/annotations/<string:annotation_id>")
class PhotoAnnotation(MethodView):
    @requires(Role.SPECIALIST)
    @blp.arguments(AnnotationInputSchema)
    @blp.response(200, AnnotationSchema)
    def put(
        self, document: dict[str, Any], photo_id: str, annotation_id: str
    ) -> operations.StoredAnnotation:
        """Replace an annotation's shape and text."""
        return operations.replace_annotation(current_api_user(), photo_id, annotation_id, document)

    @requires(Role.SPECIALIST)
    @blp.response(204)
    def delete(self, photo_id: str, annotation_id: str) -> None:
        """Delete an annotation."""
        operations.delete_annotation(current_api_user(), photo_id, annotation_id)


@blp.route("/photos/<string:photo_id>/calibration")
class PhotoCalibration(MethodView):
    @requires(Role.SPECIALIST)
    @blp.arguments(CalibrationInputSchema)
    @blp.response(200, CalibrationSchema)
    def put(self, data: dict[str, Any], photo_id: str) -> dict[str, Any] | None:
        """Calibrate the photo with a line of known length; measurements turn to mm."""
        photo = operations.calibrate_photo(current_api_user(), photo_id, data)
        return calibration_document(photo)

    @requires(Role.SPECIALIST)
    @blp.response(204)
    def delete(self, photo_id: str) -> None:
        """Remove the photo's calibration; measurements go back to pixels."""
        operations.remove_calibration(current_api_user(), photo_id)
