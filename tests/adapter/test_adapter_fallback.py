"""A sink that implements only the seed's unary RPC gets every event, one per call.

The test sinks here register no batch method at all, as a sink built from the
seed's contract would: the batch call answers UNIMPLEMENTED, and the adapter
switches to the unary RPC for good.
"""

from __future__ import annotations

import logging
from dataclasses import replace

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
    wait_until,
)
from tests.loopback import unused_port


def test_metering_falls_back_to_record_metering(caplog: pytest.LogCaptureFixture) -> None:
    log = SinkLog()
    with serve_metering(log, batch=False) as address:
        sink = GrpcMeteringSink(address, options=FAST)
        try:
            with caplog.at_level(logging.WARNING, logger="extplane_client.delivery"):
                for index in range(250):
                    sink.record(metering_event(index))
                assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.batch_mode is False
    assert stats.delivered == 250
    assert stats.rejected == stats.retries == 0
    assert log.unary_calls == 250
    assert log.batch_calls == 0
    assert sorted(event.task for event in log.stored) == sorted(f"task-{i}" for i in range(250))
    assert log.each_once()
    assert "batch RPC is not implemented" in caplog.text


def test_audit_falls_back_to_record_audit_in_order_with_one_call_at_a_time() -> None:
    log = SinkLog()
    with serve_audit(log, batch=False) as address:
        sink = GrpcAuditSink(address, options=replace(FAST, unary_concurrency=1))
        try:
            for index in range(250):
                sink.record(audit_event(index))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.batch_mode is False
    assert stats.delivered == 250
    assert log.unary_calls == 250
    assert log.max_in_flight == 1
    assert [event.resource for event in log.stored] == [f"tool/search-{i}" for i in range(250)]
    assert log.each_once()


def test_the_fallback_holds_for_the_sink_and_survives_its_outage() -> None:
    port = unused_port()
    log = SinkLog()
    sink = GrpcMeteringSink(f"127.0.0.1:{port}", options=replace(FAST, capacity=500))
    try:
        with serve_metering(log, batch=False, port=port):
            sink.record(metering_event(0))
            assert sink.flush(WAIT_S)
        assert sink.stats().batch_mode is False
        for index in range(1, 101):
            sink.record(metering_event(index))
        wait_until(lambda: sink.stats().retries >= 2, what="retries while the sink is down")
        with serve_metering(log, batch=False, port=port):
            assert sink.flush(WAIT_S)
        stats = sink.stats()
    finally:
        sink.close(WAIT_S)

    # Once switched, the batch RPC is not tried again: every call was unary.
    assert log.batch_calls == 0
    assert log.unary_calls == 101
    # Several calls at once: the order may interleave, nothing is missing or doubled.
    assert log.each_once()
    assert sorted(event.task for event in log.stored) == sorted(f"task-{i}" for i in range(101))
    assert stats.delivered == 101


def test_unimplemented_unary_rpc_is_a_misrouted_sink_and_the_events_wait() -> None:
    # A server that serves neither RPC of the contract: a wrong address, to be fixed.
    server_log = SinkLog()
    with serve_audit(server_log, batch=False) as address:
        sink = GrpcMeteringSink(address, options=FAST)
        try:
            sink.record(metering_event(0))
            wait_until(lambda: sink.stats().retries >= 3, what="retries against the wrong sink")
            stats = sink.stats()
        finally:
            closed_cleanly = sink.close(0.5)

    assert stats.batch_mode is False
    assert stats.queued == 1
    assert stats.delivered == stats.rejected == 0
    assert closed_cleanly is False
    assert sink.stats().abandoned == 1


def test_a_batch_sink_is_used_in_batches() -> None:
    log = SinkLog()
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=replace(FAST, max_batch=100, max_delay=60.0))
        try:
            for index in range(1000):
                sink.record(metering_event(index))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.batch_mode is True
    assert stats.delivered == 1000
    assert log.unary_calls == 0
    # Full batches go as soon as they fill; none waited for the 60 s tick.
    assert log.batch_calls == 10
    assert log.each_once()


def test_unimplemented_is_not_retried_as_an_error() -> None:
    log = SinkLog()
    log.fail_next(grpc.StatusCode.UNAVAILABLE)
    with serve_metering(log, batch=False) as address:
        sink = GrpcMeteringSink(address, options=FAST)
        try:
            sink.record(metering_event(0))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    # The one retry is the scripted UNAVAILABLE of the unary call.
    assert stats.retries == 1
    assert stats.delivered == 1
    assert log.unary_calls == 2


def test_batches_are_cut_to_max_batch_bytes_in_order() -> None:
    log = SinkLog()
    with serve_audit(log) as address:
        sink = GrpcAuditSink(address, options=replace(PATIENT, max_batch_bytes=2_000))
        try:
            for index in range(30):
                sink.record(audit_event(index, details={"note": "x" * 150}))
            # Larger than a whole batch may be: it goes alone, not refused.
            sink.record(audit_event(30, details={"note": "y" * 5_000}))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.delivered == 31
    assert log.unary_calls == 0
    *small, [big] = log.batch_sizes
    assert big > 5_000
    assert len(small) > 1
    for batch, following in zip(small, log.batch_sizes[1:], strict=True):
        # Each batch is as full as the limit allows: the next event would not fit.
        assert sum(batch) <= 2_000 < sum(batch) + following[0]
    assert [event.resource for event in log.stored] == [f"tool/search-{i}" for i in range(31)]
