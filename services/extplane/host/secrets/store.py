"""What the secrets need of a store, as rows: ciphertext only, never a value.

`SqliteSecretsStore` (the host's SQLite file) and `PostgresSecretsStore` stand
behind it; they are their own migration component (`host.secrets`) on the
host's database, so the install registry's schema is untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from extplane.host.secrets.sealing import Sealed, SecretAddress


@dataclass(frozen=True, slots=True)
class StoredSecret:
    at: SecretAddress
    sealed: Sealed
    expire_ns: int | None
    updated_ns: int


class SecretsStore(Protocol):
    @property
    def description(self) -> str: ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def put(self, secret: StoredSecret) -> None:
        """Store `secret`, replacing the one at its address."""
        ...

    async def get(self, at: SecretAddress) -> StoredSecret | None: ...

    async def delete(self, at: SecretAddress) -> bool:
        """False when there was no such secret."""
        ...

    async def of_install(self, tenant: str, install_id: str) -> list[StoredSecret]:
        """The install's secrets in key (byte) order."""
        ...

    async def count(self, tenant: str, install_id: str) -> int: ...

    async def key_ids(self) -> dict[str, int]:
        """How many secrets each key id sealed."""
        ...

    async def after(self, at: SecretAddress | None, limit: int) -> list[StoredSecret]:
        """At most `limit` secrets of every install, in address order, after `at`."""
        ...

    async def reseal(self, secret: StoredSecret, sealed: Sealed) -> bool:
        """Replace the ciphertext only if the row still holds `secret.sealed`: a
        value set meanwhile is never overwritten by a stale one. False otherwise."""
        ...
