"""Ingest over a real channel, on both stores: acknowledgements, idempotency by
event_id (retries, concurrent duplicates, within a batch), all-or-nothing
batches, and the acknowledgement waiting for the commit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import grpc
import pytest
from metering_support import NOW, Metering, StartMetering, event, fields, ns

from extplane.metering.event_rows import EventRow
from extplane.metering.store import IngestOutcome


async def test_an_acknowledged_event_reads_back_exactly_as_sent(
    start_metering: StartMetering,
) -> None:
    metering = await start_metering()
    sent = event(
        ns(NOW) + 123_456_789,  # nanoseconds survive
        namespace="team-a",
        task="nightly-report",
        agent="writer",
        model="gpt-4o",
        tokens_in=1234,
        tokens_out=567,
        tool_calls=3,
        duration_ms=4321,
        event_id="0195b1c2-0000-7000-8000-000000000001",
    )

    assert await metering.record(sent) is False

    (stored,) = await metering.all_events()
    assert stored.event == sent
    assert stored.HasField("receive_time")


async def test_a_retried_event_is_acknowledged_as_a_duplicate_and_stored_once(
    start_metering: StartMetering,
) -> None:
    metering = await start_metering()
    sent = event(event_id="retry-me")

    first = await metering.record(sent)
    retries = [await metering.record(sent) for _ in range(3)]

    assert first is False
    assert retries == [True, True, True]
    assert len(await metering.all_events()) == 1
    usage = await metering.usage(
        start_time=NOW - timedelta(hours=1), end_time=NOW + timedelta(hours=1)
    )
    assert usage.total.events == 1


async def test_a_late_retry_is_still_a_duplicate(start_metering: StartMetering) -> None:
    metering = await start_metering()
    await metering.record(event(NOW - timedelta(days=30), event_id="old"))
    metering.clock.set(NOW + timedelta(days=400))  # far beyond any time window

    assert await metering.record(event(NOW - timedelta(days=30), event_id="old")) is True
    assert len(await metering.all_events()) == 1


async def test_the_same_id_sent_concurrently_is_stored_once(
    start_metering: StartMetering,
) -> None:
    metering = await start_metering()
    sent = event(event_id="raced")

    answers = await asyncio.gather(*(metering.record(sent) for _ in range(40)))
    batches = await asyncio.gather(*(metering.batch(sent, sent) for _ in range(10)))

    assert answers.count(False) == 1
    assert answers.count(True) == 39
    assert all(b.accepted == 0 and b.duplicates == 2 for b in batches)
    assert len(await metering.all_events()) == 1


async def test_concurrent_batches_sharing_ids_store_each_id_once(
    start_metering: StartMetering,
) -> None:
    metering = await start_metering()
    ids = [f"id-{i}" for i in range(50)]
    # Eight overlapping windows of up to 20 ids: 0-19, 5-24, …, 35-49.
    windows = [ids[k : k + 20] for k in range(0, 40, 5)]

    answers = await asyncio.gather(
        *(metering.batch(*[event(event_id=i) for i in window]) for window in windows)
    )

    assert sum(a.accepted for a in answers) == 50
    assert sum(a.duplicates for a in answers) == sum(len(w) for w in windows) - 50
    assert sorted(e.event.event_id for e in await metering.all_events()) == sorted(ids)


async def test_duplicates_within_a_batch_count_once(start_metering: StartMetering) -> None:
    metering = await start_metering()

    answer = await metering.batch(
        event(event_id="a"), event(event_id="b"), event(event_id="a"), event(event_id="a")
    )
    again = await metering.batch(event(event_id="b"), event(event_id="c"))

    assert (answer.accepted, answer.duplicates) == (2, 2)
    assert (again.accepted, again.duplicates) == (1, 1)
    assert sorted(e.event.event_id for e in await metering.all_events()) == ["a", "b", "c"]


async def test_ids_are_scoped_to_their_namespace(start_metering: StartMetering) -> None:
    metering = await start_metering()

    answer = await metering.batch(
        event(namespace="team-a", event_id="same"), event(namespace="team-b", event_id="same")
    )

    assert (answer.accepted, answer.duplicates) == (2, 0)
    assert await metering.record(event(namespace="team-b", event_id="same")) is True


async def test_events_without_an_id_are_never_deduplicated(start_metering: StartMetering) -> None:
    metering = await start_metering()
    same = event(event_id="")

    answers = [await metering.record(same) for _ in range(3)]
    batch = await metering.batch(same, same)

    assert answers == [False, False, False]
    assert (batch.accepted, batch.duplicates) == (2, 0)
    assert len(await metering.all_events()) == 5


async def test_an_invalid_batch_stores_nothing(start_metering: StartMetering) -> None:
    metering = await start_metering()
    good = [event(event_id=f"good-{i}") for i in range(9)]

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await metering.batch(*good[:4], event(tokens_out=-1, event_id="bad"), *good[4:])

    assert fields(refused.value) == ["events[4].tokens_out"]
    assert await metering.all_events() == []
    # None of the batch was stored, so its ids are still fresh.
    answer = await metering.batch(*good)
    assert (answer.accepted, answer.duplicates) == (9, 0)


async def test_batches_and_single_events_mix_in_one_store(start_metering: StartMetering) -> None:
    metering = await start_metering()

    unary = await asyncio.gather(*(metering.record(event(event_id=f"u{i}")) for i in range(30)))
    batches = await asyncio.gather(
        *(metering.batch(*[event(event_id=f"b{k}-{i}") for i in range(25)]) for k in range(4))
    )

    assert not any(unary)
    assert [b.accepted for b in batches] == [25, 25, 25, 25]
    assert len(await metering.all_events()) == 130


class _GatedStore:
    """Wraps the service's store: commits wait for `gate`, and may fail."""

    def __init__(self, metering: Metering) -> None:
        self.inner_ingest = metering.service.store.ingest
        self.gate = asyncio.Event()
        self.fail = False
        self.commits = 0
        self.held = 0  # requests whose commit is waiting at the gate

    async def ingest(self, requests: Sequence[Sequence[EventRow]]) -> list[IngestOutcome]:
        self.held += len(requests)
        await self.gate.wait()
        self.commits += 1
        if self.fail:
            raise OSError("disk unplugged")
        return await self.inner_ingest(requests)


