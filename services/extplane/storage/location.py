"""Where a service's store lives, from one URL setting."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit


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
        parts = urlsplit(self.postgres_dsn)
        netloc = parts.hostname or ""
        if parts.port:
            netloc = f"{netloc}:{parts.port}"
        if parts.username:
            netloc = f"{parts.username}@{netloc}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def resolve_store(url: str | None, data_dir: Path, default_file: str) -> StoreLocation:
    """`None` → `data_dir/default_file`; `sqlite:PATH` (relative paths are under
    `data_dir`, `sqlite:///abs.db` is absolute); `postgresql://…` is a DSN."""
    if url is None or url == "":
        return StoreLocation("sqlite", sqlite_path=data_dir / default_file)
    if url.startswith(("postgresql://", "postgres://")):
        return StoreLocation("postgres", postgres_dsn=url)
    if url.startswith("sqlite:"):
        rest = url.removeprefix("sqlite:")
        if rest.startswith("//"):
            rest = rest[2:]
        if not rest:
            raise ValueError(f"database_url {url!r} names no file")
        path = Path(rest)
        return StoreLocation("sqlite", sqlite_path=path if path.is_absolute() else data_dir / path)
    raise ValueError(
        f"database_url must start with sqlite: or postgresql://, got {url.split(':', 1)[0]!r}"
    )
