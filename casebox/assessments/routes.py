"""HTTP API of assessments, the coded diagnoses and the model-agreement report."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from casebox.accounts.auth import current_api_user, requires
from casebox.accounts.models import Role
from casebox.assessments import operations
from casebox.assessments.diagnoses import Diagnosis, search_diagnoses
from casebox.assessments.models import Assessment
from casebox.assessments.schemas import (
    AssessmentInputSchema,
    AssessmentSchema,
    CodedDiagnosisSchema,
    DiagnosisArgsSchema,
    ModelAgreementReportSchema,
)

blp = Blueprint("assessments", __name__, url_prefix="/api/v1", description="Assessments")


@blp.route("/diagnoses")
class Diagnoses(MethodView):
    @requires(Role.SPECIALIST, Role.ADMIN)
    @blp.arguments(DiagnosisArgsSchema, location="query")
    @blp.response(200, CodedDiagnosisSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[Diagnosis]:
        """Search the coded dermatology diagnoses (a SNOMED CT subset)."""
        return search_diagnoses(args["q"], limit=args["limit"])


@blp.route("/cases/<string:case_id>/assessment")
class CaseAssessment(MethodView):
    @requires(Role.SPECIALIST)
    @blp.arguments(AssessmentInputSchema)
    @blp.response(201, AssessmentSchema)
    def post(self, data: dict[str, Any], case_id: str) -> Assessment:
        """Record your assessment of a case you hold; it completes or asks the patient for more."""
        return operations.submit_assessment(current_api_user(), case_id, data)


@blp.route("/admin/model-agreement")
class ModelAgreement(MethodView):
    @requires(Role.ADMIN)
    @blp.response(200, ModelAgreementReportSchema)
    def get(self) -> dict[str, list[operations.ModelAgreement]]:
        """How often specialists agreed with each model version's pre-analysis."""
        return {"items": operations.model_agreement()}
