"""HTTP API of e-prescribing: drafts and signing, the pharmacy inbox, public verification."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from casebox import services
from casebox.accounts.auth import authenticate_api_request, current_api_user, public, requires
from casebox.accounts.models import Role
from casebox.errors import NotFound
from prescriptions import issuing, operations
from prescriptions.formulary import Medicine, formulary
from prescriptions.models import Pharmacy, Prescription
from prescriptions.schemas import (
    AddressSchema,
    DispenseSchema,
    DosagePreviewResultSchema,
    DosagePreviewSchema,
    DraftSchema,
    InboxArgsSchema,
    PharmacistVerificationSchema,
    PharmacySchema,
    PrescriptionDetailSchema,
    PrescriptionSchema,
    ReasonSchema,
    SignSchema,
    VerificationSchema,
    VerifyArgsSchema,
)

blp = Blueprint("prescriptions", __name__, url_prefix="/api/v1", description="E-prescriptions")


class FormularyArgsSchema(Schema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=60))


class FormSchema(Schema):
    form = fields.String(dump_only=True)
    route = fields.String(dump_only=True)
    strengths = fields.List(fields.String(), dump_only=True)


class MedicineSchema(Schema):
    id = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    therapeutic_class = fields.String(dump_only=True)
    forms = fields.List(fields.Nested(FormSchema), dump_only=True)
    controlled_substance = fields.Boolean(dump_only=True)
    pregnancy_prevention_programme = fields.Boolean(dump_only=True)


@blp.route("/formulary")
class Formulary(MethodView):
    @requires(Role.SPECIALIST, Role.PHARMACIST, Role.ADMIN)
    @blp.arguments(FormularyArgsSchema, location="query")
    @blp.response(200, MedicineSchema(many=True))
    def get(self, args: dict[str, str]) -> list[Medicine]:
        """Search the dermatology formulary by name."""
        return formulary().search(args["q"])


@blp.route("/cases/<string:case_id>/prescriptions")
class CasePrescriptions(MethodView):
    @requires(Role.PATIENT, Role.SPECIALIST, Role.ADMIN)
    @blp.response(200, PrescriptionSchema(many=True))
    def get(self, case_id: str) -> list[Prescription]:
        """The case's prescriptions (its patient sees the signed ones)."""
        return operations.case_prescriptions(current_api_user(), case_id)

    @requires(Role.SPECIALIST)
    @blp.arguments(DraftSchema)
    @blp.response(201, PrescriptionDetailSchema)
    def post(self, data: dict[str, Any], case_id: str) -> Prescription:
        """Draft a prescription on a case you review; the safety review shows what to check."""
        return issuing.draft_prescription(current_api_user(), case_id, data)


