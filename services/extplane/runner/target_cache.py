"""A brief memory of installs and their versions, so an execution does not ask the
host's registries twice (GetInstall, GetExtensionVersion) before it runs.

Why this is safe: the runner still asks the host for a fresh install token on
every execution, and the host mints it from the install as stored at that
moment — refused for a disabled or removed install, carrying the current
grants, extension and version. The pipeline compares the token's extension and
version with the remembered ones (`token_names`) and looks the install up
again when they differ, so an install change takes effect at the next
execution. What the memory can hold on to for up to `ttl_s`: a version's
record (its limits and handler), which uploads never change.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
DEFAULT_TTL_S = 2.0
DEFAULT_CAPACITY = 4096


class TargetCache(Generic[T]):
    """(tenant, install id) -> value for `ttl_s`, at most `capacity` entries
    (the least recently stored go first)."""

    def __init__(
        self,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        capacity: int = DEFAULT_CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_s < 0:
            raise ValueError("ttl_s must be >= 0")
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self._ttl_s = ttl_s
        self._capacity = capacity
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], tuple[float, T]] = OrderedDict()

    def get(self, tenant: str, install_id: str) -> T | None:
        key = (tenant, install_id)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._clock() >= entry[0]:
            del self._entries[key]
            return None
        return entry[1]

    def put(self, tenant: str, install_id: str, value: T) -> None:
        if self._ttl_s == 0:
            return
        key = (tenant, install_id)
        self._entries.pop(key, None)
        self._entries[key] = (self._clock() + self._ttl_s, value)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def forget(self, tenant: str, install_id: str) -> None:
        self._entries.pop((tenant, install_id), None)

    def __len__(self) -> int:
        return len(self._entries)


def token_names(token: str) -> tuple[str, str] | None:
    """(extension, version) an install token was minted for ("" for no version);
    None if it is not a token naming an extension.

    Read without verifying: the token comes straight from the host over the
    runner's own channel, and the host providers verify it where it counts.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    body = parts[1]
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(payload, dict):
        return None
    extension, version = payload.get("extension"), payload.get("version", "")
    if not isinstance(extension, str) or not isinstance(version, str):
        return None
    return extension, version
