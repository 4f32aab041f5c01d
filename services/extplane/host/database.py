"""The host's one database: every store of the host (installs, secrets,
catalogs) lives in it, each with its own migration component."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from extplane.storage import open_store

DATABASE_FILE = "host.db"

S = TypeVar("S")


@dataclass(frozen=True)
class HostStore(Generic[S]):
    """A kind of store on the host's database, by its constructor per backend.

    Declare it with its protocol, `HostStore[SecretsStore](...)`: the two
    constructors alone name two unrelated classes."""

    sqlite: Callable[[Path], S]
    postgres: Callable[[str], S]

    def at(self, database_url: str | None, data_dir: Path) -> S:
        """The store on the database `database_url` names (unset: `host.db` in
        the data dir); not yet opened."""
        return open_store(
            database_url, data_dir, DATABASE_FILE, sqlite=self.sqlite, postgres=self.postgres
        )
