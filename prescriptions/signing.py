"""Signing prescriptions: the clinic's ES256 keys, detached JWS, the published JWKS.

What is signed (the same rule for signer and verifier, see :func:`bundle_signing_input`):
the whole FHIR document Bundle, serialised with the JSON Canonicalization Scheme
(RFC 8785), after removing ``data`` from every ``application/jose`` signature of every
Provenance entry. Everything else, the Provenance's targets, agent, time and the rest of
its signature included, is covered. The signature is an ES256 compact JWS with detached
payload (RFC 7515 Appendix F, ``header..signature``) whose protected header names the
key by ``kid``, the RFC 7638 thumbprint of the public key. FHIR carries it base64
encoded in ``Provenance.signature.data``.

Keys live in one directory::

    signing-key.pem      the active private key (PKCS #8 PEM, mode 0600)
    public/<kid>.pem     the public key of the active key and of every earlier one

Rotating writes a new active key and keeps the old public key in ``public/``, so the
JWKS built from it still verifies prescriptions signed before the rotation.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

ALGORITHM = "ES256"
SIGNATURE_FORMAT = "application/jose"
PRIVATE_KEY_FILE = "signing-key.pem"
PUBLIC_KEY_DIR = "public"
# Header parameters a verifier accepts; "b64" or "crit" would change what is signed.
_ALLOWED_HEADER = frozenset({"alg", "kid", "typ", "cty"})


class SigningKeyError(Exception):
    """The signing key directory or a key file in it is unusable or unsafe."""


class SigningKey:
    """The clinic's active ES256 private key; it signs and never prints itself."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise SigningKeyError("the signing key must be on the P-256 curve")
        self._key = ECKey.import_key(private_key)
        self.kid: str = self._key.thumbprint()
        self.public_key: ec.EllipticCurvePublicKey = private_key.public_key()

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r})"

    def sign_detached(self, payload: bytes) -> str:
        """A compact ES256 JWS over ``payload`` with the payload left out (``header..sig``)."""
        header = {"alg": ALGORITHM, "kid": self.kid}
        compact = jws.serialize_compact(header, payload, self._key, algorithms=[ALGORITHM])
        return jws.detach_content(compact)


def load_or_create_signing_key(directory: Path) -> SigningKey:
    """The active key in ``directory``, generated there (and published) on first use."""
    path = directory / PRIVATE_KEY_FILE
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        _publish(directory, key.public_key())
        # link() refuses to overwrite, so two processes starting together keep one key.
        tmp = _write_private(directory, key)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return _read_private(path)


def rotate_signing_key(directory: Path) -> SigningKey:
    """Replace the active key by a new one; earlier public keys stay published."""
    key = ec.generate_private_key(ec.SECP256R1())
    _publish(directory, key.public_key())
    tmp = _write_private(directory, key)
    tmp.replace(directory / PRIVATE_KEY_FILE)
    return _read_private(directory / PRIVATE_KEY_FILE)


def load_public_keys(directory: Path) -> list[ec.EllipticCurvePublicKey]:
    """Every public key published in ``directory`` (the active one and those rotated out)."""
    keys = []
    for path in sorted((directory / PUBLIC_KEY_DIR).glob("*.pem")):
        key = serialization.load_pem_public_key(path.read_bytes())
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise SigningKeyError(f"{path.name} is not an EC public key")
        keys.append(key)
    return keys


def public_jwks(keys: Iterable[SigningKey | ec.EllipticCurvePublicKey]) -> dict[str, Any]:
    """A JWK Set (RFC 7517) of the public halves of ``keys``, each with its thumbprint kid."""
    entries: dict[str, dict[str, Any]] = {}
    for key in keys:
        public = key.public_key if isinstance(key, SigningKey) else key
        jwk = ECKey.import_key(public)
        kid = jwk.thumbprint()
        entries[kid] = {**jwk.as_dict(private=False), "kid": kid, "use": "sig", "alg": ALGORITHM}
    return {"keys": [entries[kid] for kid in sorted(entries)]}


