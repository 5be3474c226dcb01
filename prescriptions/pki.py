"""The clinic's signing identity: a development CA made on first use, or a real certificate.

A signed prescription PDF carries the clinic's signature (PAdES). In development
:func:`ensure_development_pki` makes a local CA and a signing certificate for the
clinic once, in a directory of the data dir, and hands back the same identity on
every later call; pharmacies and tests trust that CA explicitly. In production a
clinic configures a real certificate issued to it, loaded with
:func:`load_signing_identity` (PEM key + certificate + chain) or
:func:`load_pkcs12_identity` (one ``.p12`` file).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

# RFC 9336 id-kp-documentSigning: the key purpose meant for signing human-readable documents.
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")

CA_KEY = "ca-key.pem"
CA_CERT = "ca-cert.pem"
SIGNING_KEY = "signing-key.pem"
SIGNING_CERT = "signing-cert.pem"

CA_LIFETIME = dt.timedelta(days=3650)
SIGNING_LIFETIME = dt.timedelta(days=825)
# A development signing certificate this close to expiry is replaced by a new one from the same
# CA, so an old development install keeps signing and its earlier PDFs still verify.
RENEW_BEFORE = dt.timedelta(days=30)

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


class SigningIdentityError(ValueError):
    """A configured signing key or certificate cannot be used."""


@dataclass(frozen=True)
class SigningIdentity:
    """What pyHanko needs to sign as the clinic: the signer, its certificate and chain."""

    signer: SimpleSigner
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]  # issuers of ``certificate``, up to and including a root

    @property
    def root(self) -> x509.Certificate | None:
        """The self-signed certificate at the end of the chain, if the chain holds one."""
        for candidate in self.chain:
            if candidate.subject == candidate.issuer:
                return candidate
        return None


def ensure_development_pki(
    directory: Path, *, clinic_name: str = "casebox development clinic"
) -> SigningIdentity:
    """Create (once) a local CA and the clinic's signing certificate in ``directory``; load it.

    The files are made on the first call (with that call's ``clinic_name``) and reused after;
    a signing certificate near its expiry is replaced by one from the same CA.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca_cert_path = directory / CA_CERT
    with _locked(directory / ".lock"):
        if not ((directory / CA_KEY).exists() and ca_cert_path.exists()):
            _create_ca(directory, clinic_name)
        cert_path = directory / SIGNING_CERT
        if (
            not (directory / SIGNING_KEY).exists()
            or not cert_path.exists()
            or _expiring(_read_certificate(cert_path))
        ):
            _create_signing_certificate(directory, clinic_name)
        # Still under the lock, so a renewal by another worker cannot split key and certificate.
        return load_signing_identity(directory / SIGNING_KEY, cert_path, [ca_cert_path])


def _create_ca(directory: Path, clinic_name: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    _write_private(directory / CA_KEY, _key_pem(key))
    _write_private(directory / CA_CERT, _cert_pem(_issue_ca(key, clinic_name)))
    # A new CA invalidates any signing certificate left from an older one.
    (directory / SIGNING_CERT).unlink(missing_ok=True)


def _create_signing_certificate(directory: Path, clinic_name: str) -> None:
    ca_key = _read_private_key(directory / CA_KEY, None)
    ca_cert = _read_certificate(directory / CA_CERT)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _issue_signing_certificate(key, ca_key, ca_cert, clinic_name)
    _write_private(directory / SIGNING_KEY, _key_pem(key))
    _write_private(directory / SIGNING_CERT, _cert_pem(certificate))


def load_signing_identity(
    key_path: Path,
    cert_path: Path,
    chain_paths: Iterable[Path] = (),
    passphrase: bytes | None = None,
) -> SigningIdentity:
    """Load a PEM (or DER) private key, its certificate and the issuing chain."""
    key = _read_private_key(key_path, passphrase)
    certificate = _read_certificate(cert_path)
    chain = tuple(cert for path in chain_paths for cert in _read_certificates(path))
    return _identity(key, certificate, chain)


def load_pkcs12_identity(
    path: Path, passphrase: bytes | None = None, chain_paths: Iterable[Path] = ()
) -> SigningIdentity:
    """Load a PKCS#12 (``.p12``/``.pfx``) bundle, plus any issuers it does not carry."""
    try:
        key, certificate, extra = pkcs12.load_key_and_certificates(path.read_bytes(), passphrase)
    except ValueError as error:
        raise SigningIdentityError(f"{path.name}: not a readable PKCS#12 file") from error
    if key is None or certificate is None:
        raise SigningIdentityError(f"{path.name}: holds no private key and certificate")
    chain = tuple(extra) + tuple(cert for p in chain_paths for cert in _read_certificates(p))
    return _identity(_signing_key(key, path), certificate, chain)


def _identity(
    key: SigningKey, certificate: x509.Certificate, chain: tuple[x509.Certificate, ...]
) -> SigningIdentity:
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(
        serialization.Encoding.DER, public
    ) != certificate.public_key().public_bytes(serialization.Encoding.DER, public):
        raise SigningIdentityError("the private key does not belong to the certificate")
    key_der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    store = SimpleCertificateStore.from_certs([asn1_certificate(cert) for cert in chain])
    signer = SimpleSigner(
        signing_cert=asn1_certificate(certificate),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=store,
    )
    return SigningIdentity(signer=signer, certificate=certificate, chain=chain)


def asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    """The same certificate as pyHanko's asn1crypto type."""
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _issue_ca(key: ec.EllipticCurvePrivateKey, clinic_name: str) -> x509.Certificate:
    name = _name(f"{clinic_name} development CA (not for real prescriptions)", clinic_name)
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _issue_signing_certificate(
    key: ec.EllipticCurvePrivateKey,
    ca_key: SigningKey,
    ca_cert: x509.Certificate,
    clinic_name: str,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(_name(f"{clinic_name} prescription signing", clinic_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + SIGNING_LIFETIME, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64]),
        ]
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=not cert_sign,  # nonRepudiation: the signer stands behind the content
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _expiring(certificate: x509.Certificate) -> bool:
    return certificate.not_valid_after_utc - RENEW_BEFORE < dt.datetime.now(dt.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a file only its owner can read, replacing ``path`` atomically."""
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    partial.replace(path)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock so two workers starting together make one PKI, not two."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _read_certificates(path: Path) -> list[x509.Certificate]:
    data = path.read_bytes()
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as error:
        raise SigningIdentityError(f"{path.name}: not a readable certificate") from error


def _read_certificate(path: Path) -> x509.Certificate:
    return _read_certificates(path)[0]


def _read_private_key(path: Path, passphrase: bytes | None) -> SigningKey:
    data = path.read_bytes()
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, passphrase)
        else:
            key = serialization.load_der_private_key(data, passphrase)
    except (ValueError, TypeError) as error:
        raise SigningIdentityError(f"{path.name}: not a readable private key") from error
    return _signing_key(key, path)


def _signing_key(key: object, path: Path) -> SigningKey:
    if not isinstance(key, SigningKey):
        raise SigningIdentityError(f"{path.name}: not a signing key (RSA, EC or Ed25519)")
    return key
