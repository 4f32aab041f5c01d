"""Fixtures every test area may use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pg import create_schema, drop_schema


@pytest.fixture
def postgres_dsn() -> Iterator[str]:
    """A DSN on a fresh, empty schema of the real PostgreSQL; dropped afterwards."""
    dsn = create_schema()
    yield dsn
    drop_schema(dsn)
