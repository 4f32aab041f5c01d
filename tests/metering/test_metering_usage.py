"""GetUsage on both stores, against sums and costs computed by hand.

The events straddle minute, hour and day boundaries (to the nanosecond); the
rate card prices gpt-4o and claude, and every other model (llama, and events
without a model) by its default row. Costs by hand, per 1M tokens:

    e1 gpt-4o  1000 in x 2.50 +     200 out x 10 =      4500 -> 0.0045
    e2 gpt-4o  2000 in x 2.50 +     300 out x 10 =      8000 -> 0.008
    e3 claude   500 in x 3    +      50 out x 15 =      2250 -> 0.00225
    e4 llama  10000 in x 0.50 +    1000 out x 1.50 =    6500 -> 0.0065
    e5 gpt-4o     1 in x 2.50 +       1 out x 10 =      12.5 -> 0.0000125
    e6 claude 1234567 in x 3  + 7654321 out x 15 = 118518516 -> 118.518516
    e7 (none)   100 in x 0.50 +     100 out x 1.50 =     200 -> 0.0002
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import grpc
import pytest
from metering_support import (
    AUDITOR_TOKEN,
    Metering,
    StartMetering,
    event,
    fields,
    ns,
    q,
)

RATE_CARD = {
    "currency": "EUR",
    "default": {"input_per_million": "0.50", "output_per_million": "1.50"},
    "models": {
        "gpt-4o": {"input_per_million": "2.50", "output_per_million": "10.00"},
        "claude": {"input_per_million": "3", "output_per_million": "15"},
    },
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


LAST_NS_OF_MARCH_13 = ns(at("2026-03-14T00:00:00")) - 1
EVENTS = {
    "e1": event(LAST_NS_OF_MARCH_13, namespace="team-a", task="t1", agent="planner",
                model="gpt-4o", tokens_in=1000, tokens_out=200, tool_calls=1, duration_ms=100),
    "e2": event(at("2026-03-14T00:00:00"), namespace="team-a", task="t1", agent="planner",
                model="gpt-4o", tokens_in=2000, tokens_out=300, tool_calls=0, duration_ms=200),
    "e3": event(ns(at("2026-03-14T00:01:00")) - 1, namespace="team-b", task="t2", agent="writer",
                model="claude", tokens_in=500, tokens_out=50, tool_calls=2, duration_ms=300),
    "e4": event(at("2026-03-14T00:01:00"), namespace="team-a", task="t2", agent="writer",
                model="llama", tokens_in=10000, tokens_out=1000, tool_calls=0, duration_ms=400),
    "e5": event(at("2026-03-14T00:59:59"), namespace="team-b", task="t1", agent="planner",
                model="gpt-4o", tokens_in=1, tokens_out=1, tool_calls=0, duration_ms=1),
    "e6": event(at("2026-03-14T01:00:00"), namespace="team-a", task="t1", agent="planner",
                model="claude", tokens_in=1234567, tokens_out=7654321, tool_calls=5,
                duration_ms=5000),
    "e7": event(at("2026-03-14T01:30:00"), namespace="team-a", task="t1", agent="planner",
                model="", tokens_in=100, tokens_out=100, tool_calls=0, duration_ms=0),
}  # fmt: skip
COST = {
    "e1": "0.0045",
    "e2": "0.008",
    "e3": "0.00225",
    "e4": "0.0065",
    "e5": "0.0000125",
    "e6": "118.518516",
    "e7": "0.0002",
}
NOW = at("2026-03-14T12:00:00")


async def _loaded(start_metering: StartMetering, **options: Any) -> Metering:
    metering = await start_metering(rate_card=RATE_CARD, **options)
    metering.clock.set(NOW)
    await metering.batch(*EVENTS.values())
    return metering


def _row(bucket: q.UsageBucket) -> tuple[Any, ...]:
    """A bucket as (window start, window end, namespace, task, agent, model,
    events, tokens_in, tokens_out, tool_calls, duration_ms, cost)."""
    return (
        bucket.window_start.ToDatetime(UTC).isoformat()[:19],
        bucket.window_end.ToDatetime(UTC).isoformat()[:19],
        bucket.namespace,
        bucket.task,
        bucket.agent,
        bucket.model,
        bucket.events,
        bucket.tokens_in,
        bucket.tokens_out,
        bucket.tool_calls,
        bucket.duration_ms,
        bucket.cost,
    )


async def test_day_windows_split_at_utc_midnight_to_the_nanosecond(
    start_metering: StartMetering,
) -> None:
    metering = await _loaded(start_metering)

    usage = await metering.usage(
        start_time=at("2026-03-13T00:00:00"),
        end_time=at("2026-03-15T00:00:00"),
        window=q.USAGE_WINDOW_DAY,
    )

    assert usage.currency == "EUR"
    assert [_row(b) for b in usage.buckets] == [
        ("2026-03-13T00:00:00", "2026-03-14T00:00:00", "", "", "", "", 1, 1000, 200, 1, 100,
         "0.0045"),
        ("2026-03-14T00:00:00", "2026-03-15T00:00:00", "", "", "", "", 6, 1247168, 7655772, 7,
         5901, "118.5354785"),
    ]  # fmt: skip
    assert _row(usage.total) == (
        "2026-03-13T00:00:00", "2026-03-15T00:00:00", "", "", "", "", 7, 1248168, 7655972, 8,
        6001, "118.5399785",
    )  # fmt: skip


async def test_hour_windows_grouped_by_model(start_metering: StartMetering) -> None:
    metering = await _loaded(start_metering)

    usage = await metering.usage(
        start_time=at("2026-03-13T23:00:00"),
        end_time=at("2026-03-14T02:00:00"),
        window=q.USAGE_WINDOW_HOUR,
        group_by=[q.USAGE_DIMENSION_MODEL],
    )

    assert [_row(b) for b in usage.buckets] == [
        ("2026-03-13T23:00:00", "2026-03-14T00:00:00", "", "", "", "gpt-4o", 1, 1000, 200, 1,
         100, "0.0045"),
        ("2026-03-14T00:00:00", "2026-03-14T01:00:00", "", "", "", "claude", 1, 500, 50, 2, 300,
         "0.00225"),
        ("2026-03-14T00:00:00", "2026-03-14T01:00:00", "", "", "", "gpt-4o", 2, 2001, 301, 0,
         201, "0.0080125"),
        ("2026-03-14T00:00:00", "2026-03-14T01:00:00", "", "", "", "llama", 1, 10000, 1000, 0,
         400, "0.0065"),
        ("2026-03-14T01:00:00", "2026-03-14T02:00:00", "", "", "", "", 1, 100, 100, 0, 0,
         "0.0002"),
        ("2026-03-14T01:00:00", "2026-03-14T02:00:00", "", "", "", "claude", 1, 1234567,
         7654321, 5, 5000, "118.518516"),
    ]  # fmt: skip
    assert usage.total.cost == "118.5399785"


async def test_minute_windows_align_to_the_minute_and_cut_at_the_range(
    start_metering: StartMetering,
) -> None:
    metering = await _loaded(start_metering)

    usage = await metering.usage(
        start_time=at("2026-03-13T23:59:30"),  # not aligned: the first window is partial
        end_time=at("2026-03-14T00:01:00"),  # e4 at 00:01:00 is outside
        window=q.USAGE_WINDOW_MINUTE,
    )

    assert [_row(b)[:2] + _row(b)[6:] for b in usage.buckets] == [
        ("2026-03-13T23:59:00", "2026-03-14T00:00:00", 1, 1000, 200, 1, 100, "0.0045"),
        ("2026-03-14T00:00:00", "2026-03-14T00:01:00", 2, 2500, 350, 2, 500, "0.01025"),
    ]
    assert _row(usage.total)[:2] == ("2026-03-13T23:59:30", "2026-03-14T00:01:00")
    assert usage.total.events == 3


async def test_the_whole_range_grouped_by_namespace_and_task(
    start_metering: StartMetering,
) -> None:
    metering = await _loaded(start_metering)

    usage = await metering.usage(
        start_time=at("2026-03-01T00:00:00"),
        end_time=at("2026-04-01T00:00:00"),
        group_by=[q.USAGE_DIMENSION_NAMESPACE, q.USAGE_DIMENSION_TASK],
    )

    assert [(b.namespace, b.task, b.events, b.cost) for b in usage.buckets] == [
        ("team-a", "t1", 4, "118.531216"),  # e1 + e2 + e6 + e7
        ("team-a", "t2", 1, "0.0065"),
        ("team-b", "t1", 1, "0.0000125"),
        ("team-b", "t2", 1, "0.00225"),
    ]
    assert {_row(b)[:2] for b in usage.buckets} == {("2026-03-01T00:00:00", "2026-04-01T00:00:00")}
    assert usage.total.events == 7


async def test_grouping_by_agent_then_namespace_orders_by_agent_first(
    start_metering: StartMetering,
) -> None:
    metering = await _loaded(start_metering)

    usage = await metering.usage(
        start_time=at("2026-03-13T00:00:00"),
        group_by=[q.USAGE_DIMENSION_AGENT, q.USAGE_DIMENSION_NAMESPACE],
    )

    assert [(b.agent, b.namespace, b.task, b.model, b.events) for b in usage.buckets] == [
        ("planner", "team-a", "", "", 4),
        ("planner", "team-b", "", "", 1),
        ("writer", "team-a", "", "", 1),
        ("writer", "team-b", "", "", 1),
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"namespace": "team-b"}, ["e3", "e5"]),
        ({"model": "claude"}, ["e3", "e6"]),
        ({"task": "t2", "agent": "writer"}, ["e3", "e4"]),
        (
            {"namespace": "team-a", "task": "t1", "agent": "planner", "model": "gpt-4o"},
            ["e1", "e2"],
        ),
        ({"namespace": "nobody"}, []),
    ],
)
async def test_filters_select_events_and_their_exact_cost(
    start_metering: StartMetering, filters: dict[str, str], expected: list[str]
) -> None:
    metering = await _loaded(start_metering)

    usage = await metering.usage(start_time=at("2026-03-13T00:00:00"), **filters)

    assert usage.total.events == len(expected)
    assert usage.total.tokens_in == sum(EVENTS[e].tokens_in for e in expected)
    assert usage.total.tokens_out == sum(EVENTS[e].tokens_out for e in expected)
    assert len(usage.buckets) == (1 if expected else 0)
    assert Decimal(usage.total.cost) == sum((Decimal(COST[e]) for e in expected), Decimal(0))


async def test_end_time_defaults_to_the_services_now(start_metering: StartMetering) -> None:
    metering = await _loaded(start_metering)
    metering.clock.set(at("2026-03-14T01:00:00"))  # e6 and e7 are not yet in the range

    usage = await metering.usage(start_time=at("2026-03-13T00:00:00"))

    assert usage.total.events == 5
    assert _row(usage.total)[1] == "2026-03-14T01:00:00"


async def test_costs_add_exactly_in_decimal(start_metering: StartMetering) -> None:
    card = {
        "default": {"input_per_million": "0.1"},
        "models": {
            "b": {"input_per_million": "0.2"},
            "tiny": {"input_per_million": "0.000000001", "output_per_million": "0.000000003"},
        },
    }
    metering = await start_metering(rate_card=card)
    metering.clock.set(NOW)
    moment = at("2026-03-14T11:00:00")
    await metering.batch(
        event(moment, model="a", tokens_in=1_000_000, tokens_out=0),
        event(moment, model="b", tokens_in=1_000_000, tokens_out=0),
        event(moment, model="tiny", tokens_in=10**12, tokens_out=7),
    )

    usage = await metering.usage(start_time=moment, group_by=[q.USAGE_DIMENSION_MODEL])

    assert [(b.model, b.cost) for b in usage.buckets] == [
        ("a", "0.1"),
        ("b", "0.2"),
        ("tiny", "0.001000000000021"),
    ]
    assert usage.total.cost == "0.301000000000021"
    assert usage.currency == "USD"


async def test_an_empty_range_has_no_buckets_and_a_zero_total(
    start_metering: StartMetering,
) -> None:
    metering = await _loaded(start_metering)

    usage = await metering.usage(
        start_time=at("2020-01-01T00:00:00"),
        end_time=at("2020-01-02T00:00:00"),
        window=q.USAGE_WINDOW_HOUR,
    )

    assert list(usage.buckets) == []
    assert (usage.total.events, usage.total.cost) == (0, "0")


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({}, "start_time"),
        ({"start_time": at("2026-03-14T00:00:00"), "end_time": at("2026-03-14T00:00:00")},
         "end_time"),
        ({"start_time": at("2026-03-14T00:00:00"), "end_time": at("2026-03-13T00:00:00")},
         "end_time"),
        ({"start_time": at("2026-03-15T00:00:00")}, "start_time"),  # after "now"
        ({"start_time": {"seconds": 253402300799}}, "start_time"),
        ({"start_time": at("2026-03-14T00:00:00"), "end_time": {"seconds": 10**12}}, "end_time"),
        ({"start_time": at("2026-03-14T00:00:00"), "group_by": [0]}, "group_by[0]"),
        ({"start_time": at("2026-03-14T00:00:00"), "group_by": [1, 2, 1]}, "group_by[2]"),
        ({"start_time": at("2026-03-14T00:00:00"), "window": 9}, "window"),
        ({"start_time": at("2026-03-06T00:00:00"), "window": q.USAGE_WINDOW_MINUTE}, "window"),
    ],
    ids=["no start", "empty range", "end before start", "start after now", "start in 9999",
         "end past 9999", "unspecified dim",
         "repeated dim", "unknown window", "too many windows"],
)  # fmt: skip
async def test_a_bad_usage_request_is_refused_naming_the_field(
    start_metering: StartMetering, request_fields: dict[str, Any], field: str
) -> None:
    metering = await _loaded(start_metering)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await metering.usage(**request_fields)

    assert fields(refused.value) == [field]


async def test_a_range_ending_past_what_stores_hold_sums_everything_after_its_start(
    start_metering: StartMetering,
) -> None:
    metering = await _loaded(start_metering)
    whole = await metering.usage(start_time=at("2026-03-14T00:00:00"))

    far = await metering.usage(start_time=at("2026-03-14T00:00:00"), end_time={"seconds": 10**11})

    assert far.total.events == whole.total.events > 0
    assert far.total.window_end.ToJsonString() == "2262-04-11T23:47:16.854775807Z"


async def test_the_window_bound_is_configurable(start_metering: StartMetering) -> None:
    metering = await _loaded(start_metering, max_usage_windows=24)
    day = {"start_time": at("2026-03-14T00:00:00"), "end_time": at("2026-03-15T00:00:00")}

    assert (await metering.usage(window=q.USAGE_WINDOW_HOUR, **day)).total.events == 6
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await metering.usage(window=q.USAGE_WINDOW_HOUR, end_time=at("2026-03-15T00:00:01"),
                             start_time=day["start_time"])  # fmt: skip

    assert fields(refused.value) == ["window"]
    assert "25 windows" in refused.value.details()


async def test_too_many_buckets_are_refused_naming_group_by(start_metering: StartMetering) -> None:
    metering = await _loaded(start_metering, max_usage_buckets=3)
    start = at("2026-03-13T00:00:00")

    assert len((await metering.usage(start_time=start, group_by=[2])).buckets) == 2
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await metering.usage(start_time=start, group_by=[q.USAGE_DIMENSION_MODEL])

    assert fields(refused.value) == ["group_by"]


async def test_queries_need_a_reader_token(start_metering: StartMetering) -> None:
    metering = await start_metering()
    usage = q.GetUsageRequest(start_time=at("2026-03-13T00:00:00"))
    events = q.ListMeteringEventsRequest()
    auditor = (("authorization", f"Bearer {AUDITOR_TOKEN}"),)
    forged = (("authorization", "Bearer not-a-configured-token"),)

    outcomes = []
    for metadata in ((), forged, auditor):
        for call in (
            metering.query.GetUsage(usage, metadata=metadata, timeout=10),
            metering.query.ListMeteringEvents(events, metadata=metadata, timeout=10),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call
            outcomes.append(refused.value.code())

    assert (
        outcomes == [grpc.StatusCode.UNAUTHENTICATED] * 4 + [grpc.StatusCode.PERMISSION_DENIED] * 2
    )


async def test_a_failing_store_read_is_unavailable_without_its_details(
    start_metering: StartMetering, monkeypatch: pytest.MonkeyPatch
) -> None:
    metering = await start_metering()

    async def broken(query: object) -> list[object]:
        raise OSError("I/O error on /var/lib/extplane/metering.db")

    monkeypatch.setattr(metering.service.store, "usage", broken)
    monkeypatch.setattr(metering.service.store, "list_events", broken)

    for call in (metering.usage(start_time=at("2026-03-13T00:00:00")), metering.page()):
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await call
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "/var/lib" not in (failed.value.details() or "")


async def _huge(metering: Metering, count: int) -> None:
    """`count` events of 4e18 input tokens each, stored past validation: sums beyond
    what 9.2M events at the per-event maximum reach, without storing millions."""
    stamp = ns(at("2026-03-14T08:00:00"))
    row = (stamp, "team-a", "t", "a", "m", 4 * 10**18, 1, 0, 0, None)
    await metering.service.store.ingest([[row] * count])


async def test_sums_near_the_int64_limit_are_exact(start_metering: StartMetering) -> None:
    metering = await start_metering()
    await _huge(metering, 2)
    await metering.record(event(ns(at("2026-03-14T08:00:01")), namespace="team-a", tokens_in=7))

    usage = await metering.usage(
        start_time=at("2026-03-14T00:00:00"), end_time=at("2026-03-14T09:00:00")
    )

    assert usage.total.tokens_in == 8 * 10**18 + 7
    assert usage.total.events == 3


async def test_a_sum_no_int64_can_hold_is_out_of_range_not_unavailable(
    start_metering: StartMetering,
) -> None:
    metering = await start_metering()
    await _huge(metering, 3)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await metering.usage(
            start_time=at("2026-03-14T00:00:00"), end_time=at("2026-03-14T09:00:00")
        )

    assert refused.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert "exceeds int64" in (refused.value.details() or "")
