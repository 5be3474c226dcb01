"""HTTP API of the patient's data export."""

from __future__ import annotations

from flask import Response, send_file
from flask.views import MethodView
from flask_smorest import Blueprint

from casebox.accounts.auth import current_api_user, requires
from casebox.accounts.models import Role
from casebox.exports import operations

blp = Blueprint("exports", __name__, url_prefix="/api/v1", description="Your data")

EXPORT_DESCRIPTION = (
    "A zip of everything casebox holds on you: README.txt, account.json, "
    "cases/<case id>/case.json, cases/<case id>/photos/<photo id>-original.<ext> and "
    "-review.jpg, prescriptions/<number>.json and .pdf, and fhir/bundle.json (a FHIR R4 "
    "collection Bundle: Patient, QuestionnaireResponse, Media, DiagnosticReport)."
)


@blp.route("/me/export")
class MyExport(MethodView):
    @requires(Role.PATIENT)
    @blp.response(200, content_type="application/zip", description=EXPORT_DESCRIPTION)
    def get(self) -> Response:
        """Download all your data as one zip (audited)."""
        archive = operations.export_patient_data(current_api_user())
        response = send_file(
            archive.file,
            mimetype="application/zip",
            as_attachment=True,
            download_name=archive.filename,
            conditional=False,
            etag=False,
        )
        response.content_length = archive.size
        response.headers["Cache-Control"] = "private, no-store"
        return response
