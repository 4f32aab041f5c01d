"""Every validation rule, over a real channel: INVALID_ARGUMENT with BadRequest
field violations naming the field (`event.x` unary, `events[i].x` in a batch).

Validation runs before the store is touched, so these run on SQLite only; the
all-or-nothing tests in test_metering_ingest.py run on both stores.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
import pytest
from metering_support import NOW, NS_PER_S, StartMetering, event, fields, violations

from extplane_protos.orloj.extensions.v1 import metering_pb2

LONG = "x" * 257

# (how the event is broken, the field named)
BROKEN: dict[str, tuple[dict[str, Any], str]] = {
    "namespace empty": ({"namespace": ""}, "namespace"),
    "namespace too long": ({"namespace": LONG}, "namespace"),
    "task too long": ({"task": LONG}, "task"),
    "agent too long": ({"agent": LONG}, "agent"),
    "model too long": ({"model": LONG}, "model"),
    "event_id too long": ({"event_id": "e" * 129}, "event_id"),
    "namespace control char": ({"namespace": "team\x00a"}, "namespace"),
    "task newline": ({"task": "t\n1"}, "task"),
    "agent escape": ({"agent": "a\x1b[31m"}, "agent"),
    "model line separator": ({"model": "gpt\u2028"}, "model"),
    "event_id tab": ({"event_id": "id\t1"}, "event_id"),
    "tokens_in negative": ({"tokens_in": -1}, "tokens_in"),
    "tokens_out negative": ({"tokens_out": -5}, "tokens_out"),
    "tool_calls negative": ({"tool_calls": -1}, "tool_calls"),
    "duration_ms negative": ({"duration_ms": -1}, "duration_ms"),
    "tokens_in too large": ({"tokens_in": 10**12 + 1}, "tokens_in"),
    "tokens_out too large": ({"tokens_out": 2**62}, "tokens_out"),
    "tool_calls too large": ({"tool_calls": 10**12 + 1}, "tool_calls"),
    "duration_ms too large": ({"duration_ms": 10**13}, "duration_ms"),
    "timestamp before 2000": ({"at": NOW.replace(year=1999)}, "timestamp"),
    "timestamp too far ahead": ({"at": NOW + timedelta(hours=1, seconds=1)}, "timestamp"),
}


@pytest.mark.parametrize(("broken", "field"), BROKEN.values(), ids=BROKEN.keys())
async def test_a_broken_event_is_refused_naming_its_field(
    start_sqlite_metering: StartMetering, broken: dict[str, Any], field: str
) -> None:
    metering = await start_sqlite_metering()

    with pytest.raises(grpc.aio.AioRpcError) as unary:
        await metering.record(event(**broken))
    with pytest.raises(grpc.aio.AioRpcError) as batch:
        await metering.batch(event(event_id="fine"), event(**broken))

    assert fields(unary.value) == [f"event.{field}"]
    assert fields(batch.value) == [f"events[1].{field}"]
    assert field in unary.value.details()
    assert await metering.all_events() == []


@pytest.mark.parametrize(
    "at_limit",
    [
        {"namespace": "n" * 256, "task": "t" * 256, "agent": "a" * 256, "model": "m" * 256},
        {"event_id": "e" * 128},
        {"tokens_in": 10**12, "tokens_out": 10**12, "tool_calls": 10**12, "duration_ms": 10**12},
        {"at": NOW + timedelta(hours=1)},
        {"at": NOW.replace(year=2000, month=1, day=1, hour=0)},
        {"task": "", "agent": "", "model": "", "tokens_in": 0, "tokens_out": 0},
        {"namespace": "équipe été", "model": "modèle/ü 7b"},
    ],
    ids=["labels 256", "event_id 128", "counters 10^12", "1h ahead", "2000-01-01", "zeros", "utf8"],
)
async def test_values_at_the_limits_are_accepted(
    start_sqlite_metering: StartMetering, at_limit: dict[str, Any]
) -> None:
    metering = await start_sqlite_metering()

    assert await metering.record(event(**at_limit)) is False
    assert len(await metering.all_events()) == 1


async def test_an_event_without_a_timestamp_is_refused(
    start_sqlite_metering: StartMetering,
) -> None:
    metering = await start_sqlite_metering()
    unset = event()
    unset.ClearField("timestamp")

    with pytest.raises(grpc.aio.AioRpcError) as unary:
        await metering.record(unset)
    with pytest.raises(grpc.aio.AioRpcError) as batch:
        await metering.batch(event(), event(), unset)

    assert violations(unary.value) == [("event.timestamp", "required")]
    assert violations(batch.value) == [("events[2].timestamp", "required")]


async def test_a_timestamp_with_invalid_nanos_is_refused(
    start_sqlite_metering: StartMetering,
) -> None:
    metering = await start_sqlite_metering()
    bad = event()
    bad.timestamp.nanos = NS_PER_S

    with pytest.raises(grpc.aio.AioRpcError) as unary:
        await metering.record(bad)

    assert fields(unary.value) == ["event.timestamp"]


async def test_a_request_without_an_event_is_refused(start_sqlite_metering: StartMetering) -> None:
    metering = await start_sqlite_metering()

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await metering.sink.RecordMetering(metering_pb2.RecordMeteringRequest(), timeout=10)

    assert violations(refused.value) == [("event", "required")]


async def test_every_broken_field_of_an_event_is_named(
    start_sqlite_metering: StartMetering,
) -> None:
    metering = await start_sqlite_metering()
    bad = event(namespace="", tokens_in=-1, tokens_out=-1, event_id="x" * 200)
    bad.ClearField("timestamp")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await metering.batch(event(), event(), event(), bad)

    assert sorted(fields(refused.value)) == [
        "events[3].event_id",
        "events[3].namespace",
        "events[3].timestamp",
        "events[3].tokens_in",
        "events[3].tokens_out",
    ]


async def test_a_batch_names_each_offending_index(start_sqlite_metering: StartMetering) -> None:
    metering = await start_sqlite_metering()
    batch = [event(event_id=f"e{i}") for i in range(10)]
    batch[2] = event(tokens_in=-1)
    batch[7] = event(namespace="")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await metering.batch(*batch)

    assert fields(refused.value) == ["events[2].tokens_in", "events[7].namespace"]
    assert await metering.all_events() == []


async def test_an_empty_batch_is_refused(start_sqlite_metering: StartMetering) -> None:
    metering = await start_sqlite_metering()

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await metering.batch()

    assert fields(refused.value) == ["events"]


async def test_a_batch_over_the_configured_size_is_refused_whole(
    start_sqlite_metering: StartMetering,
) -> None:
    metering = await start_sqlite_metering(max_batch_events=5)

    assert (await metering.batch(*[event() for _ in range(5)])).accepted == 5
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await metering.batch(*[event() for _ in range(6)])

    assert violations(refused.value) == [("events", "at most 5 events per call, got 6")]
    assert len(await metering.all_events()) == 5


async def test_the_default_batch_limit_is_the_contracts_1000(
    start_sqlite_metering: StartMetering,
) -> None:
    metering = await start_sqlite_metering()

    assert (await metering.batch(*[event() for _ in range(1000)])).accepted == 1000
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await metering.batch(*[event() for _ in range(1001)])

    assert fields(refused.value) == ["events"]


async def test_a_refusal_lists_a_bounded_number_of_violations(
    start_sqlite_metering: StartMetering,
) -> None:
    metering = await start_sqlite_metering()

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await metering.batch(*[event(tokens_in=-1) for _ in range(300)])

    named = fields(refused.value)
    assert named == [f"events[{i}].tokens_in" for i in range(20)]
    assert "and 299 more" in refused.value.details()


async def test_the_future_bound_follows_the_services_clock(
    start_sqlite_metering: StartMetering,
) -> None:
    metering = await start_sqlite_metering(max_future_skew_s=60)
    ahead = NOW + timedelta(minutes=5)

    with pytest.raises(grpc.aio.AioRpcError):
        await metering.record(event(ahead))
    metering.clock.set(NOW + timedelta(minutes=4))

    assert await metering.record(event(ahead)) is False


async def test_refused_events_are_counted(start_sqlite_metering: StartMetering) -> None:
    metering = await start_sqlite_metering()

    with pytest.raises(grpc.aio.AioRpcError):
        await metering.record(event(tokens_in=-1))
    with pytest.raises(grpc.aio.AioRpcError):
        await metering.batch(event(), event(), event(namespace=""))

    rejected = "extplane_metering_rejected_events_total"
    assert metering.metric(rejected, rpc="RecordMetering") == 1
    assert metering.metric(rejected, rpc="RecordMeteringBatch") == 3
