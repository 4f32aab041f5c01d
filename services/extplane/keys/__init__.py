"""Signing keys that rotate: Ed25519 keys with ids, one active signer, retired
verifiers, on disk as private files (ring.py), exported as PEM or JWK/JWKS.

The audit log signs its checkpoints with a ring; install tokens (EdDSA JWTs)
are meant to use one too.
"""

from extplane.keys.ed25519 import (
    ALGORITHM,
    JWS_ALGORITHM,
    SigningKey,
    VerificationKey,
    key_id,
    load_pem_key,
)
from extplane.keys.ring import KeyRing, KeyRingError, fingerprint, has_keys, rotate
from extplane.keys.watch import WatchedKeyRing

__all__ = [
    "ALGORITHM",
    "JWS_ALGORITHM",
    "KeyRing",
    "KeyRingError",
    "SigningKey",
    "VerificationKey",
    "WatchedKeyRing",
    "fingerprint",
    "has_keys",
    "key_id",
    "load_pem_key",
    "rotate",
]
