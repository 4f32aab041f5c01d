"""The store interface of the install registry, and the queries it answers.

Two implementations stand behind it: `SqliteInstallStore` (the default, a
file in the data directory) and `PostgresInstallStore` (replicas may share
one database). Both keep one table keyed by (tenant, install_id) and change
a row only at the revision the caller read, so two concurrent changes never
both win; `tests/host` runs the same tests against both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

from extplane.host.installs.model import Install
from extplane.host.storage.store import StorageStore


@dataclass(frozen=True, slots=True)
class InstallsQuery:
    """A page of installs in registration order, after the one at `after_seq`; an
    empty filter matches any, `enabled` None matches both states."""

    tenant: str = ""
    extension_id: str = ""
    enabled: bool | None = None
    after_seq: int | None = None
    limit: int = 100


class ListedInstall(NamedTuple):
    """An install and its place in registration order (what a page token holds)."""

    seq: int
    install: Install


class InstallStore(StorageStore, Protocol):
    """The host service's store: the installs, and the storage provider's entries."""

    @property
    def description(self) -> str:
        """Where the installs are, for logs (never a password)."""
        ...

    async def open(self) -> None:
        """Connect and bring the schema to this code's version."""
        ...

    async def close(self) -> None:
        """Safe without `open()` and safe twice."""
        ...

    async def insert(self, install: Install) -> bool:
        """Store a new install; False (and nothing changed) when its tenant already
        has one with that id."""
        ...

    async def get(self, tenant: str, install_id: str) -> Install | None: ...

    async def replace(self, install: Install, *, expected_revision: int) -> bool:
        """Store `install` over the stored one only if that is still at
        `expected_revision`; False (and nothing changed) otherwise or when missing."""
        ...

    async def list(self, query: InstallsQuery) -> list[ListedInstall]: ...