async def test_the_acknowledgement_waits_for_the_commit(
    start_metering: StartMetering, monkeypatch: pytest.MonkeyPatch
) -> None:
    metering = await start_metering()
    gated = _GatedStore(metering)
    monkeypatch.setattr(metering.service.store, "ingest", gated.ingest)

    call = asyncio.ensure_future(metering.record(event(event_id="held")))
    done, _ = await asyncio.wait([call], timeout=0.3)

    assert not done  # not acknowledged while the commit has not happened
    assert await metering.all_events() == []
    gated.gate.set()
    assert await call is False
    assert len(await metering.all_events()) == 1


async def test_a_failed_commit_is_not_acknowledged_and_the_retry_counts_once(
    start_metering: StartMetering, monkeypatch: pytest.MonkeyPatch
) -> None:
    metering = await start_metering()
    gated = _GatedStore(metering)
    monkeypatch.setattr(metering.service.store, "ingest", gated.ingest)
    gated.gate.set()
    gated.fail = True

    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await metering.batch(event(event_id="x"), event(event_id="y"))
    gated.fail = False
    answer = await metering.batch(event(event_id="x"), event(event_id="y"))

    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "disk unplugged" not in (failed.value.details() or "")
    assert (answer.accepted, answer.duplicates) == (2, 0)
    assert len(await metering.all_events()) == 2


async def test_concurrent_calls_share_transactions(
    start_metering: StartMetering, monkeypatch: pytest.MonkeyPatch
) -> None:
    metering = await start_metering()
    gated = _GatedStore(metering)
    monkeypatch.setattr(metering.service.store, "ingest", gated.ingest)

    calls = [asyncio.ensure_future(metering.record(event(event_id=f"c{i}"))) for i in range(30)]
    # The first commit is held at the gate (with the first call, or the few that
    # arrived before it began); wait until every other call queued behind it.
    for _ in range(200):
        if gated.held and gated.held + _queued(metering) == 30:
            break
        await asyncio.sleep(0.05)
    gated.gate.set()
    answers = await asyncio.gather(*calls)

    assert _queued(metering) == 0
    assert not any(answers)
    assert gated.commits == 2  # the first commit, then all that queued meanwhile
    assert len(await metering.all_events()) == 30


def _queued(metering: Metering) -> int:
    """Calls waiting for the next transaction (the committer's own queue)."""
    committer = metering.service.recorder._committer
    assert committer is not None
    return len(committer._pending)


async def test_a_stopped_service_refuses_writes_as_unavailable(
    start_metering: StartMetering,
) -> None:
    metering = await start_metering()
    await metering.service.stop()

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await metering.record(event())

    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
