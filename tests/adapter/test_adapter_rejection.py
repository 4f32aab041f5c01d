"""A sink's lasting refusal costs only the refused events, never their neighbours."""

from __future__ import annotations

import grpc
import pytest

from extplane_client import GrpcAuditSink, GrpcMeteringSink
from tests.adapter.sinks import (
    FAST,
    PATIENT,
    WAIT_S,
    SinkLog,
    audit_event,
    metering_event,
    serve_audit,
    serve_metering,
)


def negative_tokens(event: object) -> grpc.StatusCode | None:
    tokens_in: int = getattr(event, "tokens_in", 0)
    return grpc.StatusCode.INVALID_ARGUMENT if tokens_in < 0 else None


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.NOT_FOUND,
    ],
    ids=lambda code: code.name,
)
def test_a_refused_event_does_not_lose_its_neighbours(
    code: grpc.StatusCode, caplog: pytest.LogCaptureFixture
) -> None:
    log = SinkLog(refuse=lambda event: code if event.tokens_in < 0 else None)
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=PATIENT)
        try:
            for index in range(10):
                sink.record(metering_event(index, tokens_in=-1 if index == 4 else 5))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.rejected == 1
    assert stats.delivered == 9
    assert stats.retries == 0
    assert stats.queued == 0
    # The batch was refused whole (all or nothing), then sent again one by one,
    # one call at a time, so they keep their order.
    assert log.batch_calls == 1
    assert log.unary_calls == 10
    assert log.max_in_flight == 1
    assert [event.task for event in log.stored] == [f"task-{i}" for i in range(10) if i != 4]
    assert "sending its events one by one" in caplog.text
    assert code.name in caplog.text


def test_audit_keeps_order_around_a_refused_event() -> None:
    log = SinkLog(
        refuse=lambda event: grpc.StatusCode.INVALID_ARGUMENT if not event.actor else None
    )
    with serve_audit(log) as address:
        sink = GrpcAuditSink(address, options=FAST)
        try:
            for index in range(6):
                sink.record(audit_event(index, actor="" if index in (1, 4) else "agent/x"))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.rejected == 2
    assert stats.delivered == 4
    resources = [event.resource for event in log.stored]
    assert resources == ["tool/search-0", "tool/search-2", "tool/search-3", "tool/search-5"]


def test_a_refused_lone_event_is_not_sent_again() -> None:
    log = SinkLog(refuse=negative_tokens)
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=FAST)
        try:
            sink.record(metering_event(0, tokens_in=-5))
            assert sink.flush(WAIT_S)
            sink.record(metering_event(1))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.rejected == 1
    assert stats.delivered == 1
    assert log.batch_calls == 2
    assert log.unary_calls == 0
    # The refusal did not switch the sink to the unary RPC.
    assert stats.batch_mode is True


def test_already_exists_for_one_event_means_the_sink_has_it() -> None:
    # A sink that answers ALREADY_EXISTS (not OK) for an event id it has stored.
    log = SinkLog()
    log.fail_next(grpc.StatusCode.ALREADY_EXISTS)
    with serve_metering(log, batch=False) as address:
        sink = GrpcMeteringSink(address, options=FAST)
        try:
            sink.record(metering_event(0))
            sink.record(metering_event(1))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.delivered == 2
    assert stats.rejected == stats.retries == 0


def test_refusals_in_the_unary_fallback_are_counted_one_by_one() -> None:
    log = SinkLog(refuse=negative_tokens)
    with serve_metering(log, batch=False) as address:
        sink = GrpcMeteringSink(address, options=FAST)
        try:
            for index in range(30):
                sink.record(metering_event(index, tokens_in=-1 if index % 10 == 0 else 1))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.rejected == 3
    assert stats.delivered == 27
    assert log.count() == 27


def test_already_exists_for_a_batch_sends_its_events_one_by_one() -> None:
    # A sink that refuses a whole batch because it has some of its events already.
    log = SinkLog()
    log.fail_next(grpc.StatusCode.ALREADY_EXISTS)
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=PATIENT)
        try:
            for index in range(4):
                sink.record(metering_event(index))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.delivered == 4
    assert stats.rejected == 0
    assert log.batch_calls == 1
    assert log.unary_calls == 4
    assert stats.batch_mode is True
