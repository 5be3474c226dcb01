"""The printed prescription shows what a pharmacy needs, cannot be made to fetch, and is signed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.server
import io
import re
import stat
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import PIL.Image
import pypdf
import pytest
import zxingcpp
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from prescriptions import pki
from prescriptions.document import (
    MedicationLine,
    Organisation,
    PatientDetails,
    Prescriber,
    PrescriptionDocument,
)
from prescriptions.pdf import (
    SIGNATURE_FIELD,
    PrescriptionRenderError,
    RefusingURLFetcher,
    ResourceRefused,
    html_to_pdf,
    prescription_context,
    qr_code_data_uri,
    render_prescription_pdf,
    sign_pdf,
    verify_pdf_signature,
)
from prescriptions.pki import (
    SigningIdentity,
    SigningIdentityError,
    ensure_development_pki,
    load_pkcs12_identity,
    load_signing_identity,
)

ACCESS_CODE = "q8Vx3mT0bKp1sYwZ7uN4cLr2eHj9aDf6gQiXoMvB5nE"
VERIFY_URL = f"https://casebox.example/verify/RX-12345-67890-12?code={ACCESS_CODE}"


def make_document(**changes: Any) -> PrescriptionDocument:
    """A complete prescription; keyword arguments replace top-level fields."""
    document = PrescriptionDocument(
        prescription_id="RX-2026-000123-45",
        access_code=ACCESS_CODE,
        verification_url=VERIFY_URL,
        issued_at=dt.datetime(2026, 3, 12, 14, 3, tzinfo=dt.UTC),
        valid_until=dt.date(2026, 4, 11),
        prescriber=Prescriber(
            id="u-7f3a",
            name="Dr Ada Lovelace",
            licence_number="CPSO 81234",
            licence_authority="College of Physicians and Surgeons of Ontario",
            licence_system="https://cpso.on.ca/licence",
        ),
        patient=PatientDetails(
            id="p-91c2", name="Grace Hopper", date_of_birth=dt.date(1990, 5, 1), sex="female"
        ),
        clinic=Organisation(
            id="c-1", name="Riverside Dermatology", address="1 Main St, Toronto", phone="555 0100"
        ),
        pharmacy=Organisation(id="ph-1", name="Corner Pharmacy", address="5 King St, Toronto"),
        medication=MedicationLine(
            formulary_id="doxycycline-oral",
            name="Doxycycline",
            rxnorm_code="3640",
            atc_code="J01AA02",
            form="capsule",
            route="oral",
            strength="100 mg",
            instructions="Take 1 capsule twice a day, with food, for 6 weeks.",
            quantity="84 capsules",
            repeats=1,
            substitution_allowed=True,
            supply_days=42,
            dosage={
                "amount": {"value": 1, "unit": "capsule"},
                "frequency": {"times": 2, "per": "day"},
                "duration": {"value": 6, "unit": "week"},
                "timing": ["with_food"],
            },
        ),
    )
    return dataclasses.replace(document, **changes)


def pdf_text(pdf: bytes) -> str:
    """All text of the PDF with runs of whitespace made single spaces."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def between(text: str, start: str, end: str) -> str:
    """The part of ``text`` after ``start`` and before the next ``end``."""
    after = text.partition(start)[2] if start else text
    assert end in after
    return after.partition(end)[0]


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> SigningIdentity:
    return ensure_development_pki(tmp_path_factory.mktemp("pki") / "dev")


@pytest.fixture(scope="module")
def dev_ca(identity: SigningIdentity) -> x509.Certificate:
    assert identity.root is not None
    return identity.root


