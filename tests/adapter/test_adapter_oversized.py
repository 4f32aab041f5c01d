"""An event too large for the sink is dropped and counted; it never blocks the events behind it.

The sinks here are real gRPC servers on 127.0.0.1 with a small receive limit
(`grpc.max_receive_message_length`), so the refusals are gRPC's own:
RESOURCE_EXHAUSTED "Received message larger than max (N vs. L)".
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import grpc
import pytest
from prometheus_client import CollectorRegistry

from extplane_client import DeliveryOptions, GrpcAuditSink, GrpcMeteringSink
from extplane_client.delivery.policy import Verdict, classify, is_size_refusal, size_limit
from extplane_client.delivery.sink import QueueingSink
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

LIMIT = 64 * 1024
BIG = 200 * 1024


def metering_big(index: int) -> Any:
    return metering_event(index, task=f"task-{index}-" + "x" * BIG)


def audit_big(index: int) -> Any:
    return audit_event(index, details={"note": "x" * BIG})


def metering_name(event: Any) -> str:
    return str(event.task)


def audit_name(event: Any) -> str:
    return str(event.resource)


SINKS = {
    "metering": (GrpcMeteringSink, serve_metering, metering_event, metering_big, metering_name),
    "audit": (GrpcAuditSink, serve_audit, audit_event, audit_big, audit_name),
}


@pytest.mark.parametrize("kind", sorted(SINKS))
@pytest.mark.parametrize("batch", [True, False], ids=["batch-rpc", "unary-only"])
def test_an_event_too_large_for_the_sink_costs_only_itself(
    kind: str, batch: bool, caplog: pytest.LogCaptureFixture
) -> None:
    sink_type, serve, event, big, name = SINKS[kind]
    registry = CollectorRegistry()
    log = SinkLog()
    with serve(log, batch=batch, max_receive=LIMIT) as address:
        sink: QueueingSink[Any] = sink_type(address, options=PATIENT, registry=registry)
        try:
            if not batch:
                # First find out that the sink has only the unary RPC.
                sink.record(event(100))
                assert sink.flush(WAIT_S)
                assert sink.stats().batch_mode is False
            with caplog.at_level(logging.WARNING, logger="extplane_client.delivery"):
                for index in range(3):
                    sink.record(event(index))
                sink.record(big(3))
                for index in range(4, 7):
                    sink.record(event(index))
                assert sink.flush(WAIT_S)
            # Nothing is stuck behind it: later events go as usual.
            sink.record(event(7))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
            oversized_metric = registry.get_sample_value(
                "extplane_sink_events_total", {"sink": kind, "outcome": "oversized"}
            )
        finally:
            sink.close(WAIT_S)

    expected = [i for i in range(8) if i != 3]
    assert stats.oversized == 1
    assert oversized_metric == 1
    assert stats.delivered == len(expected) + (0 if batch else 1)
    assert stats.rejected == stats.retries == stats.queued == stats.abandoned == 0
    assert stats.accepted == stats.delivered + stats.oversized
    stored = [name(stored) for stored in log.stored if name(stored) != name(event(100))]
    reference = [name(event(i)) for i in expected]
    if batch:
        # The batch was refused for its size, then sent again one event at a time.
        assert stored == reference
        assert "refused for its size" in caplog.text
    else:
        assert sorted(stored) == sorted(reference)
    assert log.each_once()
    assert "Received message larger than max" in caplog.text
    assert "too large to deliver" in caplog.text


@pytest.mark.parametrize("batch", [True, False], ids=["batch-rpc", "unary-only"])
def test_an_event_past_max_message_bytes_never_goes_on_the_wire(batch: bool) -> None:
    # The case: 5 MiB among good events. The sink here would take 8 MiB, so
    # only the adapter's own check (max_message_bytes, 4 MiB by default) stops it.
    log = SinkLog()
    with serve_metering(log, batch=batch, max_receive=8 << 20) as address:
        sink = GrpcMeteringSink(address, options=PATIENT)
        try:
            if not batch:
                sink.record(metering_event(100))
                assert sink.flush(WAIT_S)
            sink.record(metering_event(0))
            sink.record(metering_event(1, task="x" * (5 << 20)))
            sink.record(metering_event(2))
            sink.record(metering_event(3))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.oversized == 1
    assert stats.retries == 0
    stored = {event.task for event in log.stored}
    assert {"task-0", "task-2", "task-3"} <= stored
    assert all(len(task) < 100 for task in stored)
    if batch:
        # The three good events went together, in one call that was never refused.
        assert log.batch_calls == 1
        assert log.unary_calls == 0
        assert stats.delivered == 3
    else:
        assert log.unary_calls == 1 + 3
        assert stats.delivered == 1 + 3


def test_max_message_bytes_is_the_adapters_limit_and_its_channels() -> None:
    log = SinkLog()
    options = replace(PATIENT, max_message_bytes=10_000, max_batch_bytes=1 << 20)
    with serve_audit(log) as address:
        sink = GrpcAuditSink(address, options=options)
        try:
            for index in range(40):
                sink.record(audit_event(index, details={"note": "n" * 400}))
            sink.record(audit_event(40, details={"note": "x" * 20_000}))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.oversized == 1
    assert stats.delivered == 40
    # Batches are cut to max_message_bytes too, so none was refused for its size.
    assert len(log.batch_sizes) > 1
    assert log.unary_calls == 0
    for sizes in log.batch_sizes:
        assert sum(sizes) + 3 * len(sizes) <= 10_000


def test_a_channel_with_a_lower_send_limit_refuses_locally_and_only_the_big_event_is_lost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = SinkLog()
    with serve_metering(log) as address:
        channel = grpc.insecure_channel(address, options=[("grpc.max_send_message_length", 5_000)])
        sink = GrpcMeteringSink(channel, options=PATIENT)
        try:
            with caplog.at_level(logging.WARNING, logger="extplane_client.delivery"):
                sink.record(metering_event(0))
                sink.record(metering_event(1, task="x" * 10_000))
                sink.record(metering_event(2))
                assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)
            channel.close()

    assert stats.oversized == 1
    assert stats.delivered == 2
    assert [event.task for event in log.stored] == ["task-0", "task-2"]
    assert "Sent message larger than max" in caplog.text


def test_later_batches_are_cut_to_the_limit_the_sink_names(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = SinkLog()
    with serve_audit(log, max_receive=20_000) as address:
        sink = GrpcAuditSink(address, options=PATIENT)
        try:
            with caplog.at_level(logging.WARNING, logger="extplane_client.delivery"):
                for index in range(50):
                    sink.record(audit_event(index, details={"note": "n" * 1_000}))
                assert sink.flush(WAIT_S)
                refused_first = (log.batch_calls, log.unary_calls)
                for index in range(50, 100):
                    sink.record(audit_event(index, details={"note": "n" * 1_000}))
                assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    # The first batch (~50 kB) was refused whole and sent one by one ...
    assert refused_first == (0, 50)
    # ... and from then on batches fit the 20,000 bytes the sink named.
    assert log.batch_calls >= 3
    assert log.unary_calls == 50
    assert all(sum(sizes) + 3 * len(sizes) <= 20_000 for sizes in log.batch_sizes)
    assert stats.delivered == 100
    assert stats.oversized == stats.rejected == 0
    assert [event.resource for event in log.stored] == [f"tool/search-{i}" for i in range(100)]
    assert "at most 20000 bytes" in caplog.text


QUOTA = (grpc.StatusCode.RESOURCE_EXHAUSTED, "quota exceeded: 100 events/s for namespace team-a")


@pytest.mark.parametrize("batch", [True, False], ids=["batch-rpc", "unary-only"])
def test_a_quota_refusal_is_retried_with_backoff_not_dropped(batch: bool) -> None:
    log = SinkLog()
    with serve_metering(log, batch=batch) as address:
        sink = GrpcMeteringSink(address, options=replace(FAST, unary_concurrency=1))
        try:
            sink.record(metering_event(0))
            assert sink.flush(WAIT_S)
            log.fail_next(QUOTA, QUOTA, QUOTA)
            for index in range(1, 5):
                sink.record(metering_event(index))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.retries == 3
    assert stats.delivered == 5
    assert stats.oversized == stats.rejected == 0
    assert [event.task for event in log.stored] == [f"task-{i}" for i in range(5)]


SIZE_TEXTS = [
    "SERVER: Received message larger than max (5242885 vs. 4194304)",  # C-core server
    "CLIENT: Sent message larger than max (600 vs. 500)",  # C-core client
    "Received message larger than max (70000 vs. 65536)",  # grpc-js
    "grpc: received message larger than max (5242885 vs. 4194304)",  # grpc-go
    "grpc: trying to send message larger than max (5242885 vs. 4194304)",  # grpc-go client
    "gRPC message exceeds maximum size 4194304: 5242885",  # grpc-java
    "message size 5242885 is larger than configured readMaxBytes 4194304",  # Connect
    "Received message exceeds the maximum configured message size.",  # grpc-dotnet
]
NOT_SIZE_TEXTS = [
    "quota exceeded: 100 events/s for namespace team-a",
    "too many requests",
    "",
    # The client could not take the answer: the request got through.
    "Stream removed (CLIENT: Received message larger than max (2 vs. 1))",
]


@pytest.mark.parametrize("batch", [True, False])
def test_size_refusals_are_told_from_quotas(batch: bool) -> None:
    def verdict(text: str) -> Verdict:
        return classify(grpc.StatusCode.RESOURCE_EXHAUSTED, batch=batch, details=text)

    assert [verdict(text) for text in SIZE_TEXTS] == [Verdict.TOO_LARGE] * len(SIZE_TEXTS)
    assert [verdict(text) for text in NOT_SIZE_TEXTS] == [Verdict.RETRY] * len(NOT_SIZE_TEXTS)
    # Only RESOURCE_EXHAUSTED speaks of size; the words alone under another code do not.
    assert classify(grpc.StatusCode.INTERNAL, batch=batch, details=SIZE_TEXTS[0]) is (
        Verdict.SERVER_ERROR
    )


def test_the_limit_a_size_refusal_names_is_read_when_given_as_n_vs_l() -> None:
    assert [size_limit(text) for text in SIZE_TEXTS[:5]] == [4194304, 500, 65536, 4194304, 4194304]
    assert size_limit(SIZE_TEXTS[5]) is None
    assert size_limit("Received message larger than max (5 vs. 0)") is None
    assert all(is_size_refusal(text) for text in SIZE_TEXTS)
    assert not any(is_size_refusal(text) for text in NOT_SIZE_TEXTS)


def test_the_new_options_are_checked() -> None:
    with pytest.raises(ValueError, match="max_message_bytes: must be 1-2147483647, got 0"):
        DeliveryOptions(max_message_bytes=0)
    with pytest.raises(ValueError, match="max_message_bytes"):
        DeliveryOptions(max_message_bytes=2**31)
    with pytest.raises(ValueError, match="unary_concurrency: must be 1-1000, got 0"):
        DeliveryOptions(unary_concurrency=0)
