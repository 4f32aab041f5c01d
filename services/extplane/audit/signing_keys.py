"""The audit log's key ring at start: never a silent new key over signed history.

* The ring directory has keys: every key id the stored checkpoints name must
  be in it, or the service refuses to start (a swapped or lost key would
  otherwise turn the whole signed history into BAD_CHECKPOINTs).
* It has none, but a single key file from before rings exists
  (`signing_key_file`): that key is imported as the ring's active key.
* It has none and the log has checkpoints: refuse, naming the directory.
* It has none and the log has no checkpoint: a fresh log; its first key is
  generated (logged at WARNING with its id, to be recorded out of band).

`AuditKeys` is the running service's view: the ring re-read before each
checkpoint and verification, so `extplane audit rotate-key` (or a Secret
updated in place) takes effect without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from extplane.audit.chain.signing import CheckpointSigner
from extplane.audit.config import AuditSettings
from extplane.audit.store import AuditStore
from extplane.keys import KeyRing, KeyRingError, WatchedKeyRing, has_keys, load_pem_key, rotate
from extplane.keys.ed25519 import SigningKey

_logger = logging.getLogger(__name__)


class AuditKeys:
    def __init__(self, ring: KeyRing) -> None:
        self._watched = WatchedKeyRing(ring)
        self.signer = CheckpointSigner.of_ring(ring)

    @property
    def ring(self) -> KeyRing:
        return self._watched.current

    async def refresh(self) -> CheckpointSigner:
        """The signer of the ring as it is on disk now."""
        if await asyncio.to_thread(self._watched.refresh):
            self.signer = CheckpointSigner.of_ring(self._watched.current)
        return self.signer


async def open_audit_keys(settings: AuditSettings, data_dir: Path, store: AuditStore) -> AuditKeys:
    directory = settings.signing_key_directory(data_dir)
    used = await store.checkpoint_key_ids()
    ring = await asyncio.to_thread(_ring, settings, data_dir, directory, store.description, used)
    missing = sorted(set(used) - ring.keys.keys())
    if missing:
        raise KeyRingError(
            f"the audit log {store.description} has checkpoints signed by key(s) "
            f"{', '.join(missing)}, which {directory} does not hold: restore them (a retired "
            "key may be kept as a public key file)"
        )
    return AuditKeys(ring)


def _ring(
    settings: AuditSettings, data_dir: Path, directory: Path, log: str, used: list[str]
) -> KeyRing:
    if has_keys(directory):
        return KeyRing.load(directory)
    legacy = settings.signing_key_path(data_dir)
    if legacy.exists() or settings.signing_key_file is not None:
        key = _legacy_key(legacy)  # names the file when it is missing
        rotate(directory, key)
        _logger.warning(
            "audit signing key %s imported from %s into %s", key.key_id, legacy, directory
        )
        return KeyRing.load(directory)
    if used:
        raise KeyRingError(
            f"the audit log {log} has signed checkpoints but no signing key is in {directory}: "
            "restore the key directory (a new key would leave every checkpoint unverifiable)"
        )
    key = rotate(directory)
    _logger.warning(
        "audit signing key %s generated in %s for a new log: record this key id",
        key.key_id,
        directory,
    )
    return KeyRing.load(directory)


def _legacy_key(path: Path) -> SigningKey:
    try:
        key = load_pem_key(path.read_bytes())
    except OSError as err:
        raise KeyRingError(
            f"cannot read the audit signing key {path}: {err.strerror or err}"
        ) from err
    except ValueError as err:
        raise KeyRingError(f"{path} is not an Ed25519 PKCS#8 private key: {err}") from err
    if not isinstance(key, SigningKey):
        raise KeyRingError(f"{path} holds only a public key")
    return key


class KeySettingError(KeyRingError):
    """A key file the settings name cannot be used; `setting` says which."""

    def __init__(self, setting: str, problem: KeyRingError) -> None:
        super().__init__(str(problem))
        self.setting = setting


def check_key_files(settings: AuditSettings, data_dir: Path) -> None:
    """Read the keys start-up would use, creating nothing (`extplane config check`)."""
    directory = settings.signing_key_directory(data_dir)
    if has_keys(directory):
        try:
            KeyRing.load(directory)
        except KeyRingError as error:
            raise KeySettingError("audit.signing_key_dir", error) from None
        return
    legacy = settings.signing_key_path(data_dir)
    if settings.signing_key_file is not None or legacy.exists():
        try:
            _legacy_key(legacy)
        except KeyRingError as error:
            raise KeySettingError("audit.signing_key_file", error) from None
