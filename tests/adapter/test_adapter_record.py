"""`record()`: the event as it was, stamped with an id and a time; never blocks or raises."""

from __future__ import annotations

import uuid
from dataclasses import replace

import grpc
import grpc.aio
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from extplane_client import (
    AuditSink,
    DeliveryOptions,
    GrpcAuditSink,
    GrpcMeteringSink,
    MeteringSink,
    NoopAuditSink,
    NoopMeteringSink,
)
from extplane_protos.orloj.extensions.v1 import metering_pb2, metering_pb2_grpc
from tests.adapter.sinks import (
    FAST,
    WAIT_S,
    SinkLog,
    audit_event,
    metering_event,
    serve_audit,
    serve_metering,
    wait_until,
)
from tests.loopback import dead_address


def test_each_event_gets_a_fresh_uuid7_and_a_timestamp() -> None:
    log = SinkLog()
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=FAST)
        try:
            template = metering_event(0)
            # One event object recorded many times is many events, not one.
            for _ in range(500):
                sink.record(template)
            assert sink.flush(WAIT_S)
        finally:
            sink.close(WAIT_S)

    ids = log.ids()
    assert len(ids) == 500
    assert len(set(ids)) == 500
    for event_id in ids:
        parsed = uuid.UUID(event_id)
        assert str(parsed) == event_id
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
    assert all(event.HasField("timestamp") for event in log.stored)
    assert all(event.timestamp.seconds > 1_700_000_000 for event in log.stored)
    # The caller's event is left as it was.
    assert template.event_id == ""
    assert not template.HasField("timestamp")


def test_an_id_and_timestamp_the_caller_set_are_kept() -> None:
    log = SinkLog()
    stamp = Timestamp(seconds=1_800_000_000, nanos=5)
    with serve_audit(log) as address:
        sink = GrpcAuditSink(address, options=FAST)
        try:
            sink.record(audit_event(0, event_id="caller-chosen-id", timestamp=stamp))
            # A retry of the same id by the caller: the sink counts it once.
            sink.record(audit_event(0, event_id="caller-chosen-id", timestamp=stamp))
            assert sink.flush(WAIT_S)
        finally:
            sink.close(WAIT_S)

    [stored] = log.stored
    assert stored.event_id == "caller-chosen-id"
    assert stored.timestamp == stamp
    assert log.arrivals["caller-chosen-id"] == 2


def test_an_event_changed_after_record_is_sent_as_recorded() -> None:
    log = SinkLog()
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=replace(FAST, max_delay=60.0))
        try:
            event = metering_event(0, tokens_in=10)
            sink.record(event)
            event.tokens_in = 99_999
            assert sink.flush(WAIT_S)
        finally:
            sink.close(WAIT_S)

    assert [event.tokens_in for event in log.stored] == [10]


@pytest.mark.parametrize(
    "garbage",
    [None, "an event", 42, {"namespace": "x"}, metering_pb2.RecordMeteringRequest()],
    ids=["none", "str", "int", "dict", "other-message"],
)
def test_record_of_something_else_is_counted_not_raised(garbage: object) -> None:
    sink = GrpcMeteringSink(dead_address(), options=FAST)
    try:
        sink.record(garbage)  # type: ignore[arg-type]
        stats = sink.stats()
    finally:
        sink.close(0)

    assert stats.dropped == 1
    assert stats.accepted == 0


def test_events_of_the_other_sink_are_refused_by_each() -> None:
    metering = GrpcMeteringSink(dead_address(), options=FAST)
    audit = GrpcAuditSink(dead_address(), options=FAST)
    try:
        metering.record(audit_event(0))  # type: ignore[arg-type]
        audit.record(metering_event(0))  # type: ignore[arg-type]
        assert metering.stats().dropped == 1
        assert audit.stats().dropped == 1
    finally:
        metering.close(0)
        audit.close(0)


def test_record_never_blocks_on_a_hanging_sink() -> None:
    log = SinkLog()
    log.gate.clear()
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=replace(FAST, capacity=2_000, max_batch=100))
        try:
            sink.record(metering_event(0))
            # The worker's first call is stuck in the sink's handler ...
            wait_until(lambda: log.calls_started == 1, what="the call to reach the sink")
            # ... and recording goes on regardless: every one of these returns.
            for index in range(1, 2_500):
                sink.record(metering_event(index))
            held = sink.stats()
            log.gate.set()
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            log.gate.set()
            sink.close(WAIT_S)

    assert held.delivered == 0
    assert held.queued == 2_000
    assert held.overflowed == 500
    assert stats.delivered == 2_000
    assert log.count() == 2_000


