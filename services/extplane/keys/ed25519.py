"""One Ed25519 key: its id, its public forms (PEM, JWK), signing and verifying.

A key id is the lower-case hex SHA-256 of the raw 32-byte public key: anyone
holding the public key in any form can compute it, and it is what the audit
log's checkpoints have always named. A JWK carries it as `kid`.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"
JWS_ALGORITHM = "EdDSA"  # RFC 8037


def key_id(public_key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public_bytes(public_key)).hexdigest()


def raw_public_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class VerificationKey:
    """A public key that verifies signatures, named by its key id."""

    def __init__(self, public_key: Ed25519PublicKey) -> None:
        self.public_key = public_key
        self.key_id = key_id(public_key)

    @classmethod
    def from_pem(cls, data: bytes) -> VerificationKey:
        """From a SubjectPublicKeyInfo PEM; ValueError when it is not an Ed25519 one."""
        key = serialization.load_pem_public_key(data)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"a {type(key).__name__}, not an Ed25519 public key")
        return cls(key)

    @property
    def public_key_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def jwk(self) -> dict[str, Any]:
        """The public key as an RFC 8037 JWK."""
        return {
            "kty": "OKP",
            "crv": ALGORITHM,
            "x": _b64url(raw_public_bytes(self.public_key)),
            "kid": self.key_id,
            "alg": JWS_ALGORITHM,
            "use": "sig",
        }

    def verifies(self, signature: bytes, payload: bytes) -> bool:
        try:
            self.public_key.verify(signature, payload)
        except InvalidSignature:
            return False
        return True


class SigningKey(VerificationKey):
    """A private key; its public half verifies what it signs."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        super().__init__(private_key.public_key())
        self._private_key = private_key

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    def sign(self, payload: bytes) -> bytes:
        return self._private_key.sign(payload)

    def private_pem(self) -> bytes:
        return self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def load_pem_key(data: bytes) -> VerificationKey:
    """A PKCS#8 private key (a SigningKey) or a public key PEM; ValueError otherwise."""
    if b"PRIVATE KEY" in data:
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except TypeError as err:  # encrypted
            raise ValueError(str(err)) from err
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError(f"a {type(private).__name__}, not an Ed25519 private key")
        return SigningKey(private)
    return VerificationKey.from_pem(data)
