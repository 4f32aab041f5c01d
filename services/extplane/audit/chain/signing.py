"""Signing and checking checkpoints with the keys of a key ring (extplane.keys).

A checkpoint names the id of the key that signed it; it verifies when that
key is one of the trusted ones and the signature is good. The service trusts
its ring (the active key and the retired ones); a verifier that does not
trust the service pins its own set (`CheckpointKeys` of the keys it holds).
Replicas sharing a database must share the ring (mount the same directory).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Protocol

from extplane.audit.chain.canonical import checkpoint_payload
from extplane.audit.chain.records import Checkpoint
from extplane.keys import ALGORITHM, KeyRing, SigningKey, VerificationKey

__all__ = [
    "ALGORITHM",
    "CheckpointKeys",
    "CheckpointSigner",
    "CheckpointVerifier",
    "signature_text",
]


class CheckpointVerifier(Protocol):
    def problem(self, checkpoint: Checkpoint) -> str | None:
        """Why `checkpoint`'s signature does not verify, or None when it does."""
        ...


class CheckpointKeys:
    """Verifies checkpoints against a set of trusted keys, by key id."""

    def __init__(self, keys: Iterable[VerificationKey]) -> None:
        self.keys = {key.key_id: key for key in keys}

    def problem(self, checkpoint: Checkpoint) -> str | None:
        key = self.keys.get(checkpoint.key_id)
        if key is None:
            trusted = ", ".join(sorted(self.keys)) or "none"
            return f"signed by key {checkpoint.key_id}, which is not a trusted key ({trusted})"
        payload = checkpoint_payload(
            checkpoint.sequence, checkpoint.hash, checkpoint.create_time_ns
        )
        if not key.verifies(checkpoint.signature, payload):
            return f"the signature does not verify under key {checkpoint.key_id}"
        return None


class CheckpointSigner(CheckpointKeys):
    """Signs with the active key; verifies with it and the retired ones."""

    def __init__(self, active: SigningKey, retired: Iterable[VerificationKey] = ()) -> None:
        super().__init__([active, *retired])
        self.active = active
        self.key_id = active.key_id

    @classmethod
    def of_ring(cls, ring: KeyRing) -> CheckpointSigner:
        return cls(ring.active, ring.keys.values())

    def sign(self, sequence: int, record_hash: bytes, create_time_ns: int) -> Checkpoint:
        payload = checkpoint_payload(sequence, record_hash, create_time_ns)
        signature = self.active.sign(payload)
        return Checkpoint(sequence, record_hash, create_time_ns, self.key_id, signature)


def signature_text(signature: bytes) -> str:
    return base64.b64encode(signature).decode("ascii")
