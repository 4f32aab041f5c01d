"""MeteringQueryClient against the real metering service, over real gRPC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import grpc
import pytest

from extplane_client import ExtplaneError, MeteringQueryClient, MeteringQueryError, UsageBucket
from extplane_protos.orloj.extensions.v1 import metering_pb2, metering_pb2_grpc
from tests.loopback import dead_address
from tests.query_suite import BILLING_TOKEN, COMPLIANCE_TOKEN, QuerySuite

HOUR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)


def _event(index: int) -> metering_pb2.MeteringEvent:
    event = metering_pb2.MeteringEvent(
        namespace="team-a" if index % 3 else "team-b",
        task="nightly",
        agent="planner",
        model="gpt-x" if index % 2 else "small",
        tokens_in=1000,
        tokens_out=100,
        tool_calls=1,
        duration_ms=20,
        event_id=f"evt-{index}",
    )
    # 90 minutes from HOUR, plus nanoseconds a datetime could not hold.
    event.timestamp.FromNanoseconds(int(HOUR.timestamp()) * 10**9 + (index % 90) * 60 * 10**9 + 123)
    return event


async def _record(suite: QuerySuite, count: int) -> list[metering_pb2.MeteringEvent]:
    events = [_event(i) for i in range(count)]
    async with grpc.aio.insecure_channel(suite.metering) as channel:
        await metering_pb2_grpc.MeteringSinkStub(channel).RecordMeteringBatch(
            metering_pb2.RecordMeteringBatchRequest(events=events), timeout=10
        )
    return events


async def test_usage_comes_back_typed_bucketed_grouped_and_priced(suite: QuerySuite) -> None:
    await _record(suite, 120)

    async with MeteringQueryClient(suite.metering, token=BILLING_TOKEN) as client:
        report = await client.get_usage(
            start=HOUR, end=HOUR + timedelta(hours=2), window="hour", group_by=["model"]
        )

    assert report.currency == "EUR"
    by_key = {(b.window_start, b.model): b for b in report.buckets}
    assert set(by_key) == {
        (HOUR + timedelta(hours=h), m) for h in (0, 1) for m in ("gpt-x", "small")
    }
    first = by_key[(HOUR, "gpt-x")]
    assert isinstance(first, UsageBucket)
    # Minutes 0..59 hold events 0..59 and 90..119: 45 of them odd (gpt-x).
    assert first.events == 45
    assert first.window_end == HOUR + timedelta(hours=1)
    assert first.namespace == ""  # not grouped by namespace
    # 45 x (1000 in at 2.50/M + 100 out at 10/M), exactly
    assert first.cost == Decimal("0.1575")
    assert report.total.events == 120
    assert report.total.tokens_in == 120_000
    assert report.total.cost == sum((b.cost for b in report.buckets), Decimal(0))
    assert report.total.window_start == HOUR


async def test_usage_filters_and_one_bucket_without_a_window(suite: QuerySuite) -> None:
    await _record(suite, 30)

    async with MeteringQueryClient(suite.metering, token=BILLING_TOKEN) as client:
        report = await client.get_usage(start=HOUR, namespace="team-b", group_by=["namespace"])

    [bucket] = report.buckets
    assert (bucket.namespace, bucket.events) == ("team-b", 10)
    assert bucket.window_start == HOUR
    assert report.total.events == 10


async def test_events_page_with_tokens_and_the_iterator_follows_them(suite: QuerySuite) -> None:
    sent = await _record(suite, 30)

    async with MeteringQueryClient(suite.metering, token=BILLING_TOKEN) as client:
        first = await client.list_metering_events(start=HOUR, page_size=7)
        second = await client.list_metering_events(
            start=HOUR, page_size=7, page_token=first.next_page_token
        )
        every = [stored async for stored in client.iter_metering_events(start=HOUR, page_size=7)]
        team_b = [s async for s in client.iter_metering_events(namespace="team-b", page_size=3)]

    assert len(first.events) == len(second.events) == 7
    assert first.next_page_token
    expected = sorted(sent, key=lambda e: (e.timestamp.ToNanoseconds(), e.event_id))
    assert [s.event for s in every] == expected  # nanoseconds and all, as sent
    assert [s.event for s in (*first.events, *second.events)] == expected[:14]
    assert all(s.receive_time.tzinfo is UTC for s in every)
    assert [s.event.event_id for s in team_b] == [
        e.event_id for e in expected if e.namespace == "team-b"
    ]


async def test_a_refusal_names_the_field(suite: QuerySuite) -> None:
    async with MeteringQueryClient(suite.metering, token=BILLING_TOKEN) as client:
        with pytest.raises(MeteringQueryError) as refused:
            await client.get_usage(start=HOUR, end=HOUR - timedelta(hours=1))
        with pytest.raises(MeteringQueryError) as bad_token:
            await client.list_metering_events(page_token="not-a-token")

    assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(refused.value.field_violations) == {"end_time"}
    assert bad_token.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(bad_token.value.field_violations) == {"page_token"}


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (None, grpc.StatusCode.UNAUTHENTICATED),
        ("unknown-token-0123456789", grpc.StatusCode.UNAUTHENTICATED),
        (COMPLIANCE_TOKEN, grpc.StatusCode.PERMISSION_DENIED),
    ],
)
async def test_the_token_decides(
    suite: QuerySuite, token: str | None, code: grpc.StatusCode
) -> None:
    async with MeteringQueryClient(suite.metering, token=token) as client:
        with pytest.raises(ExtplaneError) as refused:
            await client.get_usage(start=HOUR)
    assert isinstance(refused.value, MeteringQueryError)
    assert refused.value.code is code


async def test_an_unreachable_service_is_unavailable_within_the_deadline() -> None:
    async with MeteringQueryClient(dead_address(), token=BILLING_TOKEN) as client:
        with pytest.raises(MeteringQueryError) as failed:
            await client.get_usage(start=HOUR, timeout=2)
    assert failed.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


async def test_bad_arguments_are_refused_before_any_call(suite: QuerySuite) -> None:
    async with MeteringQueryClient(suite.metering, token=BILLING_TOKEN) as client:
        with pytest.raises(ValueError, match="start: needs a time zone"):
            await client.get_usage(start=datetime(2026, 1, 1))  # naive, the point
        with pytest.raises(ValueError, match="window"):
            await client.get_usage(start=HOUR, window="week")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="group_by"):
            await client.get_usage(start=HOUR, group_by=["colour"])  # type: ignore[list-item]
        with pytest.raises(ValueError, match="timeout"):
            await client.get_usage(start=HOUR, timeout=0)
        with pytest.raises(TypeError, match="colour"):
            await client.list_metering_events(colour="red")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="token"):
        MeteringQueryClient(suite.metering, token="two words")
    with pytest.raises(RuntimeError, match="closed"):
        await client.get_usage(start=HOUR)


async def test_a_borrowed_channel_stays_open(suite: QuerySuite) -> None:
    async with grpc.aio.insecure_channel(suite.metering) as channel:
        async with MeteringQueryClient(channel, token=BILLING_TOKEN) as client:
            await client.get_usage(start=HOUR)
        async with MeteringQueryClient(channel, token=BILLING_TOKEN) as again:
            report = await again.get_usage(start=HOUR)
    assert report.total.events == 0
