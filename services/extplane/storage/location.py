"""Where a service's store lives, from one URL setting, and the store it opens.

`database_url` unset: an SQLite file in the data directory; `sqlite:PATH`
(relative paths are under the data directory, `sqlite:///abs.db` is
absolute); `postgresql://…` (or `postgres://…`) is an asyncpg DSN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

S = TypeVar("S")


@dataclass(frozen=True)
class StoreLocation:
    dialect: Literal["sqlite", "postgres"]
    sqlite_path: Path | None = None
    postgres_dsn: str | None = None

    def describe(self) -> str:
        """For logs: the DSN's password never appears."""
        if self.dialect == "sqlite":
            return f"sqlite:{self.sqlite_path}"
        assert self.postgres_dsn is not None
        return describe_dsn(self.postgres_dsn)


def describe_dsn(dsn: str) -> str:
    """A PostgreSQL DSN without its password or query, for logs."""
    parts = urlsplit(dsn)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def check_database_url(url: str | None) -> str | None:
    """`url` when it names a store; raises ValueError saying what is wrong."""
    if url is None or url == "" or url.startswith(("postgresql://", "postgres://")):
        return url
    if url.startswith("sqlite:"):
        if not url.removeprefix("sqlite:").removeprefix("//"):
            raise ValueError(f"database_url {url!r} names no file (e.g. sqlite:metering.db)")
        return url
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise ValueError(f"database_url must start with sqlite: or postgresql://, got {scheme[:40]!r}")


def resolve_store(url: str | None, data_dir: Path, default_file: str) -> StoreLocation:
    """The location `url` names; `default_file` in `data_dir` when it names none."""
    check_database_url(url)
    if not url:
        return StoreLocation("sqlite", sqlite_path=data_dir / default_file)
    if url.startswith("sqlite:"):
        path = Path(url.removeprefix("sqlite:").removeprefix("//"))
        return StoreLocation("sqlite", sqlite_path=path if path.is_absolute() else data_dir / path)
    return StoreLocation("postgres", postgres_dsn=url)


def open_store(
    url: str | None,
    data_dir: Path,
    default_file: str,
    *,
    sqlite: Callable[[Path], S],
    postgres: Callable[[str], S],
) -> S:
    """The one store factory: the `sqlite` or `postgres` store `url` names (not yet opened)."""
    location = resolve_store(url, data_dir, default_file)
    if location.sqlite_path is not None:
        return sqlite(location.sqlite_path)
    assert location.postgres_dsn is not None
    return postgres(location.postgres_dsn)
