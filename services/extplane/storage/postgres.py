"""The asyncpg pool every PostgreSQL store uses."""

from __future__ import annotations

import asyncpg


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool on `dsn`. Extra DSN query parameters become server settings, so
    `?search_path=tenant_a` selects a schema."""
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
    if pool is None:  # only when the pool is created in a non-awaited form
        raise RuntimeError("asyncpg returned no pool")
    return pool
