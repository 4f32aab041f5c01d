"""Failed calls are retried with growing, jittered waits; which answers are retried.

Counts and order are asserted, never how long anything took.
"""

from __future__ import annotations

import random
from dataclasses import replace

import grpc
import pytest

from extplane_client import GrpcAuditSink, GrpcMeteringSink
from extplane_client.delivery import DeliveryEngine
from extplane_client.delivery.grpc_transport import EventTransport, SinkChannel
from extplane_client.delivery.policy import Verdict, backoff_delay, classify
from extplane_protos.orloj.extensions.v1 import metering_pb2
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

TRANSIENT = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.CANCELLED,
)
DENIALS = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)


@pytest.mark.parametrize("code", TRANSIENT, ids=lambda code: code.name)
def test_a_transient_failure_is_retried_until_delivered(code: grpc.StatusCode) -> None:
    log = SinkLog()
    log.fail_next(code, code, code)
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=PATIENT)
        try:
            for index in range(20):
                sink.record(metering_event(index))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.retries == 3
    assert stats.delivered == 20
    assert stats.rejected == 0
    # The batch stayed whole: three refused attempts, then one that stored it all.
    assert log.batch_calls == 4
    assert [event.task for event in log.stored] == [f"task-{i}" for i in range(20)]
    assert log.each_once()


@pytest.mark.parametrize(
    "code",
    [grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS],
    ids=lambda code: code.name,
)
def test_a_server_error_is_retried_a_bounded_number_of_times(code: grpc.StatusCode) -> None:
    log = SinkLog()
    log.fail_next(code, code)
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=replace(FAST, server_error_attempts=3))
        try:
            sink.record(metering_event(0))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.retries == 2
    assert stats.delivered == 1
    assert log.count() == 1


def test_an_event_the_sink_always_fails_on_does_not_block_the_queue() -> None:
    # A sink that crashes on one event: INTERNAL for any call that carries it.
    log = SinkLog(refuse=lambda event: grpc.StatusCode.INTERNAL if event.task == "poison" else None)
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=replace(PATIENT, server_error_attempts=3))
        try:
            sink.record(metering_event(0))
            sink.record(metering_event(1, task="poison"))
            sink.record(metering_event(2))
            assert sink.flush(WAIT_S)
            sink.record(metering_event(3))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    # The batch failed 3 times and was split; alone, the poison failed 3 times.
    assert stats.rejected == 1
    assert stats.delivered == 3
    assert stats.retries == 2 + 2
    assert [event.task for event in log.stored] == ["task-0", "task-2", "task-3"]
    assert stats.batch_mode is True


def test_a_sink_refusing_the_writer_ends_the_batch_as_denied_and_later_events_go_on() -> None:
    log = SinkLog(required_metadata=("authorization", "Bearer new-token-0123456789"))
    with serve_audit(log) as address:
        sink = GrpcAuditSink(address, options=FAST, token="old-token-0123456789")
        try:
            for index in range(5):
                sink.record(audit_event(index))
            assert sink.flush(WAIT_S)
            refused = sink.stats()
            # The operator rotates the sink's token back to what the runtime sends.
            with log.lock:
                log.required_metadata = ("authorization", "Bearer old-token-0123456789")
            sink.record(audit_event(5))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    # One refused batch call, not retried forever and not re-sent one by one.
    assert refused.denied == 5
    assert refused.retries == 0
    assert refused.queued == 0
    assert log.batch_calls == 2
    assert stats.delivered == 1
    assert [event.resource for event in log.stored] == ["tool/search-5"]


@pytest.mark.parametrize("code", DENIALS, ids=lambda code: code.name)
def test_a_denial_from_the_unary_rpc_is_counted_per_event(code: grpc.StatusCode) -> None:
    log = SinkLog()
    log.fail_next(code, code)
    with serve_metering(log, batch=False) as address:
        sink = GrpcMeteringSink(address, options=FAST)
        try:
            for index in range(3):
                sink.record(metering_event(index))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.denied == 2
    assert stats.delivered == 1
    assert stats.retries == 0
    assert stats.accepted == 3


def test_every_status_code_has_a_verdict() -> None:
    verdicts = {
        code: (classify(code, batch=True), classify(code, batch=False)) for code in grpc.StatusCode
    }

    assert verdicts[grpc.StatusCode.OK] == (Verdict.DELIVERED, Verdict.DELIVERED)
    for code in TRANSIENT:
        assert verdicts[code] == (Verdict.RETRY, Verdict.RETRY)
    for code in DENIALS:
        assert verdicts[code] == (Verdict.DENIED, Verdict.DENIED)
    for code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS):
        assert verdicts[code] == (Verdict.SERVER_ERROR, Verdict.SERVER_ERROR)
    for code in (
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.NOT_FOUND,
    ):
        assert verdicts[code] == (Verdict.REJECTED, Verdict.REJECTED)
    # A batch may hold events the sink has and events it has not; one event it has is done.
    assert verdicts[grpc.StatusCode.ALREADY_EXISTS] == (Verdict.REJECTED, Verdict.DELIVERED)
    assert verdicts[grpc.StatusCode.UNIMPLEMENTED] == (Verdict.FALLBACK, Verdict.RETRY)


def test_backoff_ceilings_double_up_to_the_cap_with_full_jitter() -> None:
    def ceiling(attempt: int) -> float:
        return backoff_delay(attempt, initial=0.1, cap=5.0, uniform=lambda: 1.0)

    assert [ceiling(attempt) for attempt in range(8)] == pytest.approx(
        [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    )
    assert ceiling(10_000) == 5.0
    assert backoff_delay(3, initial=0.1, cap=5.0, uniform=lambda: 0.0) == 0.0
    draws = random.Random(7)
    delays = [backoff_delay(4, initial=0.1, cap=5.0, uniform=draws.random) for _ in range(500)]
    assert all(0.0 <= delay < 1.6 for delay in delays)
    # Spread over the whole range, not bunched at the ceiling.
    assert min(delays) < 0.4
    assert max(delays) > 1.2


def test_retries_are_spaced_by_the_jittered_backoff() -> None:
    # The engine draws one jitter per retry; a recording draw sees each of them.
    draws: list[int] = []

    def uniform() -> float:
        draws.append(len(draws))
        return 0.5

    log = SinkLog()
    log.fail_next(*[grpc.StatusCode.UNAVAILABLE] * 4)
    with serve_metering(log) as address:
        channel = SinkChannel(address, delivery=FAST)
        service = metering_pb2.DESCRIPTOR.services_by_name["MeteringSink"]
        transport = EventTransport(
            channel, service, unary="RecordMetering", batch="RecordMeteringBatch"
        )
        engine = DeliveryEngine(transport, FAST, name="metering", uniform=uniform)
        try:
            engine.offer((metering_event(0).SerializeToString(), True, 0))
            assert engine.flush(WAIT_S)
        finally:
            engine.close(WAIT_S)

    assert draws == [0, 1, 2, 3]
    assert engine.stats().retries == 4
    assert log.batch_calls == 5