def verify_detached(jws_value: str, payload: bytes, jwks: dict[str, Any]) -> bool:
    """Whether ``jws_value`` is a valid detached ES256 JWS over ``payload`` by a key in ``jwks``."""
    header = _detached_header(jws_value)
    if header is None:
        return False
    key = _key_for(header["kid"], jwks)
    if key is None:
        return False
    try:
        jws.deserialize_compact(jws_value, key, algorithms=[ALGORITHM], payload=payload)
    except (JoseError, ValueError):
        return False
    return True


def bundle_signing_input(bundle: dict[str, Any]) -> bytes:
    """The bytes the JWS covers: the Bundle as RFC 8785 JSON without its JOSE signature data."""
    unsigned = copy.deepcopy(bundle)
    for signature in _jose_signatures(unsigned):
        signature.pop("data", None)
    return rfc8785.dumps(unsigned)


def verify_bundle(bundle: dict[str, Any], jwks: dict[str, Any]) -> bool:
    """Whether a FHIR document Bundle carries exactly one JOSE signature that verifies."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return False
    if bundle.get("type") != "document":
        return False
    try:
        signatures = list(_jose_signatures(bundle))
        if len(signatures) != 1 or not isinstance(signatures[0].get("data"), str):
            return False
        jws_value = base64.b64decode(signatures[0]["data"], validate=True).decode("ascii")
        payload = bundle_signing_input(bundle)
    except (AttributeError, TypeError, ValueError, binascii.Error, rfc8785.CanonicalizationError):
        return False
    return verify_detached(jws_value, payload, jwks)


def _jose_signatures(bundle: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for entry in bundle.get("entry") or ():
        resource = entry.get("resource") or {}
        if resource.get("resourceType") != "Provenance":
            continue
        for signature in resource.get("signature") or ():
            if signature.get("sigFormat") == SIGNATURE_FORMAT:
                yield signature


def _detached_header(jws_value: str) -> dict[str, Any] | None:
    if not isinstance(jws_value, str):
        return None
    parts = jws_value.split(".")
    if len(parts) != 3 or parts[1] != "" or not parts[0] or not parts[2]:
        return None
    try:
        raw = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4))
        header = json.loads(raw)
    except (ValueError, binascii.Error):
        return None
    if not isinstance(header, dict) or not set(header) <= _ALLOWED_HEADER:
        return None
    if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
        return None
    return header


def _key_for(kid: str, jwks: dict[str, Any]) -> ECKey | None:
    """The public key ``kid`` names, if the set holds one whose thumbprint really is ``kid``."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    for entry in keys or ():
        if not isinstance(entry, dict) or entry.get("kid") != kid:
            continue
        if entry.get("kty") != "EC" or entry.get("crv") != "P-256":
            continue
        public = {name: entry[name] for name in ("kty", "crv", "x", "y") if name in entry}
        try:
            key = ECKey.import_key(public)
        except (JoseError, ValueError, TypeError):
            continue
        if key.thumbprint() == kid:
            return key
    return None


def _publish(directory: Path, public_key: ec.EllipticCurvePublicKey) -> None:
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True)
    public_dir = directory / PUBLIC_KEY_DIR
    public_dir.mkdir(exist_ok=True)
    kid = ECKey.import_key(public_key).thumbprint()
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (public_dir / f"{kid}.pem").write_bytes(pem)


def _write_private(directory: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    """Write ``key`` to a new file of mode 0600 beside the active key; the caller moves it."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = directory / f".{PRIVATE_KEY_FILE}.{os.getpid()}.{os.urandom(4).hex()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        os.fchmod(fd, 0o600)  # whatever the umask
        file.write(pem)
        file.flush()
        os.fsync(fd)
    return tmp


def _read_private(path: Path) -> SigningKey:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SigningKeyError(f"{path.name} is readable by others (mode {mode:o}); chmod 600 it")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SigningKeyError(f"{path.name} is not an EC private key")
    signing_key = SigningKey(key)
    # A key copied in by hand is published too, or nobody could verify what it signs.
    if not (path.parent / PUBLIC_KEY_DIR / f"{signing_key.kid}.pem").exists():
        _publish(path.parent, signing_key.public_key)
    return signing_key
