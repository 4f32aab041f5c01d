"""The key ring secrets are encrypted with: a directory of 256-bit AEAD keys.

One file per key, `<key id>.key`, holding the key in base64; a file `active`
names the key new values are encrypted with (rotation writes it last, so a
reader sees the old ring or the new one). Older keys stay to decrypt what they
sealed until `extplane secrets rewrap` has moved every value to the active
key; then their files may be removed. The key id is derived from the key, so a
file renamed by hand is caught. Files are 0600 and the directory 0700, as the
token key ring's; the layout works as a mounted Kubernetes Secret too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from extplane.errors import StartupError
from extplane.keys import fingerprint
from extplane.storage import replace_private_file, write_private_file_once

KEY_DIR = "secret-keys"
KEY_SUFFIX = ".key"
ACTIVE_FILE = "active"
KEY_BYTES = 32
# At most this many seconds pass before a running host sees a changed key file.
RECHECK_S = 1.0

_logger = logging.getLogger(__name__)


class SecretKeyError(StartupError):
    """The secret key directory cannot be used; the message names the file, never a key."""


def key_id(key: bytes) -> str:
    return "sk-" + hashlib.sha256(b"extplane secret key id\x00" + key).hexdigest()[:16]


@dataclass(frozen=True)
class SecretKeyRing:
    directory: Path
    active_id: str
    keys: Mapping[str, bytes]  # by key id, the active one included

    @property
    def active(self) -> bytes:
        return self.keys[self.active_id]

    @classmethod
    def load(cls, directory: Path) -> SecretKeyRing:
        keys = _read_keys(directory)
        if not keys:
            raise SecretKeyError(f"no secret keys in {directory}")
        return cls(directory, _active(directory, keys), keys)


def key_directory(configured: Path | None, data_dir: Path) -> Path:
    return configured if configured is not None else data_dir / KEY_DIR


def has_keys(directory: Path) -> bool:
    return directory.is_dir() and any(_key_files(directory))


def rotate(directory: Path) -> str:
    """Add a fresh key and make it active; its id."""
    key = os.urandom(KEY_BYTES)
    kid = key_id(key)
    write_private_file_once(directory / f"{kid}{KEY_SUFFIX}", base64.b64encode(key) + b"\n")
    replace_private_file(directory / ACTIVE_FILE, f"{kid}\n".encode())
    return kid


def open_ring(directory: Path) -> SecretKeyRing:
    """The ring in `directory`, given its first key when it has none."""
    if not has_keys(directory):
        try:
            kid = rotate(directory)
        except OSError as err:
            raise SecretKeyError(
                f"{directory} holds no secret key and cannot be given one: {err.strerror or err}"
            ) from err
        _logger.info("secret key ring %s: created its first key %s", directory, kid)
    return SecretKeyRing.load(directory)


class WatchedSecretKeys:
    """The ring as the directory holds it, so a `rotate-key` takes effect on a
    running host without a restart.

    Listing and stat()ing the directory on every read would cost each
    `SecretsService.Get` a system call per file, so `ring` looks at most once
    per `RECHECK_S` of `clock` (monotonic seconds): a key file added, removed
    or changed is in `ring` within RECHECK_S. `latest()` looks now; it is for
    sealing (a new value goes under the active key as the directory names it)
    and for a value whose key `ring` lacks (sealed by a replica that rotated).
    """

    def __init__(self, directory: Path, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.directory = directory
        self._clock = clock
        self._seen = fingerprint(directory)
        self._looked_at = clock()
        self._ring = SecretKeyRing.load(directory)

    @property
    def ring(self) -> SecretKeyRing:
        if self._clock() - self._looked_at < RECHECK_S:
            return self._ring
        return self.latest()

    def latest(self) -> SecretKeyRing:
        self._looked_at = self._clock()
        now = fingerprint(self.directory)
        if now != self._seen:
            try:
                self._ring = SecretKeyRing.load(self.directory)
            except SecretKeyError:
                # Mid-edit by hand: keep the last whole ring, look again next time.
                _logger.exception(
                    "secret key ring %s unreadable; keeping the last one", self.directory
                )
                return self._ring
            self._seen = now
        return self._ring


def _key_files(directory: Path) -> list[Path]:
    return sorted(
        path
        for path in directory.iterdir()
        if path.name.endswith(KEY_SUFFIX) and not path.name.startswith(".") and path.is_file()
    )


def _read_keys(directory: Path) -> dict[str, bytes]:
    if not directory.is_dir():
        return {}
    keys: dict[str, bytes] = {}
    for path in _key_files(directory):
        try:
            key = base64.b64decode(path.read_bytes().strip(), validate=True)
        except OSError as err:
            raise SecretKeyError(
                f"cannot read the secret key {path}: {err.strerror or err}"
            ) from err
        except binascii.Error:
            raise SecretKeyError(f"{path} is not a base64 key") from None
        if len(key) != KEY_BYTES:
            raise SecretKeyError(f"{path} holds {len(key)} bytes, not a {KEY_BYTES}-byte key")
        kid = key_id(key)
        if path.name != f"{kid}{KEY_SUFFIX}":
            raise SecretKeyError(f"{path} holds key {kid}: name it {kid}{KEY_SUFFIX}")
        keys[kid] = key
    return keys


def _active(directory: Path, keys: Mapping[str, bytes]) -> str:
    path = directory / ACTIVE_FILE
    try:
        named = path.read_text().strip()
    except FileNotFoundError:
        if len(keys) == 1:
            return next(iter(keys))
        raise SecretKeyError(
            f"{len(keys)} secret keys in {directory} and no {ACTIVE_FILE} file naming "
            "the one to encrypt with"
        ) from None
    except OSError as err:
        raise SecretKeyError(f"cannot read {path}: {err.strerror or err}") from err
    if named not in keys:
        raise SecretKeyError(f"{path} names key {named!r}, which is not in {directory}")
    return named
