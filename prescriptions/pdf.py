"""The printable prescription: render a :class:`PrescriptionDocument` as A4 PDF, sign, verify.

Rendering can never reach outside the document. The template runs in Jinja2's immutable
sandbox with autoescaping, no globals and a context of plain strings, numbers and lists
copied out of the document (no app objects, no callables), so a value such as
``<img src="file:///etc/passwd">`` is printed as text. WeasyPrint then gets a URL fetcher
that serves ``data:`` URIs and refuses every other URL (``file:``, ``http:``, ``https:``,
...), and a refusal stops the render: a template that tried to load anything is a bug to
see, not a PDF to sign with a part missing. Fonts are the system's, found by fontconfig.

The signature is PAdES baseline B-B: CAdES-detached, SHA-256, a signing-certificate-v2
attribute, no timestamp and no revocation data (nothing is fetched from the network).
It is a certification signature that allows no later changes, in an invisible field
named ``Prescription``: the page states who signed it, a PDF reader shows the signature
in its panel, and the QR code is the check for a paper copy.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import gc
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from io import BytesIO
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes

import segno
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jinja2 import PackageLoader, StrictUndefined, Template
from jinja2.sandbox import ImmutableSandboxedEnvironment
from PIL import Image, ImageFile
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from prescriptions.document import PrescriptionDocument
from prescriptions.pki import SigningIdentity, asn1_certificate

_T = TypeVar("_T")

# Importing WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES, which would make
# every photo intake in this process accept truncated uploads. casebox refuses them, and
# a prescription PDF holds no image but its own QR code: put the safe default back.
ImageFile.LOAD_TRUNCATED_IMAGES = False

TEMPLATE = "prescription.html"
STYLESHEET = "prescription.css"
SIGNATURE_FIELD = "Prescription"
_QR_BORDER = 4  # modules of quiet zone, as the standard asks
_QR_SCALE = 8  # pixels a module
# The shared font configuration is not known to be thread-safe: one render at a time.
_RENDER_LOCK = threading.Lock()
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class PrescriptionRenderError(RuntimeError):
    """The prescription could not be rendered as PDF."""


class ResourceRefused(ValueError):
    """The renderer asked for a URL other than a ``data:`` URI."""


class RefusingURLFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that serves ``data:`` URIs and refuses every other URL."""

    def __init__(self) -> None:
        # fail_on_errors: a refused URL stops the render instead of becoming a warning.
        super().__init__(fail_on_errors=True)
        # Kept as well because WeasyPrint swallows every error inside an SVG image.
        self.refused = 0

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        """Decode a ``data:`` URI; raise :class:`ResourceRefused` for anything else."""
        if url[:5].lower() != "data:":
            self.refused += 1
            raise ResourceRefused("only data: URIs may be loaded while rendering a prescription")
        header, comma, payload = url[5:].partition(",")
        if not comma:
            self.refused += 1
            raise ResourceRefused("malformed data: URI")
        media_type, is_base64 = header, False
        if header.lower().endswith(";base64"):
            media_type, is_base64 = header[: -len(";base64")], True
        body = unquote_to_bytes(payload)
        if is_base64:
            body = base64.b64decode(body, validate=False)
        content_type = media_type or "text/plain;charset=US-ASCII"
        return URLFetcherResponse(url, body, {"Content-Type": content_type})


def render_prescription_pdf(doc: PrescriptionDocument) -> bytes:
    """Render the prescription as an unsigned A4 PDF."""
    return html_to_pdf(_template().render(prescription_context(doc)))


def html_to_pdf(html: str) -> bytes:
    """Lay out ``html`` in the prescription style, allowing it no resource but ``data:`` URIs."""
    fetcher = RefusingURLFetcher()
    stylesheet, fonts = _page_style()
    try:
        with _RENDER_LOCK, _young_garbage():
            pdf = HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf(
                stylesheets=[stylesheet], font_config=fonts
            )
    except FatalURLFetchingError as error:
        raise PrescriptionRenderError(
            "the page asked for a resource that is not a data: URI"
        ) from error
    if fetcher.refused or not isinstance(pdf, bytes):
        raise PrescriptionRenderError("the page asked for a resource that is not a data: URI")
    return pdf


