"""The checkpoint signing key: Ed25519, a PKCS#8 PEM file, created on first start.

Replicas sharing a database must share the key (mount the same file), or a
verifier trusting one key would refuse the others' checkpoints. Two processes
starting together on one data directory still end up with one key: each
writes a candidate beside the path and links it into place, and the one that
loses the race reads the winner's.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from extplane.audit.chain.canonical import checkpoint_payload
from extplane.audit.chain.records import Checkpoint
from extplane.errors import StartupError
from extplane.storage import write_private_file_once

ALGORITHM = "Ed25519"
_logger = logging.getLogger(__name__)


class SigningKeyError(StartupError):
    """The configured key file cannot be used."""


def key_id(public_key: Ed25519PublicKey) -> str:
    """Lower-case hex SHA-256 of the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


class CheckpointKey:
    """Verifies checkpoints against one public key."""

    def __init__(self, public_key: Ed25519PublicKey) -> None:
        self.public_key = public_key
        self.key_id = key_id(public_key)
        self.public_key_pem = public_key_pem(public_key)

    def problem(self, checkpoint: Checkpoint) -> str | None:
        """Why `checkpoint`'s signature does not verify, or None when it does."""
        if checkpoint.key_id != self.key_id:
            return f"signed by key {checkpoint.key_id}, not by the log's key {self.key_id}"
        payload = checkpoint_payload(
            checkpoint.sequence, checkpoint.hash, checkpoint.create_time_ns
        )
        try:
            self.public_key.verify(checkpoint.signature, payload)
        except InvalidSignature:
            return "the signature does not verify"
        return None


class CheckpointSigner(CheckpointKey):
    """Signs checkpoints with the private key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        super().__init__(private_key.public_key())
        self._private_key = private_key

    def sign(self, sequence: int, record_hash: bytes, create_time_ns: int) -> Checkpoint:
        payload = checkpoint_payload(sequence, record_hash, create_time_ns)
        signature = self._private_key.sign(payload)
        return Checkpoint(sequence, record_hash, create_time_ns, self.key_id, signature)


def signature_text(signature: bytes) -> str:
    return base64.b64encode(signature).decode("ascii")


def load_or_create_signer(path: Path) -> CheckpointSigner:
    """The signer of the key at `path`, generating the key file first when absent."""
    if not path.exists():
        _create_key_file(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SigningKeyError(f"cannot read the audit signing key {path}: {err}") from err
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise SigningKeyError(
            f"{path} is not an unencrypted PKCS#8 PEM private key: {err}"
        ) from err
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        _logger.warning(
            "audit signing key %s is readable by others (mode %o); chmod 600 it",
            path,
            stat.S_IMODE(mode),
        )
    return CheckpointSigner(key)


def _create_key_file(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # A concurrent creator's key wins; ours is then never used.
    if write_private_file_once(path, pem):
        _logger.info("audit signing key at %s", path)
