"""What the extension registry asks of a store.

`SqliteExtensionStore` (the host's SQLite file) and `PostgresExtensionStore`
(replicas share it) keep two tables on the host's database: the versions,
and the component bytes by sha256, each stored once however many versions
name it, so every replica reads the same bytes. Nothing is ever deleted: a
version, once stored, is what every later read answers. `tests/host` runs
the same tests on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

from extplane.host.extensions.model import ComponentRef, ExtensionVersion


@dataclass(frozen=True, slots=True)
class VersionsQuery:
    """A page of versions in upload order after the one at `after_seq`;
    `extension_id` empty matches every extension."""

    extension_id: str = ""
    after_seq: int | None = None
    limit: int = 100


class ListedVersion(NamedTuple):
    """A version and its place in upload order (what a page token holds)."""

    seq: int
    version: ExtensionVersion


class ExtensionStore(Protocol):
    @property
    def description(self) -> str: ...

    async def open(self) -> None:
        """Connect and bring the schema to this code's version."""
        ...

    async def close(self) -> None:
        """Safe without `open()` and safe twice."""
        ...

    async def insert(
        self, version: ExtensionVersion, content: bytes | None
    ) -> ExtensionVersion | None:
        """Store `version`, and `content` (when given) as its component's bytes
        unless they are stored already; one transaction. None when stored; the
        version already stored under its (extension, version) otherwise, and
        nothing changed."""
        ...

    async def get(self, extension_id: str, version: str) -> ExtensionVersion | None: ...

    async def list(self, query: VersionsQuery) -> list[ListedVersion]: ...

    async def component_ref(self, sha256: str) -> ComponentRef | None:
        """The stored component's description, without its bytes."""
        ...

    async def component_content(self, sha256: str) -> bytes | None:
        """The component's bytes."""
        ...

    async def has_versions(self, extension_id: str) -> bool:
        """Whether any version of the extension is stored."""
        ...
