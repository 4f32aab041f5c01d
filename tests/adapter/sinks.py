"""Sink services for the adapter tests: real gRPC servers on 127.0.0.1 that remember
every event they are sent, and can be told to fail.

    log = SinkLog()
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=FAST)
        ...
    assert log.once() ...

A `SinkLog` counts each event id as it arrives (so a duplicate delivery shows),
keeps the stored events in arrival order, fails the next calls with the codes
queued in `failures`, and refuses (INVALID_ARGUMENT, nothing of the batch stored)
any event `refuse` picks. `batch=False` serves only the unary RPC, as a sink built
from the seed's contract would: the batch RPC then answers UNIMPLEMENTED. It counts
the calls in its handlers at once (`max_in_flight`), and with `hold_for=n` keeps the
first calls waiting until n are in at once (or `WAIT_S` passed), so a test knows
that n were in flight together.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import grpc
from google.protobuf.message import Message

from extplane_client import DeliveryOptions
from extplane_protos.orloj.extensions.v1 import audit_pb2, metering_pb2

# Quick retries, so an outage in a test lasts milliseconds; ticks of 20 ms.
FAST = DeliveryOptions(
    capacity=10_000,
    max_delay=0.02,
    call_timeout=10.0,
    initial_backoff=0.005,
    max_backoff=0.05,
)
# Batches neither fill nor tick during a test: only flush() or close() sends them,
# so what a test records before flushing goes as one batch.
PATIENT = replace(FAST, max_delay=3600.0)
# Bounds every wait in a test, never an assertion on how long something took.
WAIT_S = 30.0


def wait_until(condition: Callable[[], bool], *, what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what} after {timeout} s")
        time.sleep(0.005)


def _opened() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


@dataclass
class SinkLog:
    """What a test sink was sent, and how it is to answer."""

    # A code, or a code and the text to answer with ("scripted <CODE>" without).
    failures: deque[grpc.StatusCode | tuple[grpc.StatusCode, str]] = field(default_factory=deque)
    refuse: Callable[[Any], grpc.StatusCode | None] = lambda event: None
    required_metadata: tuple[str, str] | None = None
    # While cleared, every call waits in the handler: a sink that hangs.
    gate: threading.Event = field(default_factory=lambda: _opened())
    arrivals: Counter[str] = field(default_factory=Counter)
    stored: list[Any] = field(default_factory=list)
    calls_started: int = 0
    batch_calls: int = 0
    # The encoded size of each event, per batch call that stored its events.
    batch_sizes: list[list[int]] = field(default_factory=list)
    unary_calls: int = 0
    metadata_seen: list[dict[str, str]] = field(default_factory=list)
    hold_for: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._changed = threading.Condition(self.lock)
        self._held = False

    def fail_next(self, *codes: grpc.StatusCode | tuple[grpc.StatusCode, str]) -> None:
        with self.lock:
            self.failures.extend(codes)

    def handle(
        self, events: Sequence[Any], context: grpc.ServicerContext, *, batch: bool
    ) -> list[bool]:
        """Store `events` (all or nothing) or abort the call; True per event seen before."""
        metadata = {key: str(value) for key, value in context.invocation_metadata()}
        with self._changed:
            self.calls_started += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.hold_for and not self._held:
                self._changed.notify_all()
                self._changed.wait_for(
                    lambda: self._held or self.in_flight >= self.hold_for, timeout=WAIT_S
                )
                # Once: the waiting calls go (even if one left meanwhile), later ones too.
                self._held = True
                self._changed.notify_all()
        try:
            return self._handle(events, context, metadata, batch=batch)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _handle(
        self,
        events: Sequence[Any],
        context: grpc.ServicerContext,
        metadata: dict[str, str],
        *,
        batch: bool,
    ) -> list[bool]:
        self.gate.wait()
        with self.lock:
            self.metadata_seen.append(metadata)
            if batch:
                self.batch_calls += 1
            else:
                self.unary_calls += 1
            if self.required_metadata is not None:
                key, value = self.required_metadata
                if metadata.get(key) != value:
                    context.abort(grpc.StatusCode.UNAUTHENTICATED, "unknown bearer token")
            if self.failures:
                scripted = self.failures.popleft()
                if isinstance(scripted, tuple):
                    context.abort(*scripted)
                context.abort(scripted, f"scripted {scripted.name}")
            for index, event in enumerate(events):
                refusal = self.refuse(event)
                if refusal is not None:
                    context.abort(refusal, f"events[{index}]: refused")
            if batch:
                self.batch_sizes.append([event.ByteSize() for event in events])
            duplicates = []
            for event in events:
                duplicate = self.arrivals[event.event_id] > 0
                self.arrivals[event.event_id] += 1
                duplicates.append(duplicate)
                if not duplicate:
                    stored = type(event)()
                    stored.CopyFrom(event)
                    self.stored.append(stored)
            return duplicates

    def ids(self) -> list[str]:
        with self.lock:
            return [event.event_id for event in self.stored]

    def count(self) -> int:
        with self.lock:
            return len(self.stored)

    def each_once(self) -> bool:
        """Every event arrived exactly once (no duplicate delivery)."""
        with self.lock:
            return all(count == 1 for count in self.arrivals.values())


def _handler(
    function: Callable[[Any, grpc.ServicerContext], Message], request: type[Message]
) -> grpc.RpcMethodHandler[Any, Any]:
    return grpc.unary_unary_rpc_method_handler(
        function,
        request_deserializer=request.FromString,
        response_serializer=lambda response: response.SerializeToString(),
    )


def metering_handlers(log: SinkLog, *, batch: bool) -> grpc.GenericRpcHandler:
    def record(
        request: metering_pb2.RecordMeteringRequest, context: grpc.ServicerContext
    ) -> metering_pb2.RecordMeteringResponse:
        [duplicate] = log.handle([request.event], context, batch=False)
        return metering_pb2.RecordMeteringResponse(duplicate=duplicate)

    def record_batch(
        request: metering_pb2.RecordMeteringBatchRequest, context: grpc.ServicerContext
    ) -> metering_pb2.RecordMeteringBatchResponse:
        duplicates = log.handle(request.events, context, batch=True)
        return metering_pb2.RecordMeteringBatchResponse(
            accepted=duplicates.count(False), duplicates=duplicates.count(True)
        )

    handlers = {"RecordMetering": _handler(record, metering_pb2.RecordMeteringRequest)}
    if batch:
        handlers["RecordMeteringBatch"] = _handler(
            record_batch, metering_pb2.RecordMeteringBatchRequest
        )
    return grpc.method_handlers_generic_handler("orloj.extensions.v1.MeteringSink", handlers)


def audit_handlers(log: SinkLog, *, batch: bool) -> grpc.GenericRpcHandler:
    def record(
        request: audit_pb2.RecordAuditRequest, context: grpc.ServicerContext
    ) -> audit_pb2.RecordAuditResponse:
        [duplicate] = log.handle([request.event], context, batch=False)
        return audit_pb2.RecordAuditResponse(duplicate=duplicate, sequence=log.count())

    def record_batch(
        request: audit_pb2.RecordAuditBatchRequest, context: grpc.ServicerContext
    ) -> audit_pb2.RecordAuditBatchResponse:
        duplicates = log.handle(request.events, context, batch=True)
        return audit_pb2.RecordAuditBatchResponse(
            accepted=duplicates.count(False), duplicates=duplicates.count(True)
        )

    handlers = {"RecordAudit": _handler(record, audit_pb2.RecordAuditRequest)}
    if batch:
        handlers["RecordAuditBatch"] = _handler(record_batch, audit_pb2.RecordAuditBatchRequest)
    return grpc.method_handlers_generic_handler("orloj.extensions.v1.AuditSink", handlers)


@contextmanager
def serve(
    handlers: grpc.GenericRpcHandler,
    *,
    port: int = 0,
    credentials: grpc.ServerCredentials | None = None,
    max_receive: int | None = None,
    workers: int = 8,
) -> Iterator[str]:
    """A sync gRPC server on 127.0.0.1 (`port`, or an ephemeral one); yields its address.

    `max_receive`: the largest request it takes (gRPC's default 4 MiB without).
    """
    options = [] if max_receive is None else [("grpc.max_receive_message_length", max_receive)]
    server = grpc.server(ThreadPoolExecutor(max_workers=workers), options=options)
    server.add_generic_rpc_handlers((handlers,))
    address = f"127.0.0.1:{port}"
    if credentials is None:
        bound = server.add_insecure_port(address)
    else:
        bound = server.add_secure_port(address, credentials)
    server.start()
    try:
        yield f"127.0.0.1:{bound}"
    finally:
        server.stop(grace=None).wait()


@contextmanager
def serve_metering(
    log: SinkLog, *, batch: bool = True, port: int = 0, **server: Any
) -> Iterator[str]:
    """`server`: `max_receive`, `workers` as `serve` takes them."""
    with serve(metering_handlers(log, batch=batch), port=port, **server) as address:
        yield address


@contextmanager
def serve_audit(log: SinkLog, *, batch: bool = True, port: int = 0, **server: Any) -> Iterator[str]:
    """`server`: `max_receive`, `workers` as `serve` takes them."""
    with serve(audit_handlers(log, batch=batch), port=port, **server) as address:
        yield address


def metering_event(index: int, **fields: Any) -> metering_pb2.MeteringEvent:
    values: dict[str, Any] = {
        "namespace": "team-a",
        "task": f"task-{index}",
        "agent": "planner",
        "model": "gpt-test",
        "tokens_in": 100 + index,
        "tokens_out": index,
    }
    values.update(fields)
    return metering_pb2.MeteringEvent(**values)


def audit_event(index: int, **fields: Any) -> audit_pb2.AuditEvent:
    values: dict[str, Any] = {
        "action": "tool_invoke",
        "actor": "agent/planner",
        "resource": f"tool/search-{index}",
        "namespace": "team-a",
        "outcome": "allowed",
        "details": {"index": str(index)},
    }
    values.update(fields)
    return audit_pb2.AuditEvent(**values)