@blp.route("/prescriptions/dosage-preview")
class DosagePreview(MethodView):
    @requires(Role.SPECIALIST)
    @blp.arguments(DosagePreviewSchema)
    @blp.response(200, DosagePreviewResultSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """The patient's text and the dose total a dosage gives, as the prescriber types it."""
        return issuing.preview_dosage(data)


@blp.route("/prescriptions/<string:prescription_id>")
class PrescriptionItem(MethodView):
    @requires(Role.PATIENT, Role.SPECIALIST, Role.PHARMACIST, Role.ADMIN)
    @blp.response(200, PrescriptionDetailSchema)
    def get(self, prescription_id: str) -> Prescription:
        """One prescription with its history (audited)."""
        return operations.view_prescription(current_api_user(), prescription_id)

    @requires(Role.SPECIALIST)
    @blp.response(204)
    def delete(self, prescription_id: str) -> None:
        """Discard an unsigned draft."""
        operations.discard_draft(current_api_user(), prescription_id)


@blp.route("/prescriptions/<string:prescription_id>/sign")
class PrescriptionSigning(MethodView):
    @requires(Role.SPECIALIST)
    @blp.arguments(SignSchema)
    @blp.response(200, PrescriptionDetailSchema)
    def post(self, data: dict[str, Any], prescription_id: str) -> Prescription:
        """Sign with your authenticator code; blocks refuse, warnings need a stated reason."""
        return issuing.sign_prescription(
            current_api_user(), prescription_id, data["totp_code"], data["overrides"]
        )


@blp.route("/prescriptions/<string:prescription_id>/cancel")
class PrescriptionCancellation(MethodView):
    @requires(Role.SPECIALIST)
    @blp.arguments(ReasonSchema)
    @blp.response(200, PrescriptionDetailSchema)
    def post(self, data: dict[str, str], prescription_id: str) -> Prescription:
        """Cancel a signed prescription no pharmacy has accepted yet."""
        return operations.cancel_prescription(current_api_user(), prescription_id, data["reason"])


@blp.route("/prescriptions/<string:prescription_id>/pharmacy")
class PrescriptionPharmacy(MethodView):
    @requires(Role.SPECIALIST)
    @blp.arguments(AddressSchema)
    @blp.response(200, PrescriptionDetailSchema)
    def put(self, data: dict[str, str], prescription_id: str) -> Prescription:
        """Address the prescription to another pharmacy (until one accepts it)."""
        return operations.address_to_pharmacy(
            current_api_user(), prescription_id, data["pharmacy_id"]
        )


@blp.route("/prescriptions/<string:prescription_id>/fhir")
class PrescriptionFhir(MethodView):
    @requires(Role.PATIENT, Role.SPECIALIST, Role.PHARMACIST, Role.ADMIN)
    @blp.response(200, content_type="application/fhir+json")
    def get(self, prescription_id: str) -> Response:
        """The signed FHIR R4 document Bundle (Provenance with a detached JWS)."""
        bundle = issuing.fhir_document(current_api_user(), prescription_id)
        response = jsonify(bundle)
        response.mimetype = "application/fhir+json"
        return response


@blp.route("/prescriptions/<string:prescription_id>/pdf")
class PrescriptionPdf(MethodView):
    @requires(Role.PATIENT, Role.SPECIALIST, Role.PHARMACIST, Role.ADMIN)
    @blp.response(200, content_type="application/pdf")
    def get(self, prescription_id: str) -> Response:
        """The signed PDF (PAdES); 409 while it is still being made."""
        pdf = issuing.pdf_document(current_api_user(), prescription_id)
        response = Response(pdf.data, mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'inline; filename="{pdf.filename}"'
        response.headers["Cache-Control"] = "private, no-store"
        return response


@blp.route("/prescriptions/verify")
class PrescriptionVerification(MethodView):
    @public
    @blp.arguments(VerifyArgsSchema, location="query")
    @blp.response(200, VerificationSchema)
    @blp.alt_response(200, schema=PharmacistVerificationSchema, description="To a pharmacist")
    def get(self, args: dict[str, str]) -> Response:
        """Check a prescription from its number and access code (as printed in its QR code).

        Anyone learns whether it is genuine, its status and its expiry; a signed-in
        pharmacist also what was prescribed and by whom.
        """
        found = operations.verify_prescription(args["number"], args["code"])
        caller = authenticate_api_request()
        pharmacist = caller is not None and caller.role == Role.PHARMACIST
        schema = PharmacistVerificationSchema() if pharmacist else VerificationSchema()
        response = jsonify(schema.dump(found))
        response.headers["Cache-Control"] = "no-store"  # the address holds the access code
        return response


@blp.route("/prescriptions/jwks.json")
class PrescriptionKeys(MethodView):
    @public
    @blp.response(200)
    def get(self) -> dict[str, Any]:
        """The public keys that verify prescription signatures (JWKS)."""
        return issuing.published_keys(services.settings())


@blp.route("/pharmacy/prescriptions")
class PharmacyInbox(MethodView):
    @requires(Role.PHARMACIST)
    @blp.arguments(InboxArgsSchema, location="query")
    @blp.response(200, PrescriptionSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[Prescription]:
        """Prescriptions addressed to your pharmacy, newest first."""
        return operations.pharmacy_inbox(current_api_user(), args.get("status"))


@blp.route("/pharmacy/prescriptions/<string:prescription_id>/accept")
class PharmacyAcceptance(MethodView):
    @requires(Role.PHARMACIST)
    @blp.response(200, PrescriptionDetailSchema)
    def post(self, prescription_id: str) -> Prescription:
        """Accept the prescription for dispensing."""
        return operations.accept_prescription(current_api_user(), prescription_id)


@blp.route("/pharmacy/prescriptions/<string:prescription_id>/dispense")
class PharmacyDispense(MethodView):
    @requires(Role.PHARMACIST)
    @blp.arguments(DispenseSchema)
    @blp.response(200, PrescriptionDetailSchema)
    def post(self, data: dict[str, int], prescription_id: str) -> Prescription:
        """Record one dispense, numbered (never twice: a repeated request gets 409)."""
        return operations.dispense_prescription(
            current_api_user(), prescription_id, data["dispense_number"]
        )


@blp.route("/pharmacy/prescriptions/<string:prescription_id>/reject")
class PharmacyRejection(MethodView):
    @requires(Role.PHARMACIST)
    @blp.arguments(ReasonSchema)
    @blp.response(200, PrescriptionDetailSchema)
    def post(self, data: dict[str, str], prescription_id: str) -> Prescription:
        """Refuse the prescription with a reason; the prescriber may address it elsewhere."""
        return operations.reject_prescription(current_api_user(), prescription_id, data["reason"])


@blp.route("/pharmacies")
class Pharmacies(MethodView):
    @requires(Role.PATIENT, Role.SPECIALIST, Role.ADMIN)
    @blp.response(200, PharmacySchema(many=True))
    def get(self) -> list[Pharmacy]:
        """The pharmacies prescriptions can be sent to."""
        return operations.list_pharmacies()


@blp.route("/me/pharmacy")
class MyPharmacy(MethodView):
    @requires(Role.PATIENT)
    @blp.response(200, PharmacySchema)
    def get(self) -> Pharmacy:
        """Your nominated pharmacy (404 when you have none)."""
        pharmacy = operations.nominated_pharmacy(current_api_user())
        if pharmacy is None:
            raise NotFound("You have not nominated a pharmacy yet.")
        return pharmacy

    @requires(Role.PATIENT)
    @blp.arguments(AddressSchema)
    @blp.response(200, PharmacySchema)
    def put(self, data: dict[str, str]) -> Pharmacy:
        """Nominate the pharmacy your prescriptions are sent to."""
        return operations.nominate_pharmacy(current_api_user(), data["pharmacy_id"])
