"""resolve_store: one URL setting names SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from extplane.storage import resolve_store


def test_unset_means_a_file_in_the_data_dir() -> None:
    location = resolve_store(None, Path("data"), "metering.db")
    assert (location.dialect, location.sqlite_path) == ("sqlite", Path("data/metering.db"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:usage.db", Path("data/usage.db")),
        ("sqlite://usage.db", Path("data/usage.db")),
        ("sqlite:///var/lib/x.db", Path("/var/lib/x.db")),
    ],
)
def test_sqlite_urls(url: str, expected: Path) -> None:
    assert resolve_store(url, Path("data"), "m.db").sqlite_path == expected


def test_postgres_dsn_is_kept_and_described_without_password() -> None:
    dsn = "postgresql://svc:s3cret@127.0.0.1:5432/extplane?search_path=x"
    location = resolve_store(dsn, Path("data"), "m.db")
    assert location.dialect == "postgres"
    assert location.postgres_dsn == dsn
    assert "s3cret" not in location.describe()
    assert location.describe() == "postgresql://svc@127.0.0.1:5432/extplane"


@pytest.mark.parametrize("url", ["mysql://x", "sqlite:", "/tmp/x.db"])
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="database_url"):
        resolve_store(url, Path("data"), "m.db")
