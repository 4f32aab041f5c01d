"""The store interface itself, on both backends: migrations, one transaction for
several requests, group commit, chunked pruning."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import asyncpg
import pytest
from metering_support import NOW, ns

from extplane.metering.config import MeteringSettings
from extplane.metering.event_rows import EventRow
from extplane.metering.recorder import Recorder
from extplane.metering.service import metering_store
from extplane.metering.store import EventFilter, EventsQuery, IngestOutcome, MeteringStore
from extplane.metering.store.schema import COMPONENT

T0 = ns(NOW)


def row(event_id: str | None, *, at: int = T0, namespace: str = "team-a") -> EventRow:
    return (at, namespace, "t", "a", "m", 1, 2, 3, 4, event_id)


@pytest.fixture
async def store(database_url: str, tmp_path: Path) -> AsyncIterator[MeteringStore]:
    opened = metering_store(MeteringSettings(database_url=database_url), tmp_path)
    await opened.open()
    yield opened
    await opened.close()


async def _applied_versions(database_url: str) -> list[int]:
    query = "SELECT version FROM extplane_schema_migrations WHERE component = 'metering'"
    if database_url.startswith("sqlite:"):
        with sqlite3.connect(database_url.removeprefix("sqlite:")) as conn:
            return [r[0] for r in conn.execute(query)]
    conn = await asyncpg.connect(database_url)
    try:
        return [r[0] for r in await conn.fetch(query)]
    finally:
        await conn.close()


async def test_opening_runs_the_migrations_once(
    store: MeteringStore, database_url: str, tmp_path: Path
) -> None:
    again = metering_store(MeteringSettings(database_url=database_url), tmp_path)
    await again.open()
    await again.close()

    assert COMPONENT == "metering"
    assert await _applied_versions(database_url) == [1, 2]


async def test_several_requests_share_one_transaction_with_their_own_outcomes(
    store: MeteringStore,
) -> None:
    await store.ingest([[row("old")]])

    outcomes = await store.ingest(
        [[row("a"), row("b")], [row("a"), row("old"), row("c"), row(None)], [row("d")]]
    )

    assert outcomes == [
        IngestOutcome(accepted=2),
        IngestOutcome(accepted=2, duplicates=2, skipped=frozenset({0, 1})),
        IngestOutcome(accepted=1),
    ]


async def test_expired_rows_are_skipped_and_reported_by_position(store: MeteringStore) -> None:
    await store.raise_horizon(T0)
    await store.raise_horizon(T0 - 1000)  # the horizon only rises

    (outcome,) = await store.ingest(
        [[row("x", at=T0 - 1), row("y"), row("x"), row("y"), row("z", at=1)]]
    )

    # The expired "x" was not stored, so the second "x" is new, not a duplicate.
    assert outcome == IngestOutcome(
        accepted=2, duplicates=1, expired=2, skipped=frozenset({0, 3, 4})
    )


async def test_a_prune_by_one_replica_expires_the_retries_another_receives(
    store: MeteringStore, database_url: str, tmp_path: Path
) -> None:
    """Two stores on one database (replicas, or processes on one SQLite file): what
    one prunes, a retry through the other must not store again (it would count twice)."""
    other = metering_store(MeteringSettings(database_url=database_url), tmp_path)
    await other.open()
    try:
        await store.ingest([[row("e", at=T0 - 10)]])
        assert await other.prune(T0) == 1

        (retried,) = await store.ingest([[row("e", at=T0 - 10)]])
        (fresh,) = await store.ingest([[row("f")]])
    finally:
        await other.close()

    assert retried == IngestOutcome(accepted=0, expired=1, skipped=frozenset({0}))
    assert fresh == IngestOutcome(accepted=1)


async def test_concurrent_records_commit_together(store: MeteringStore) -> None:
    groups: list[int] = []
    ingest = store.ingest

    async def counting(requests: Sequence[Sequence[EventRow]]) -> list[IngestOutcome]:
        groups.append(len(requests))
        return await ingest(requests)

    store.ingest = counting  # type: ignore[method-assign]
    recorder = Recorder(store, max_commit_events=10_000)

    outcomes = await asyncio.gather(*(recorder.record([row(f"r{i}")]) for i in range(50)))
    await recorder.close()

    assert groups == [50]
    assert all(o == IngestOutcome(accepted=1) for o in outcomes)


async def test_a_transaction_holds_at_most_max_commit_events(store: MeteringStore) -> None:
    groups: list[int] = []
    ingest = store.ingest

    async def counting(requests: Sequence[Sequence[EventRow]]) -> list[IngestOutcome]:
        groups.append(sum(len(r) for r in requests))
        return await ingest(requests)

    store.ingest = counting  # type: ignore[method-assign]
    recorder = Recorder(store, max_commit_events=1000)

    await asyncio.gather(
        *(recorder.record([row(f"b{k}-{i}") for i in range(400)]) for k in range(5))
    )
    await recorder.close()

    assert groups == [800, 800, 400]


async def test_a_closed_recorder_still_commits_what_was_queued(store: MeteringStore) -> None:
    recorder = Recorder(store, max_commit_events=10_000)

    pending = [asyncio.ensure_future(recorder.record([row(f"q{i}")])) for i in range(10)]
    await asyncio.sleep(0)
    await recorder.close()

    assert [o.accepted for o in await asyncio.gather(*pending)] == [1] * 10
    stored = await store.list_events(EventsQuery(None, None, EventFilter(), None, 100))
    assert len(stored) == 10


async def test_prune_deletes_in_chunks_until_done(store: MeteringStore) -> None:
    await store.ingest([[row(f"old{i}", at=T0 - 100 + i) for i in range(25)] + [row("new")]])

    deleted = await store.prune(T0, chunk=10)

    remaining = await store.list_events(EventsQuery(None, None, EventFilter(), None, 100))
    assert deleted == 25
    assert [r.event[9] for r in remaining] == ["new"]
