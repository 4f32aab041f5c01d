"""AES-256-GCM sealing of secret values, bound to where they are stored.

The associated data names the tenant, install, secret key and key id, each
length-prefixed so no two addresses encode alike: a ciphertext copied into
another row (another install, another name) or relabelled with another key id
fails authentication instead of decrypting. The stored blob is the 96-bit
random nonce followed by the ciphertext and tag.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from extplane.host.secrets.keys import SecretKeyRing

NONCE_BYTES = 12
_CONTEXT = b"extplane.host.secret.v1"


class SecretAddress(NamedTuple):
    tenant: str
    install_id: str
    key: str


class Sealed(NamedTuple):
    key_id: str
    ciphertext: bytes


class UnsealError(Exception):
    """A stored value cannot be decrypted; the message says why, never what."""


def _associated(at: SecretAddress, kid: str) -> bytes:
    parts = [_CONTEXT, *(part.encode() for part in (*at, kid))]
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def seal(ring: SecretKeyRing, at: SecretAddress, value: str) -> Sealed:
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(ring.active).encrypt(nonce, value.encode(), _associated(at, ring.active_id))
    return Sealed(ring.active_id, nonce + sealed)


def unseal(ring: SecretKeyRing, at: SecretAddress, sealed: Sealed) -> str:
    key = ring.keys.get(sealed.key_id)
    if key is None:
        raise UnsealError(f"the secret key {sealed.key_id} is not in the key ring")
    nonce, body = sealed.ciphertext[:NONCE_BYTES], sealed.ciphertext[NONCE_BYTES:]
    try:
        plain = AESGCM(key).decrypt(nonce, body, _associated(at, sealed.key_id))
    except (InvalidTag, ValueError):
        raise UnsealError(
            f"the stored value does not authenticate under key {sealed.key_id}"
        ) from None
    return plain.decode()