def test_record_never_raises_while_the_sink_errors_or_after_close() -> None:
    log = SinkLog(refuse=lambda event: grpc.StatusCode.INTERNAL)
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=replace(FAST, server_error_attempts=1))
        for index in range(50):
            sink.record(metering_event(index))
        assert sink.flush(WAIT_S)
        assert sink.close(WAIT_S)
        for index in range(10):
            sink.record(metering_event(index))
        sink.record(None)  # type: ignore[arg-type]
        stats = sink.stats()

    assert stats.rejected == 50
    assert stats.dropped == 11
    assert stats.closed


def test_noop_sinks_take_anything_and_keep_nothing() -> None:
    metering: MeteringSink = NoopMeteringSink()
    audit: AuditSink = NoopAuditSink()

    metering.record(metering_event(0))
    audit.record(audit_event(0))
    metering.record(None)  # type: ignore[arg-type]

    assert metering.flush(0) is True
    assert audit.flush(0) is True
    assert metering.close() is True
    assert audit.close() is True


def test_the_grpc_sinks_are_sinks() -> None:
    metering: MeteringSink = GrpcMeteringSink(dead_address(), options=FAST)
    audit: AuditSink = GrpcAuditSink(dead_address(), options=FAST)
    assert metering.close(0) is True
    assert audit.close(0) is True


def test_a_channel_the_caller_gave_stays_open_after_close() -> None:
    log = SinkLog()
    with serve_metering(log) as address, grpc.insecure_channel(address) as channel:
        sink = GrpcMeteringSink(channel, options=FAST)
        sink.record(metering_event(0))
        assert sink.close(WAIT_S)
        # The caller's channel still works.
        stub = metering_pb2_grpc.MeteringSinkStub(channel)
        request = metering_pb2.RecordMeteringRequest(event=metering_event(1, event_id="direct"))
        stub.RecordMetering(request, timeout=WAIT_S)

    assert [event.task for event in log.stored] == ["task-0", "task-1"]


async def test_an_asyncio_channel_is_refused_at_construction() -> None:
    async with grpc.aio.insecure_channel(dead_address()) as channel:
        with pytest.raises(TypeError, match=r"grpc\.Channel \(the synchronous kind"):
            GrpcMeteringSink(channel)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": ""}, "target: an address"),
        ({"metadata": [("Authorization", "Bearer x")]}, "metadata: keys are lower-case"),
        ({"metadata": [("grpc-timeout", "1S")]}, "metadata: keys are lower-case"),
    ],
)
def test_bad_arguments_are_refused_naming_them(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"target": dead_address(), **kwargs}
    target = arguments.pop("target")
    with pytest.raises(ValueError, match=message):
        GrpcMeteringSink(target, **arguments)  # type: ignore[arg-type]


def test_credentials_for_a_given_channel_are_refused() -> None:
    with (
        grpc.insecure_channel(dead_address()) as channel,
        pytest.raises(ValueError, match="credentials, tls, channel_options: only with an address"),
    ):
        GrpcAuditSink(channel, credentials=grpc.ssl_channel_credentials())


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("capacity", 0, "capacity: must be at least 1"),
        ("max_batch", 1001, "max_batch: must be 1-1000"),
        ("max_batch", 0, "max_batch: must be 1-1000"),
        ("max_batch_bytes", 0, "max_batch_bytes: must be at least 1"),
        ("max_delay", 0.0, "max_delay: must be a positive number"),
        ("call_timeout", float("inf"), "call_timeout: must be a positive number"),
        ("initial_backoff", -1.0, "initial_backoff: must be a positive number"),
        ("max_backoff", 0.01, "max_backoff: must be at least initial_backoff"),
        ("server_error_attempts", 0, "server_error_attempts: must be at least 1"),
    ],
)
def test_delivery_options_are_checked(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeliveryOptions(**{field: value})  # type: ignore[arg-type]


def test_a_held_event_is_kept_until_a_hung_call_is_cancelled_by_close() -> None:
    log = SinkLog()
    log.gate.clear()
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=FAST)
        try:
            sink.record(metering_event(0))
            wait_until(lambda: log.calls_started == 1, what="the call to reach the sink")
            closed_cleanly = sink.close(0.2)
            stats = sink.stats()
        finally:
            log.gate.set()

    assert closed_cleanly is False
    assert stats.abandoned == 1
    assert stats.delivered == 0
    # An event in flight counts as abandoned only once the worker has exited: closing
    # the channel cancelled the hung call.
    assert stats.queued == 0