@contextmanager
def _young_garbage() -> Iterator[None]:
    """Keep the collector out of a render, then collect what it left while it is still young.

    A render makes some hundred thousand objects in cycles (the box tree). Collected as
    usual, they live through the render's young collections, are promoted to the oldest
    generation as garbage, and every dozen renders a full collection walks the whole
    process (a tenth of a second here): that was most of the p95. Held young, they are
    freed by one collection of the youngest generation. Called under ``_RENDER_LOCK``, so
    one render at a time; a collector the application switched off stays off.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)


def prescription_context(doc: PrescriptionDocument) -> dict[str, Any]:
    """The template's whole context: the document's fields as plain, display-ready values."""
    if doc.issued_at.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware")
    issued = doc.issued_at.astimezone(dt.UTC)
    medication = doc.medication
    patient = doc.patient
    codes = [
        f"{system} {code}"
        for system, code in (("RxNorm", medication.rxnorm_code), ("ATC", medication.atc_code))
        if code
    ]
    return {
        "prescription_id": doc.prescription_id,
        "verification_url": doc.verification_url,
        "qr_code": qr_code_data_uri(doc.verification_url),
        "issued": f"{_date(issued.date())}, {issued:%H:%M} UTC",
        "valid_until": f"{_date(doc.valid_until)} (inclusive)",
        "prescriber": {
            "name": doc.prescriber.name,
            "licence_number": doc.prescriber.licence_number,
            "licence_authority": doc.prescriber.licence_authority,
        },
        "patient": {
            "id": patient.id,
            "name": patient.name,
            "date_of_birth": _date(patient.date_of_birth),
            "age": _age(patient.date_of_birth, issued.date()),
            "sex": patient.sex.capitalize(),
        },
        "clinic": _organisation(doc.clinic),
        "pharmacy": _organisation(doc.pharmacy) if doc.pharmacy else None,
        "medication": {
            "name": medication.name,
            "strength": medication.strength,
            "form": medication.form,
            "route": medication.route,
            "instructions": medication.instructions,
            "quantity": medication.quantity,
            "supply_days": _days(medication.supply_days) if medication.supply_days else None,
            "repeats": _repeats(medication.repeats),
            "substitution": (
                "Yes: an equivalent product may be dispensed"
                if medication.substitution_allowed
                else "No: dispense exactly the product prescribed"
            ),
            "codes": " · ".join(codes),
        },
        "warnings_overridden": list(doc.warnings_overridden),
    }


def qr_code_data_uri(url: str) -> str:
    """A QR code for ``url`` as a PNG ``data:`` URI (4-module quiet zone, level M, 8 px a module).

    The PNG is 8-bit greyscale: WeasyPrint embeds that as it is, where segno's own 1-bit
    PNG would be converted to RGB and compressed twice more (a tenth of the render time).
    """
    symbol = segno.make(url, error="m", micro=False)
    rows = [
        bytes(0 if dark else 255 for dark in row) for row in symbol.matrix_iter(border=_QR_BORDER)
    ]
    size = len(rows)  # a QR code (not micro) is square
    image = Image.frombytes("L", (size, size), b"".join(rows)).resize(
        (size * _QR_SCALE, size * _QR_SCALE), Image.Resampling.NEAREST
    )
    png = BytesIO()
    image.save(png, format="PNG")
    return "data:image/png;base64," + base64.b64encode(png.getvalue()).decode("ascii")


@cache
def _page_style() -> tuple[CSS, FontConfiguration]:
    # Parsed once per process, with one font configuration: that saves about a fifth of a render.
    fonts = FontConfiguration()
    css = (resources.files("prescriptions") / "templates" / STYLESHEET).read_text("utf-8")
    return CSS(string=css, url_fetcher=RefusingURLFetcher(), font_config=fonts), fonts


@cache
def _template() -> Template:
    environment = ImmutableSandboxedEnvironment(
        loader=PackageLoader("prescriptions", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.clear()  # no range(), dict(), cycler() ...: the context is all there is
    return environment.get_template(TEMPLATE)


def _organisation(organisation: Any) -> dict[str, str | None]:
    return {"name": organisation.name, "address": organisation.address, "phone": organisation.phone}


def _date(day: dt.date) -> str:
    # Month names from a fixed list: the worker's locale must not change what is signed.
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _repeats(repeats: int) -> str:
    if repeats == 0:
        return "None (dispense once)"
    return f"{repeats} (dispense up to {repeats + 1} times in all)"


def sign_pdf(
    pdf: bytes, identity: SigningIdentity, *, reason: str, location: str | None = None
) -> bytes:
    """Sign ``pdf`` as the clinic: PAdES B-B certification signature, no changes allowed after."""
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        reason=reason,
        location=location,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    signer = signers.PdfSigner(metadata, signer=identity.signer)
    output = BytesIO()
    _outside_event_loop(
        signer.sign_pdf,
        IncrementalPdfFileWriter(BytesIO(pdf)),
        bytes_reserved=_signature_size(identity),
        output=output,
    )
    return output.getvalue()


def _outside_event_loop(function: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """Call a pyHanko entry point that runs its own asyncio loop (asyncio.run).

    That fails in a thread whose event loop is already running, such as a web server's
    or a test browser driver's; there the call is made from a short-lived thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def _signature_size(identity: SigningIdentity) -> int:
    # Room for the CMS container, so pyHanko need not sign a dummy first to measure it (that
    # halves the signing time): the embedded certificates, plus ample space for the signed
    # attributes and a signature value of any usual key size; in hex digits, as in the file.
    der = serialization.Encoding.DER
    certificates = (identity.certificate, *identity.chain)
    return 2 * (sum(len(certificate.public_bytes(der)) for certificate in certificates) + 2048)


