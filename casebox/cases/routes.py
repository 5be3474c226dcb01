"""HTTP API of the cases domain: body sites, cases, photos and their images."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from casebox import services
from casebox.accounts.auth import current_api_user, public, requires
from casebox.accounts.models import Role
from casebox.api.idempotency import idempotent
from casebox.cases import operations
from casebox.cases.body_sites import BODY_SITES, BodySite
from casebox.cases.models import Case, Photo
from casebox.cases.schemas import (
    BodySiteSchema,
    CaseCreateSchema,
    CaseHistorySchema,
    CasePageSchema,
    CaseSchema,
    ImageArgsSchema,
    PageArgsSchema,
    PhotoSchema,
    PhotoUploadFileSchema,
    PhotoUploadFormSchema,
    StaffCaseSchema,
    SubmitResultSchema,
    SubmitSchema,
)
from casebox.errors import PayloadTooLarge
from casebox.review.case_view import patient_history, patient_view, staff_view

blp = Blueprint("cases", __name__, url_prefix="/api/v1", description="Cases and photos")


@blp.route("/body-sites")
class BodySites(MethodView):
    @public
    @blp.response(200, BodySiteSchema(many=True))
    def get(self) -> list[BodySite]:
        """Body sites a case may name, with the lesion model's coarse location for each."""
        return list(BODY_SITES.values())


@blp.route("/cases")
class Cases(MethodView):
    @requires(Role.PATIENT)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, CasePageSchema)
    def get(self, args: dict[str, int]) -> operations.CasePage:
        """The caller's own cases, newest first."""
        return operations.list_own_cases(current_api_user(), **args)

    @requires(Role.PATIENT)
    @idempotent
    @blp.arguments(CaseCreateSchema)
    @blp.response(201, CaseSchema)
    def post(self, data: dict[str, Any]) -> Case:
        """Open a draft case with its questionnaire."""
        return operations.create_case(current_api_user(), **data)


@blp.route("/cases/<string:case_id>")
class CaseItem(MethodView):
    @requires(Role.PATIENT, Role.SPECIALIST, Role.ADMIN)
    @blp.response(200, CaseSchema)
    @blp.alt_response(200, schema=StaffCaseSchema, description="As staff see it")
    def get(self, case_id: str) -> Response:
        """One case with its questionnaire and photos (audited); staff also see its triage."""
        user = current_api_user()
        case = operations.view_case(user, case_id)
        return jsonify(patient_view(case) if user.role == Role.PATIENT else staff_view(case))


@blp.route("/cases/<string:case_id>/history")
class CaseHistory(MethodView):
    @requires(Role.SPECIALIST, Role.ADMIN)
    @blp.response(200, CaseHistorySchema)
    def get(self, case_id: str) -> dict[str, Any]:
        """The same patient's other submitted cases, newest first, with their photos."""
        return {"items": patient_history(current_api_user(), case_id)}


@blp.route("/cases/<string:case_id>/submit")
class CaseSubmission(MethodView):
    @requires(Role.PATIENT)
    @blp.arguments(SubmitSchema, required=False)
    @blp.response(202, SubmitResultSchema)
    def post(self, data: dict[str, bool], case_id: str) -> Case:
        """Submit for review (photos checked, a close-up, warnings accepted); safe to repeat."""
        return operations.submit_case(
            current_api_user(), case_id, accept_quality_warnings=data["accept_quality_warnings"]
        )


@blp.route("/cases/<string:case_id>/photos")
class CasePhotos(MethodView):
    @requires(Role.PATIENT)
    @idempotent
    @blp.arguments(PhotoUploadFormSchema, location="form")
    @blp.arguments(PhotoUploadFileSchema, location="files")
    @blp.response(201, PhotoSchema)
    def post(self, form: dict[str, Any], files: dict[str, Any], case_id: str) -> Photo:
        """Upload a JPEG, PNG or HEIC photo to a draft case."""
        upload = files["file"]
        limit = services.settings().max_upload_bytes
        data = upload.stream.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(f"A photo may be at most {limit // (1024 * 1024)} MB.")
        return operations.add_photo(current_api_user(), case_id, view=form["view"], data=data)


@blp.route("/cases/<string:case_id>/photos/<string:photo_id>")
class CasePhoto(MethodView):
    @requires(Role.PATIENT, Role.SPECIALIST, Role.ADMIN)
    @blp.response(200, PhotoSchema)
    def get(self, case_id: str, photo_id: str) -> Photo:
        """A photo's status and quality verdict, with reasons a patient can act on."""
        return operations.view_photo(current_api_user(), case_id, photo_id)

    @requires(Role.PATIENT)
    @blp.response(204)
    def delete(self, case_id: str, photo_id: str) -> None:
        """Delete a photo while the case is still a draft."""
        operations.delete_photo(current_api_user(), case_id, photo_id)


@blp.route("/cases/<string:case_id>/photos/<string:photo_id>/image")
class PhotoImage(MethodView):
    @requires(Role.PATIENT, Role.SPECIALIST, Role.ADMIN)
    @blp.arguments(ImageArgsSchema, location="query")
    @blp.response(200, content_type="image/jpeg")
    @blp.alt_response(200, content_type="image/png")
    @blp.alt_response(200, content_type="image/heic")
    def get(self, args: dict[str, str], case_id: str, photo_id: str) -> Response:
        """The image bytes of one variant: original, review (2048 px) or thumb (320 px)."""
        image = operations.read_photo_image(current_api_user(), case_id, photo_id, args["variant"])
        response = Response(image.data, mimetype=image.media_type)
        response.headers["Content-Disposition"] = f'inline; filename="{image.filename}"'
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
