"""Request and response shapes of annotations (W3C Web Annotations) and calibrations.

Requests are only shaped here; :mod:`casebox.annotations.shapes` checks every rule, so
a client gets one field-by-field answer whatever it got wrong.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from marshmallow import INCLUDE, Schema, fields, post_load

from casebox.annotations.operations import StoredAnnotation
from casebox.annotations.shapes import ANNOTATION_CONTEXT
from casebox.cases.models import Photo


def photo_iri(photo: Photo) -> str:
    """The photo's absolute URL, which annotations name as their target's source."""
    return url_for(
        "cases.CasePhoto", case_id=photo.case.public_id, photo_id=photo.public_id, _external=True
    )


class AnnotationInputSchema(Schema):
    """A W3C Web Annotation on one photo, as a client sends it (pixel coordinates)."""

    class Meta:
        unknown = INCLUDE  # passed on, so that the shape checks can name what is not allowed

    context = fields.String(data_key="@context", metadata={"enum": [ANNOTATION_CONTEXT]})
    type = fields.String(metadata={"enum": ["Annotation"]})
    motivation = fields.String()
    body = fields.Raw(metadata={"description": "A TextualBody or a list of them (plain text)."})
    target = fields.Dict(
        metadata={
            "description": (
                "{selector}: a FragmentSelector xywh=pixel:x,y,w,h for a rectangle, an "
                "SvgSelector with one ellipse, polygon, polyline, circle or line otherwise."
            )
        }
    )

    @post_load
    def _keep_w3c_names(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "context" in data:
            data["@context"] = data.pop("context")
        return data


class MeasurementSchema(Schema):
    kind = fields.String(dump_only=True, metadata={"enum": ["length", "area"]})
    pixels = fields.Float(dump_only=True)
    millimetres = fields.Float(dump_only=True, allow_none=True)
    calibrated = fields.Boolean(dump_only=True)
    label = fields.String(dump_only=True)


class AnnotationSchema(Schema):
    """One stored annotation as a W3C Web Annotation, with casebox's tool and measurement."""

    class Meta:
        ordered = True

    context = fields.Constant(ANNOTATION_CONTEXT, data_key="@context", dump_only=True)
    id = fields.Method("_iri", dump_only=True)
    type = fields.Constant("Annotation", dump_only=True)
    motivation = fields.Function(lambda s: s.annotation.motivation, dump_only=True)
    creator = fields.Method("_creator", dump_only=True)
    created = fields.Function(lambda s: s.annotation.created_at.isoformat(), dump_only=True)
    modified = fields.Function(lambda s: s.annotation.updated_at.isoformat(), dump_only=True)
    body = fields.Function(lambda s: s.annotation.bodies, dump_only=True)
    target = fields.Method("_target", dump_only=True)
    tool = fields.Function(lambda s: s.annotation.tool, dump_only=True)
    measurement = fields.Method("_measurement", dump_only=True, allow_none=True)

    def _iri(self, stored: StoredAnnotation) -> str:
        annotation = stored.annotation
        return url_for(
            "annotations.PhotoAnnotation",
            photo_id=annotation.photo.public_id,
            annotation_id=annotation.public_id,
            _external=True,
        )

    def _creator(self, stored: StoredAnnotation) -> dict[str, str]:
        author = stored.annotation.author
        return {"id": author.public_id, "type": "Person", "name": author.name}

    def _target(self, stored: StoredAnnotation) -> dict[str, Any]:
        photo = stored.annotation.photo
        return {"source": photo_iri(photo), "selector": stored.annotation.selector}

    def _measurement(self, stored: StoredAnnotation) -> dict[str, Any] | None:
        found = stored.measurement
        if found is None:
            return None
        return {
            "kind": found.kind,
            "pixels": round(found.pixels, 2),
            "millimetres": None if found.millimetres is None else round(found.millimetres, 3),
            "calibrated": found.millimetres is not None,
            "label": found.label,
        }


class AnnotationPageSchema(Schema):
    """A photo's annotations as a W3C AnnotationPage."""

    context = fields.Constant(ANNOTATION_CONTEXT, data_key="@context", dump_only=True)
    type = fields.Constant("AnnotationPage", dump_only=True)
    items = fields.List(fields.Nested(AnnotationSchema), dump_only=True)


class CalibrationSchema(Schema):
    line = fields.List(fields.Float(), dump_only=True)
    length_mm = fields.Float(dump_only=True)
    mm_per_pixel = fields.Float(dump_only=True)


class CalibrationInputSchema(Schema):
    """A line drawn over something of known length, e.g. a ruler sticker in the photo."""

    class Meta:
        unknown = INCLUDE  # the calibration check names anything that is not allowed

    line = fields.Raw(metadata={"description": "[x1, y1, x2, y2] in original pixels"})
    length_mm = fields.Raw(metadata={"description": "The line's real length in millimetres"})
