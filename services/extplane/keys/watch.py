"""A key ring that follows its directory: rotation without a restart.

`refresh()` re-reads the directory when any of its files changed (a cheap
listing and stat otherwise), so a rotation done by `rotate` — or a
Kubernetes Secret updated in place — is picked up by a running process. A
directory that no longer loads keeps the last good ring (and says so once).
"""

from __future__ import annotations

import logging

from extplane.keys.ring import KeyRing, KeyRingError, fingerprint

_logger = logging.getLogger(__name__)


class WatchedKeyRing:
    def __init__(self, ring: KeyRing) -> None:
        self.current = ring
        self._seen = fingerprint(ring.directory)

    def refresh(self) -> bool:
        """Reload when the directory changed; True when the ring did."""
        seen = fingerprint(self.current.directory)
        if seen == self._seen:
            return False
        self._seen = seen
        try:
            ring = KeyRing.load(self.current.directory)
        except KeyRingError as error:
            _logger.error("keeping the previous key ring: %s", error)
            return False
        if ring.active.key_id != self.current.active.key_id:
            _logger.warning(
                "key ring %s: the active key is now %s (was %s)",
                ring.directory,
                ring.active.key_id,
                self.current.active.key_id,
            )
        self.current = ring
        return True
