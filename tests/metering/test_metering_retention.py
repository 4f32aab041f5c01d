"""Retention on both stores: old events are pruned by the background task,
summaries of the retained range stay exact, and a pruned event never comes back."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from metering_support import NOW, Metering, StartMetering, WallClock, event, q

DAY = timedelta(days=1)


async def _aged(start_metering: StartMetering, **options: object) -> Metering:
    """Events 10, 8, 6, 3 days and 1 hour old (as of NOW), with 7 days' retention.

    The old ones are recorded while the clock still says NOW - 5 days, when they
    were young enough to keep.
    """
    metering = await start_metering(retention_days=7, clock=WallClock(NOW - 5 * DAY), **options)
    await metering.batch(
        event(NOW - 10 * DAY, event_id="d10", tokens_in=10),
        event(NOW - 8 * DAY, event_id="d8", tokens_in=8),
        event(NOW - 6 * DAY, event_id="d6", tokens_in=6),
    )
    metering.clock.set(NOW)
    await metering.batch(
        event(NOW - 3 * DAY, event_id="d3", tokens_in=3),
        event(NOW - timedelta(hours=1), event_id="h1", tokens_in=1),
    )
    return metering


async def _summary(metering: Metering) -> list[tuple[int, int, str]]:
    usage = await metering.usage(start_time=NOW - 7 * DAY, end_time=NOW, window=q.USAGE_WINDOW_DAY)
    return [(b.events, b.tokens_in, b.cost) for b in [*usage.buckets, usage.total]]


async def test_a_prune_deletes_only_what_is_older_than_the_retention(
    start_metering: StartMetering,
) -> None:
    metering = await _aged(start_metering)
    retained_before = await _summary(metering)
    assert metering.service.retention is not None

    pruned = await metering.service.retention.prune_once()

    assert pruned == 2
    assert [e.event.event_id for e in await metering.all_events()] == ["d6", "d3", "h1"]
    assert await _summary(metering) == retained_before
    assert metering.metric("extplane_metering_pruned_events_total") == 2


async def test_the_background_task_prunes_as_time_passes(start_metering: StartMetering) -> None:
    metering = await _aged(start_metering, retention_interval_s=0.05)

    metering.clock.set(NOW + 2 * DAY)  # now d6 is 8 days old, d3 only 5
    for _ in range(200):
        remaining = [e.event.event_id for e in await metering.all_events()]
        if remaining == ["d3", "h1"]:
            break
        await asyncio.sleep(0.05)

    assert remaining == ["d3", "h1"]


async def test_a_pruned_event_sent_again_is_acknowledged_but_not_stored(
    start_metering: StartMetering,
) -> None:
    metering = await _aged(start_metering)
    assert metering.service.retention is not None
    await metering.service.retention.prune_once()
    summary = await _summary(metering)

    retried = await metering.batch(event(NOW - 10 * DAY, event_id="d10", tokens_in=10))
    unary = await metering.record(event(NOW - 8 * DAY, event_id="d8", tokens_in=8))
    late = await metering.batch(
        event(NOW - 9 * DAY, event_id="new-but-old"), event(NOW, event_id="fresh")
    )

    assert (retried.accepted, retried.duplicates) == (0, 0)
    assert unary is False
    assert (late.accepted, late.duplicates) == (1, 0)
    assert [e.event.event_id for e in await metering.all_events()] == ["d6", "d3", "h1", "fresh"]
    assert await _summary(metering) == summary
    assert metering.metric("extplane_metering_expired_events_total") == 3


async def test_events_older_than_the_retention_are_not_stored_from_the_start(
    start_metering: StartMetering,
) -> None:
    metering = await start_metering(retention_days=7)

    answer = await metering.batch(event(NOW - 8 * DAY), event(NOW - 6 * DAY))

    assert (answer.accepted, answer.duplicates) == (1, 0)
    assert len(await metering.all_events()) == 1


async def test_without_retention_nothing_is_ever_pruned(start_metering: StartMetering) -> None:
    metering = await start_metering(clock=WallClock(NOW - 3650 * DAY))
    await metering.record(event(NOW - 3650 * DAY))
    metering.clock.set(NOW)

    assert metering.service.retention is None
    assert await metering.record(event(NOW - 3650 * DAY, event_id="x")) is False
    assert len(await metering.all_events()) == 2


async def test_a_zero_retention_means_keep_forever(start_metering: StartMetering) -> None:
    metering = await start_metering(retention_days=0)

    assert metering.service.retention is None
