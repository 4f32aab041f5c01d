"""Verified install tokens by digest, until they expire: a bounded LRU.

A repeated token (an extension makes many host calls per execution) then
costs a SHA-256 and a dict lookup instead of an Ed25519 signature check. The
digest is the key so the cache does not keep the tokens themselves.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from extplane.host.claims import InstallClaims

DEFAULT_CACHE_SIZE = 10_000


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class VerifiedTokenCache:
    def __init__(self, max_entries: int = DEFAULT_CACHE_SIZE) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must be 0 (no cache) or more")
        self._max = max_entries
        # digest -> (claims, the moment it stops being valid, in epoch seconds)
        self._entries: OrderedDict[bytes, tuple[InstallClaims, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: bytes, now: float) -> InstallClaims | None:
        found = self._entries.get(digest)
        if found is None:
            return None
        claims, valid_until = found
        if now >= valid_until:
            del self._entries[digest]
            return None
        self._entries.move_to_end(digest)
        return claims

    def put(self, digest: bytes, claims: InstallClaims, valid_until: float) -> None:
        if self._max == 0:
            return
        self._entries[digest] = (claims, valid_until)
        self._entries.move_to_end(digest)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
