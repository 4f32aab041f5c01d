"""Fixtures every test area may use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pg import create_schema, drop_schema
from tests.tls_certs import Pki


@pytest.fixture
def postgres_dsn() -> Iterator[str]:
    """A DSN on a fresh, empty schema of the real PostgreSQL; dropped afterwards."""
    dsn = create_schema()
    yield dsn
    drop_schema(dsn)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A test CA with server and client certificates on disk (tests/tls_certs.py)."""
    return Pki.create(tmp_path_factory.mktemp("pki"))
