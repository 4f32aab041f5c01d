"""A key ring on disk: one active signing key and any number of retired ones.

The directory holds one PEM file per key, named `<key id>.pem` — a PKCS#8
private key, or a public key only for a retired key whose private half was
destroyed — and a file `active` holding the active key's id (with a single
private key and no `active` file, that key is active). Every file is 0600,
the directory 0700. Rotation writes the new key's file first and then
replaces `active` atomically, so a reader at any moment sees a whole ring:
the old one or the new one. The same layout works as a Kubernetes Secret
mounted read-only (each file one key of the Secret).

`KeyRing.load` reads it; `rotate` adds a key and makes it active; the
retired keys stay, verifying what they signed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extplane.errors import StartupError
from extplane.keys.ed25519 import SigningKey, VerificationKey, load_pem_key
from extplane.storage import replace_private_file, write_private_file_once

ACTIVE_FILE = "active"
KEY_SUFFIX = ".pem"


class KeyRingError(StartupError):
    """The key directory cannot be used; the message names the file."""


@dataclass(frozen=True)
class KeyRing:
    directory: Path
    active: SigningKey
    keys: Mapping[str, VerificationKey]  # by key id, the active one included

    def get(self, key_id: str) -> VerificationKey | None:
        return self.keys.get(key_id)

    def __iter__(self) -> Iterator[VerificationKey]:
        """Every key, the active one first, then by key id."""
        yield self.active
        yield from (key for kid, key in sorted(self.keys.items()) if kid != self.active.key_id)

    def jwks(self) -> dict[str, Any]:
        """The public keys as an RFC 7517 JWK set."""
        return {"keys": [key.jwk() for key in self]}

    @classmethod
    def load(cls, directory: Path) -> KeyRing:
        keys = _read_keys(directory)
        if not keys:
            raise KeyRingError(f"no keys in {directory}")
        return cls(directory, _active(directory, keys), keys)


def has_keys(directory: Path) -> bool:
    return directory.is_dir() and any(_key_files(directory))


def rotate(directory: Path, new: SigningKey | None = None) -> SigningKey:
    """Add `new` (default: a fresh key) to the ring and make it active."""
    key = new or SigningKey.generate()
    write_private_file_once(directory / f"{key.key_id}{KEY_SUFFIX}", key.private_pem())
    replace_private_file(directory / ACTIVE_FILE, f"{key.key_id}\n".encode())
    return key


def fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Changes whenever a file of the ring does (name, mtime, size): cheap to poll."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return ()
    found = []
    for name in names:
        try:
            status = (directory / name).stat()
        except OSError:
            continue
        found.append((name, status.st_mtime_ns, status.st_size))
    return tuple(found)


def _key_files(directory: Path) -> Iterator[Path]:
    return (
        path
        for path in directory.iterdir()
        if path.name.endswith(KEY_SUFFIX) and not path.name.startswith(".") and path.is_file()
    )


def _read_keys(directory: Path) -> dict[str, VerificationKey]:
    if not directory.is_dir():
        return {}
    keys: dict[str, VerificationKey] = {}
    for path in sorted(_key_files(directory)):
        try:
            key = load_pem_key(path.read_bytes())
        except OSError as err:
            raise KeyRingError(f"cannot read the key {path}: {err.strerror or err}") from err
        except ValueError as err:
            raise KeyRingError(f"{path} is not an Ed25519 PEM key: {err}") from err
        if path.name != f"{key.key_id}{KEY_SUFFIX}":
            raise KeyRingError(f"{path} holds key {key.key_id}: name it {key.key_id}{KEY_SUFFIX}")
        keys[key.key_id] = key
    return keys


def _active(directory: Path, keys: Mapping[str, VerificationKey]) -> SigningKey:
    path = directory / ACTIVE_FILE
    try:
        named = path.read_text().strip()
    except FileNotFoundError:
        signers = [key for key in keys.values() if isinstance(key, SigningKey)]
        if len(signers) == 1:
            return signers[0]
        raise KeyRingError(
            f"{len(signers)} private keys in {directory} and no {ACTIVE_FILE} file naming "
            "the one to sign with"
        ) from None
    except OSError as err:
        raise KeyRingError(f"cannot read {path}: {err.strerror or err}") from err
    key = keys.get(named)
    if key is None:
        raise KeyRingError(f"{path} names key {named!r}, which is not in {directory}")
    if not isinstance(key, SigningKey):
        raise KeyRingError(f"{path} names key {named}, but only its public key is in {directory}")
    return key
