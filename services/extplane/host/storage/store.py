"""What the storage provider asks of the host store, and the one decision every
write makes, shared by both backends so they cannot disagree.

A write runs in one transaction holding the install's usage row: it reads the
stored revision and size, the namespace's key count and the install's byte
total, lets `decide_put` rule, then writes. Holding the row serializes one
install's writes, so a compare-and-set and a quota check see what the write
replaces, never a stale read.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple, Protocol


class Address(NamedTuple):
    """Where an entry lives: the install (from its token) and the request's names."""

    tenant: str
    install_id: str
    namespace: str
    key: str


@dataclass(frozen=True, slots=True)
class Entry:
    namespace: str
    key: str
    value: bytes
    revision: int


@dataclass(frozen=True, slots=True)
class Quota:
    """The install's storage limits a write must stay within."""

    keys_per_namespace: int
    install_bytes: int


class Refusal(enum.Enum):
    CONFLICT = "conflict"
    TOO_MANY_KEYS = "too_many_keys"
    TOO_MANY_BYTES = "too_many_bytes"


class Stored(NamedTuple):
    revision: int
    size: int


def decide_put(
    stored: Stored | None,
    expected_revision: int | None,
    *,
    new_size: int,
    namespace_keys: int,
    install_bytes: int,
    quota: Quota,
) -> Refusal | int:
    """The new revision of the entry, or why the put is refused.

    A revision is expected only of a stored entry: expecting one of a missing
    key is a conflict too (the caller read something that is gone).
    """
    if expected_revision is not None and (stored is None or stored.revision != expected_revision):
        return Refusal.CONFLICT
    if stored is None and namespace_keys >= quota.keys_per_namespace:
        return Refusal.TOO_MANY_KEYS
    old_size = 0 if stored is None else stored.size
    if install_bytes - old_size + new_size > quota.install_bytes:
        return Refusal.TOO_MANY_BYTES
    return 1 if stored is None else stored.revision + 1


class StorageStore(Protocol):
    async def get_entry(self, at: Address) -> Entry | None: ...

    async def put_entry(
        self, at: Address, value: bytes, expected_revision: int | None, quota: Quota
    ) -> Entry | Refusal:
        """Write in one transaction (module docstring); the entry as stored."""
        ...

    async def delete_entry(self, at: Address) -> bool:
        """False when there was no such entry."""
        ...

    async def list_entries(
        self, tenant: str, install_id: str, namespace: str, after: str | None, limit: int
    ) -> list[Entry]:
        """At most `limit` entries of the namespace in key (byte) order, keys after `after`."""
        ...
