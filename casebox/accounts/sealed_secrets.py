"""Small account secrets sealed at rest with AES-256-GCM under a key derived from the data key.

Stored format: version (1 byte) | nonce (12) | ciphertext and tag. The key is derived
with HKDF from the application's data key, so it is never the key that wraps object
DEKs in :mod:`storage.envelope`. The associated data names the purpose and the owner
(``purpose NUL owner``): a sealed value copied to another user's row, or into another
column, fails to open instead of being accepted.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from casebox.errors import IntegrityViolation

VERSION = b"\x01"
_NONCE_SIZE = 12
_KEY_INFO = b"casebox sealed account secrets v1"


def _cipher(data_key: bytes) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO).derive(data_key)
    return AESGCM(key)


def _associated_data(purpose: str, owner: str) -> bytes:
    return purpose.encode() + b"\x00" + owner.encode()


def seal_secret(data_key: bytes, secret: bytes, *, purpose: str, owner: str) -> bytes:
    """Encrypt and authenticate ``secret`` for one purpose and owner."""
    nonce = os.urandom(_NONCE_SIZE)
    sealed = _cipher(data_key).encrypt(nonce, secret, _associated_data(purpose, owner))
    return VERSION + nonce + sealed


def open_secret(data_key: bytes, sealed: bytes, *, purpose: str, owner: str) -> bytes:
    """Decrypt a sealed secret; raise IntegrityViolation if it was altered or moved."""
    if not sealed.startswith(VERSION) or len(sealed) < 1 + _NONCE_SIZE + 16:
        raise IntegrityViolation(f"a sealed {purpose} is not in the expected format")
    nonce, body = sealed[1 : 1 + _NONCE_SIZE], sealed[1 + _NONCE_SIZE :]
    try:
        return _cipher(data_key).decrypt(nonce, body, _associated_data(purpose, owner))
    except InvalidTag:
        raise IntegrityViolation(
            f"a sealed {purpose} failed authentication: altered, moved or under another key"
        ) from None