@dataclass(frozen=True)
class SignatureVerdict:
    """What a check of a prescription PDF's signature found."""

    genuine: bool  # intact, cryptographically valid, trusted and covering the whole file
    intact: bool = False
    trusted: bool = False
    covers_whole_document: bool = False
    signer: str | None = None  # common name of the signing certificate
    signed_at: dt.datetime | None = None  # as the signer reported it (not a timestamp)
    problem: str | None = None  # why it is not genuine, in words for a log or a page


def verify_pdf_signature(pdf: bytes, trust_roots: Iterable[x509.Certificate]) -> SignatureVerdict:
    """Check the one signature of ``pdf`` against ``trust_roots``, offline."""
    roots = [asn1_certificate(certificate) for certificate in trust_roots]
    try:
        signatures = PdfFileReader(BytesIO(pdf), strict=False).embedded_signatures
    except Exception:  # any damage to the file means "not genuine", never a server error
        return SignatureVerdict(genuine=False, problem="the file is not a readable PDF")
    if len(signatures) != 1:
        return SignatureVerdict(genuine=False, problem=f"{len(signatures)} signatures, expected 1")
    # Offline: no CRL or OCSP is fetched, and a certificate without them is not held against it.
    context = ValidationContext(
        trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail"
    )
    try:
        status = _outside_event_loop(
            validate_pdf_signature, signatures[0], signer_validation_context=context
        )
    except Exception:  # likewise: a signature that cannot be checked is not genuine
        return SignatureVerdict(genuine=False, problem="the signature cannot be checked")
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    genuine = status.bottom_line and whole
    problem = None
    if not (status.intact and status.valid):
        problem = "the document was changed after it was signed"
    elif not status.trusted:
        problem = "the signing certificate is not trusted"
    elif not whole:
        problem = "the signature does not cover the whole file"
    elif not genuine:
        problem = "the signature does not satisfy its own constraints"
    return SignatureVerdict(
        genuine=genuine,
        intact=status.intact and status.valid,
        trusted=status.trusted,
        covers_whole_document=whole,
        signer=status.signing_cert.subject.native.get("common_name"),
        signed_at=status.signer_reported_dt,
        problem=problem,
    )
