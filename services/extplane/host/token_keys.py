"""The key ring install tokens are signed with, and the verifier following it.

A missing or empty directory gets a fresh key at start: nothing signed
earlier needs it, and tokens live minutes (`MAX_TTL_S` at most), so a key
lost with the data dir costs at most the tokens in flight. The ring is
re-read while serving (`TokenKeys.refresh`), so `extplane keys rotate`-style
rotations or a Kubernetes Secret updated in place need no restart.
"""

from __future__ import annotations

import logging
from pathlib import Path

from extplane.host.verifier import InstallTokenVerifier
from extplane.keys import KeyRing, WatchedKeyRing, has_keys, rotate

KEY_DIR = "install-token-keys"

_logger = logging.getLogger(__name__)


def key_dir(configured: Path | None, data_dir: Path) -> Path:
    return configured if configured is not None else data_dir / KEY_DIR


def open_ring(directory: Path) -> KeyRing:
    """The ring in `directory`, given its first key when it has none."""
    if not has_keys(directory):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = rotate(directory)
        _logger.info("install token key ring %s: created its first key %s", directory, key.key_id)
    return KeyRing.load(directory)


class TokenKeys:
    """The signing ring as it is now, and a verifier kept on the same keys."""

    def __init__(self, ring: KeyRing, verifier: InstallTokenVerifier) -> None:
        self._watched = WatchedKeyRing(ring)
        self.verifier = verifier
        verifier.set_keys(ring)

    @property
    def ring(self) -> KeyRing:
        return self._watched.current

    def refresh(self) -> bool:
        """Follow a rotation (or a retired key removed); True when the keys changed."""
        if not self._watched.refresh():
            return False
        self.verifier.set_keys(self._watched.current)
        return True