@pytest.fixture(scope="module")
def signed_pdf(identity: SigningIdentity) -> bytes:
    pdf = render_prescription_pdf(make_document())
    return sign_pdf(pdf, identity, reason="Prescription RX-2026-000123-45", location="Toronto")


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that records every request it gets."""
    hits: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_pdf_shows_every_mandatory_field_on_one_a4_page():
    pdf = render_prescription_pdf(make_document())

    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    text = pdf_text(pdf)
    header = between(text, "", "PATIENT")
    assert "Riverside Dermatology" in header
    assert "Prescription RX-2026-000123-45" in header
    assert "Date issued: 12 March 2026, 14:03 UTC" in header
    assert "Valid until: 11 April 2026" in header
    patient = between(text, "PATIENT", "PRESCRIBER")
    assert "Name: Grace Hopper" in patient
    assert "Date of birth: 1 May 1990 (age 35)" in patient
    prescriber = between(text, "PRESCRIBER", "MEDICINE")
    assert "Name: Dr Ada Lovelace" in prescriber
    assert "Licence: CPSO 81234, College of Physicians and Surgeons of Ontario" in prescriber
    medicine = between(text, "MEDICINE", "PHARMACY")
    for expected in [
        "Doxycycline",
        "Strength: 100 mg",
        "Form: capsule",
        "Route: oral",
        "Dose instructions: Take 1 capsule twice a day, with food, for 6 weeks.",
        "Quantity: 84 capsules",
        "Supply: 42 days",
        "Repeats: 1 (dispense up to 2 times in all)",
        "Substitution allowed: Yes",
    ]:
        assert expected in medicine
    assert "Addressed to: Corner Pharmacy" in between(text, "PHARMACY", "VERIFICATION")
    # The address may wrap anywhere; it must be there in full.
    assert VERIFY_URL in "".join(text.split())


def test_no_repeats_no_substitution_and_an_unnamed_pharmacy_are_stated_plainly():
    medication = dataclasses.replace(
        make_document().medication, repeats=0, substitution_allowed=False, supply_days=None
    )
    text = pdf_text(render_prescription_pdf(make_document(medication=medication, pharmacy=None)))

    assert "Repeats: None (dispense once)" in text
    assert "Substitution allowed: No: dispense exactly the product prescribed" in text
    assert "Supply:" not in text
    assert "PHARMACY Not named on this document" in text


def test_a_long_prescription_flows_onto_more_pages_that_each_name_it():
    medication = dataclasses.replace(
        make_document().medication,
        instructions=" ".join(["Apply a thin layer to the affected skin once a day."] * 60),
    )
    pdf = render_prescription_pdf(make_document(medication=medication))

    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        text = " ".join(page.extract_text().split())
        assert "Prescription RX-2026-000123-45" in text
        assert f"Page {number}" in text
        # Only the last page ends the prescription, so a missing page shows.
        assert ("End of prescription RX-2026-000123-45" in text) == (number == len(pages))


def test_qr_code_in_the_pdf_decodes_to_the_verification_url():
    pdf = render_prescription_pdf(make_document())

    images = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].images
    assert len(images) == 1
    image = images[0].image
    assert image is not None
    [barcode] = zxingcpp.read_barcodes(image.convert("L"))
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    assert barcode.text == VERIFY_URL  # the prescription number and its access code


def test_qr_code_made_with_segno_decodes_to_the_url():
    uri = qr_code_data_uri(VERIFY_URL)
    assert uri.startswith("data:image/png;base64,")
    response = RefusingURLFetcher().fetch(uri)
    picture = PIL.Image.open(io.BytesIO(response.read()))

    assert [barcode.text for barcode in zxingcpp.read_barcodes(picture)] == [VERIFY_URL]


def test_markup_in_fields_is_printed_as_text_and_nothing_is_fetched(
    listener: tuple[str, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    base, hits = listener
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    requested: list[str] = []
    original_fetch = RefusingURLFetcher.fetch

    def spy(self: RefusingURLFetcher, url: str, headers: Any = None) -> Any:
        requested.append(url)
        return original_fetch(self, url, headers)

    monkeypatch.setattr(RefusingURLFetcher, "fetch", spy)
    patient = dataclasses.replace(make_document().patient, name=f'<img src="file://{secret}">Grace')
    medication = dataclasses.replace(
        make_document().medication,
        instructions=f'<b>Apply</b> <img src="{base}/instructions.png"> thinly.',
        quantity=f'<link rel="stylesheet" href="{base}/style.css">30 g',
    )
    clinic = dataclasses.replace(
        make_document().clinic, name=f'<style>@import url("{base}/import.css");</style>Clinic'
    )
    pharmacy = Organisation(
        id="ph-1",
        name="Corner Pharmacy",
        address=f'<object data="file://{secret}"></object><iframe src="{base}/frame"></iframe>',
    )
    document = make_document(
        patient=patient, medication=medication, clinic=clinic, pharmacy=pharmacy
    )

    pdf = render_prescription_pdf(document)

    assert hits == []
    assert all(url.startswith("data:") for url in requested)
    assert len(requested) == 1  # the QR code, and nothing from the fields
    assert b"TOP-SECRET-CONTENT" not in pdf
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages[0].images) == 1
    # Long values may wrap at any character: compare without whitespace.
    text = "".join(pdf_text(pdf).split())
    assert f'<imgsrc="file://{secret}">Grace' in text
    assert f'<b>Apply</b><imgsrc="{base}/instructions.png">thinly.' in text
    assert f'<style>@importurl("{base}/import.css");</style>Clinic' in text
    assert f'<objectdata="file://{secret}"></object>' in text


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "{base}/image.png",
        "{base_https}/image.png",
        "ftp://127.0.0.1/pub/file",
        "etc/passwd",
        "//127.0.0.1/image.png",
        " data:text/plain,leading-space",
    ],
)
def test_the_fetcher_refuses_every_url_but_data(url: str, listener: tuple[str, list[str]]):
    base, hits = listener
    url = url.format(base=base, base_https=base.replace("http:", "https:"))

    with pytest.raises(ResourceRefused):
        RefusingURLFetcher().fetch(url)
    assert hits == []


def test_the_fetcher_serves_data_uris():
    plain = RefusingURLFetcher().fetch("data:text/css,p%20%7B%20color%3A%20red%20%7D")
    encoded = RefusingURLFetcher().fetch("data:text/plain;base64,aGVsbG8=")

    assert (plain.read(), plain.content_type) == (b"p { color: red }", "text/css")
    assert (encoded.read(), encoded.content_type) == (b"hello", "text/plain")


@pytest.mark.parametrize(
    "markup",
    [
        '<img src="file:///etc/passwd">',
        '<img src="{base}/image.png">',
        '<link rel="stylesheet" href="{base}/style.css">',
        '<style>@import url("{base}/import.css");</style>',
        '<style>@font-face {{ font-family: x; src: url("{base}/font.woff") }}'
        " p {{ font-family: x }}</style>",
        '<svg><image href="{base}/in-svg.png" width="10" height="10"/></svg>',
    ],
)
def test_a_page_that_asks_for_a_resource_fails_to_render(
    markup: str, listener: tuple[str, list[str]]
):
    base, hits = listener

    with pytest.raises(PrescriptionRenderError):
        html_to_pdf(f"<html><body>{markup.format(base=base)}<p>text</p></body></html>")
    assert hits == []


def test_template_context_holds_only_plain_values():
    def check(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                assert isinstance(key, str)
                check(item)
        elif isinstance(value, list):
            for item in value:
                check(item)
        else:
            assert value is None or type(value) in (str, int, bool)

    context = prescription_context(
        make_document(warnings_overridden=("Interaction accepted: monitored weekly",))
    )

    check(context)
    assert context["warnings_overridden"] == ["Interaction accepted: monitored weekly"]


def test_overridden_warnings_are_shown_to_the_pharmacist():
    document = make_document(warnings_overridden=("Dose above usual: specialist supervision",))

    assert "Dose above usual: specialist supervision" in pdf_text(render_prescription_pdf(document))


def test_a_naive_issue_time_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        render_prescription_pdf(
            make_document(issued_at=dt.datetime(2026, 3, 12, 14, 3))
        )  # naive on purpose


def test_signed_pdf_validates_against_the_development_ca(
    signed_pdf: bytes, dev_ca: x509.Certificate
):
    verdict = verify_pdf_signature(signed_pdf, [dev_ca])

    assert verdict.genuine, verdict.problem
    assert verdict.intact and verdict.trusted and verdict.covers_whole_document
    assert verdict.signer == "casebox development clinic prescription signing"
    assert verdict.signed_at is not None
    signature = PdfFileReader(io.BytesIO(signed_pdf)).embedded_signatures[0]
    assert signature.field_name == SIGNATURE_FIELD
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    assert signature.sig_object["/Reason"] == "Prescription RX-2026-000123-45"
    # Baseline B-B: no signature timestamp.
    assert "signature_time_stamp_token" not in {
        attribute["type"].native for attribute in signature.signer_info["unsigned_attrs"] or []
    }
    # Signing adds no text: the page still reads as before.
    assert "Grace Hopper" in pdf_text(signed_pdf)


def _signed_ranges(pdf: bytes) -> list[tuple[int, int]]:
    match = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert match
    start1, length1, start2, length2 = (int(group) for group in match.groups())
    return [(start1, start1 + length1), (start2, start2 + length2)]


@pytest.mark.parametrize("where", ["inside a stream", "first byte", "after the signature", "last"])
def test_changing_one_signed_byte_breaks_the_signature(
    signed_pdf: bytes, dev_ca: x509.Certificate, where: str
):
    (start1, end1), (start2, end2) = _signed_ranges(signed_pdf)
    assert (start1, end2) == (0, len(signed_pdf))
    position = {
        "inside a stream": signed_pdf.index(b"stream", 200) + 100,
        "first byte": 1,  # "%PDF": keep the "%" so the header is still found
        "after the signature": start2 + 1,
        "last": end2 - 2,
    }[where]
    assert start1 <= position < end1 or start2 <= position < end2
    tampered = bytearray(signed_pdf)
    tampered[position] ^= 0x01

    verdict = verify_pdf_signature(bytes(tampered), [dev_ca])

    assert not verdict.genuine
    assert verdict.problem


def test_a_changed_byte_in_the_content_is_reported_as_a_change(
    signed_pdf: bytes, dev_ca: x509.Certificate
):
    position = signed_pdf.index(b"stream", 200) + 100
    tampered = bytearray(signed_pdf)
    tampered[position] ^= 0x01

    verdict = verify_pdf_signature(bytes(tampered), [dev_ca])

    assert not verdict.intact
    assert verdict.problem == "the document was changed after it was signed"


def test_an_update_appended_after_signing_is_not_genuine(
    signed_pdf: bytes, dev_ca: x509.Certificate
):
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_pdf))
    writer.trailer["/Info"] = writer.add_object(
        generic.DictionaryObject({generic.NameObject("/Title"): generic.TextStringObject("x")})
    )
    output = io.BytesIO()
    writer.write(output)

    verdict = verify_pdf_signature(output.getvalue(), [dev_ca])

    assert verdict.intact
    assert not verdict.covers_whole_document
    assert not verdict.genuine


def test_a_signature_from_another_ca_is_not_trusted(signed_pdf: bytes, tmp_path: Path):
    stranger = ensure_development_pki(tmp_path / "other")

    verdict = verify_pdf_signature(signed_pdf, [stranger.chain[-1]])

    assert verdict.intact
    assert not verdict.trusted and not verdict.genuine
    assert verdict.problem == "the signing certificate is not trusted"


def test_unsigned_or_broken_files_are_not_genuine(dev_ca: x509.Certificate):
    roots = [dev_ca]
    unsigned = render_prescription_pdf(make_document())

    assert not verify_pdf_signature(unsigned, roots).genuine
    assert not verify_pdf_signature(b"not a pdf", roots).genuine
    assert not verify_pdf_signature(b"", roots).genuine


def test_development_pki_files_are_private_and_reused(tmp_path: Path):
    directory = tmp_path / "pki"

    first = ensure_development_pki(directory)
    second = ensure_development_pki(directory)

    names = {path.name for path in directory.iterdir()}
    assert {pki.CA_KEY, pki.CA_CERT, pki.SIGNING_KEY, pki.SIGNING_CERT} <= names
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert second.certificate == first.certificate
    assert second.chain == first.chain
    assert second.signer.signing_key.dump() == first.signer.signing_key.dump()


def test_workers_starting_together_share_one_development_pki(tmp_path: Path):
    with ThreadPoolExecutor(max_workers=4) as pool:
        identities = list(pool.map(ensure_development_pki, [tmp_path / "pki"] * 4))

    assert len({identity.certificate for identity in identities}) == 1
    assert len({identity.chain for identity in identities}) == 1


def test_development_signing_certificate_is_fit_for_signing_documents(
    identity: SigningIdentity,
):
    certificate = identity.certificate
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    extended = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)

    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert pki.DOCUMENT_SIGNING in extended
    assert ExtendedKeyUsageOID.SERVER_AUTH not in extended
    assert constraints.value.ca is False
    assert identity.root is not None and certificate.issuer == identity.root.subject
    assert identity.root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)


def test_an_expiring_development_certificate_is_renewed_by_the_same_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    directory = tmp_path / "pki"
    first = ensure_development_pki(directory)
    monkeypatch.setattr(pki, "RENEW_BEFORE", dt.timedelta(days=100_000))

    renewed = ensure_development_pki(directory)

    assert renewed.certificate != first.certificate
    assert renewed.root == first.root


def test_a_real_certificate_loads_from_pem_with_passphrase_and_signs(
    identity: SigningIdentity, dev_ca: x509.Certificate, tmp_path: Path
):
    key_path, cert_path, chain_path = _export_pem(identity, tmp_path, b"correct horse")

    loaded = load_signing_identity(key_path, cert_path, [chain_path], passphrase=b"correct horse")
    signed = sign_pdf(
        render_prescription_pdf(make_document()), loaded, reason="test", location=None
    )

    assert loaded.certificate == identity.certificate
    assert verify_pdf_signature(signed, [dev_ca]).genuine
    with pytest.raises(SigningIdentityError):
        load_signing_identity(key_path, cert_path, [chain_path], passphrase=b"wrong")


def test_a_real_certificate_loads_from_pkcs12_and_signs(
    identity: SigningIdentity, dev_ca: x509.Certificate, tmp_path: Path
):
    bundle = tmp_path / "clinic.p12"
    bundle.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"clinic",
            _private_key(identity),
            identity.certificate,
            list(identity.chain),
            serialization.BestAvailableEncryption(b"secret"),
        )
    )

    loaded = load_pkcs12_identity(bundle, b"secret")
    signed = sign_pdf(
        render_prescription_pdf(make_document()), loaded, reason="test", location=None
    )

    assert verify_pdf_signature(signed, [dev_ca]).genuine
    with pytest.raises(SigningIdentityError):
        load_pkcs12_identity(bundle, b"wrong")


def test_a_key_that_does_not_match_the_certificate_is_refused(
    identity: SigningIdentity, tmp_path: Path
):
    _, cert_path, chain_path = _export_pem(identity, tmp_path, None)
    other_key = tmp_path / "other-key.pem"
    other_key.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    with pytest.raises(SigningIdentityError, match="does not belong"):
        load_signing_identity(other_key, cert_path, [chain_path])


def _private_key(identity: SigningIdentity) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_der_private_key(identity.signer.signing_key.dump(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _export_pem(
    identity: SigningIdentity, directory: Path, passphrase: bytes | None
) -> tuple[Path, Path, Path]:
    encryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    key_path, cert_path, chain_path = (
        directory / "key.pem",
        directory / "cert.pem",
        directory / "chain.pem",
    )
    key_path.write_bytes(
        _private_key(identity).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
    )
    cert_path.write_bytes(identity.certificate.public_bytes(serialization.Encoding.PEM))
    chain_path.write_bytes(
        b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in identity.chain)
    )
    return key_path, cert_path, chain_path
