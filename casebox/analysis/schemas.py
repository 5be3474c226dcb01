"""How model output is shown to staff: labelled decision support, never a diagnosis."""

from __future__ import annotations

from marshmallow import Schema, fields

DECISION_SUPPORT_NOTICE = (
    "Decision support from an automated model, not a diagnosis. The specialist decides."
)


class ModelLabelSchema(Schema):
    name = fields.String(attribute="model_name", dump_only=True)
    version = fields.String(attribute="model_version", dump_only=True)
    sha256 = fields.String(attribute="model_sha256", dump_only=True)


class PhotoAnalysisSchema(Schema):
    photo_id = fields.String(attribute="photo.public_id", dump_only=True)
    model = fields.Function(lambda analysis: ModelLabelSchema().dump(analysis), dump_only=True)
    probabilities = fields.Dict(keys=fields.String(), values=fields.Float(), dump_only=True)
    malignancy_score = fields.Float(dump_only=True)
    out_of_distribution = fields.Boolean(
        dump_only=True,
        metadata={"description": "The photo is not dermoscopic; the model learnt from dermoscopy."},
    )
    notice = fields.Constant(DECISION_SUPPORT_NOTICE, dump_only=True)
