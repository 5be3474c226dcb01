"""Whether a stored prescription is genuine: one check for the API and the /verify page."""

from __future__ import annotations

from casebox import services
from prescriptions import issuing
from prescriptions.models import Prescription
from prescriptions.signing import verify_bundle


def signature_valid(prescription: Prescription) -> bool:
    """Whether the stored FHIR document's detached JWS verifies against the published keys.

    The signature covers the canonical (RFC 8785) form of the stored Bundle, so any change
    to the stored document after signing, or a key that was never published, fails it.
    """
    bundle = prescription.fhir_bundle
    if bundle is None:
        return False
    return verify_bundle(bundle, issuing.published_keys(services.settings()))
