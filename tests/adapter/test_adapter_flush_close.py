"""`flush()` and `close()` deliver what is queued; after `close()`, events are counted."""

from __future__ import annotations

import grpc

from extplane_client import GrpcAuditSink, GrpcMeteringSink
from tests.adapter.sinks import (
    PATIENT,
    WAIT_S,
    SinkLog,
    audit_event,
    metering_event,
    serve_audit,
    serve_metering,
)
from tests.loopback import dead_address


def test_flush_sends_a_partial_batch_at_once() -> None:
    log = SinkLog()
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=PATIENT)
        try:
            for index in range(7):
                sink.record(metering_event(index))
            assert log.count() == 0
            assert sink.flush(WAIT_S)
            assert log.count() == 7
            assert sink.stats().queued == 0
            # Nothing queued: flush has nothing to wait for.
            assert sink.flush(0)
        finally:
            sink.close(WAIT_S)

    assert log.batch_calls == 1


def test_close_delivers_the_queue_then_refuses_more() -> None:
    log = SinkLog()
    with serve_audit(log) as address:
        sink = GrpcAuditSink(address, options=PATIENT)
        for index in range(120):
            sink.record(audit_event(index))
        assert sink.close(WAIT_S) is True
        sink.record(audit_event(120))
        stats = sink.stats()

    assert [event.resource for event in log.stored] == [f"tool/search-{i}" for i in range(120)]
    assert stats.delivered == 120
    assert stats.dropped == 1
    assert stats.closed
    assert stats.queued == stats.abandoned == 0


def test_close_with_the_sink_down_gives_up_at_its_timeout_and_counts_the_rest() -> None:
    sink = GrpcMeteringSink(dead_address(), options=PATIENT)
    for index in range(40):
        sink.record(metering_event(index))

    assert sink.flush(0.1) is False
    assert sink.close(0.2) is False
    stats = sink.stats()
    assert stats.abandoned == 40
    assert stats.queued == 0
    assert stats.delivered == 0
    assert stats.retries >= 1
    assert stats.accepted == 40
    # Closing again is harmless and tells the same.
    assert sink.close(0) is False
    assert sink.flush(0) is False


def test_flush_waits_for_events_recorded_before_it_only() -> None:
    log = SinkLog()
    log.gate.clear()
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=PATIENT)
        try:
            for index in range(3):
                sink.record(metering_event(index))
            # A flush that cannot finish while the sink hangs says so at its timeout.
            assert sink.flush(0.1) is False
            log.gate.set()
            assert sink.flush(WAIT_S) is True
        finally:
            sink.close(WAIT_S)

    assert log.count() == 3


def test_a_context_manager_closes_the_sink() -> None:
    log = SinkLog()
    with serve_metering(log) as address:
        with GrpcMeteringSink(address, options=PATIENT) as sink:
            for index in range(5):
                sink.record(metering_event(index))
        stats = sink.stats()

    assert stats.closed
    assert stats.delivered == 5
    assert log.count() == 5


def test_rejected_events_count_as_finished_for_flush() -> None:
    log = SinkLog(
        refuse=lambda event: grpc.StatusCode.INVALID_ARGUMENT if event.tokens_in < 0 else None
    )
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=PATIENT)
        try:
            sink.record(metering_event(0, tokens_in=-1))
            sink.record(metering_event(1))
            assert sink.flush(WAIT_S) is True
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.rejected == 1
    assert stats.delivered == 1
