"""The bounds the protos declare, checked by `runtime.bounds` in a servicer over real gRPC.

The servicer here does what a service does at its boundary: `bounds.check`
first, then `bounds.range_bound_ns` for its time range; the InvalidRequestError
either raises becomes INVALID_ARGUMENT at the runtime boundary.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
import grpc.aio
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc.error_details_pb2 import BadRequest
from grpc_status import rpc_status

from extplane.runtime import bounds
from extplane.runtime.channels import create_channel
from extplane.runtime.rpc_metrics import Metrics
from extplane.runtime.server import GrpcServer
from extplane.runtime.timestamps import MAX_NS, MIN_NS
from extplane_protos.orloj.extensions.v1 import audit_query_pb2 as audit_q
from extplane_protos.orloj.extensions.v1 import audit_query_pb2_grpc as audit_q_grpc
from extplane_protos.orloj.extensions.v1 import metering_pb2, metering_pb2_grpc
from extplane_protos.orloj.extensions.v1 import metering_query_pb2 as metering_q
from extplane_protos.orloj.extensions.v1 import metering_query_pb2_grpc as metering_q_grpc

WAIT_S = 10
Context = grpc.aio.ServicerContext[Any, Any]


class BoundedQueries(metering_q_grpc.MeteringQueryServiceServicer):
    async def ListMeteringEvents(  # noqa: N802
        self, request: metering_q.ListMeteringEventsRequest, context: Context
    ) -> metering_q.ListMeteringEventsResponse:
        bounds.check(request)
        start = bounds.range_bound_ns(request, "start_time")
        end = bounds.range_bound_ns(request, "end_time")
        # The range as the store would get it, echoed for the test to read.
        return metering_q.ListMeteringEventsResponse(next_page_token=f"{start}:{end}")

    async def GetUsage(  # noqa: N802
        self, request: metering_q.GetUsageRequest, context: Context
    ) -> metering_q.GetUsageResponse:
        bounds.check(request)
        return metering_q.GetUsageResponse(currency="EUR")


class BoundedVerify(audit_q_grpc.AuditQueryServiceServicer):
    async def VerifyAuditLog(  # noqa: N802
        self, request: audit_q.VerifyAuditLogRequest, context: Context
    ) -> audit_q.VerifyAuditLogResponse:
        bounds.check(request)
        return audit_q.VerifyAuditLogResponse(intact=True)

    async def ListAuditEvents(  # noqa: N802
        self, request: audit_q.ListAuditEventsRequest, context: Context
    ) -> audit_q.ListAuditEventsResponse:
        bounds.check(request)
        return audit_q.ListAuditEventsResponse()


class BoundedSink(metering_pb2_grpc.MeteringSinkServicer):
    async def RecordMeteringBatch(  # noqa: N802
        self, request: metering_pb2.RecordMeteringBatchRequest, context: Context
    ) -> metering_pb2.RecordMeteringBatchResponse:
        bounds.check(request)
        return metering_pb2.RecordMeteringBatchResponse()


class BoundedDefinition:
    name = "bounded"
    service_names: Sequence[str] = (
        "orloj.extensions.v1.MeteringQueryService",
        "orloj.extensions.v1.AuditQueryService",
        "orloj.extensions.v1.MeteringSink",
    )

    def add_to_server(self, server: grpc.aio.Server) -> None:
        metering_q_grpc.add_MeteringQueryServiceServicer_to_server(BoundedQueries(), server)
        audit_q_grpc.add_AuditQueryServiceServicer_to_server(BoundedVerify(), server)
        metering_pb2_grpc.add_MeteringSinkServicer_to_server(BoundedSink(), server)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


@pytest.fixture
async def channel() -> AsyncIterator[grpc.aio.Channel]:
    server = GrpcServer(
        BoundedDefinition(), host="127.0.0.1", port=0, shutdown_grace_s=5.0, metrics=Metrics()
    )
    await server.start()
    try:
        async with create_channel(server.address) as channel:
            yield channel
    finally:
        await server.stop(0)


def violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    [detail] = status.details
    bad = BadRequest()
    assert detail.Unpack(bad)
    return {v.field: v.description for v in bad.field_violations}


def ts(seconds: int, nanos: int = 0) -> Timestamp:
    return Timestamp(seconds=seconds, nanos=nanos)


async def refused(call: Any, request: Any) -> dict[str, str]:
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await call(request, timeout=WAIT_S)
    return violations(failed.value)


async def test_integer_bounds_lengths_and_allowed_values_name_each_field(
    channel: grpc.aio.Channel,
) -> None:
    metering = metering_q_grpc.MeteringQueryServiceStub(channel)
    audit = audit_q_grpc.AuditQueryServiceStub(channel)

    assert await refused(
        metering.ListMeteringEvents,
        metering_q.ListMeteringEventsRequest(
            page_size=-1, namespace="n" * 257, agent="a\x00b", page_token="t" * 513
        ),
    ) == {
        "page_size": "must be at least 0",
        "namespace": "at most 256 characters",
        "agent": "must not hold control characters",
        "page_token": "at most 512 characters",
    }
    assert await refused(
        audit.VerifyAuditLog, audit_q.VerifyAuditLogRequest(from_sequence=-5, to_sequence=-1)
    ) == {"from_sequence": "must be at least 0", "to_sequence": "must be at least 0"}
    assert await refused(
        audit.ListAuditEvents,
        audit_q.ListAuditEventsRequest(outcome="maybe", order=7),  # type: ignore[arg-type]
    ) == {
        "outcome": "must be one of '', 'allowed', 'denied', 'error'",
        "order": "7 is not a value of orloj.extensions.v1.AuditOrder",
    }
    # At the bounds, everything is accepted.
    accepted = await audit.ListAuditEvents(
        audit_q.ListAuditEventsRequest(actor="a" * 256, outcome="denied", page_size=0),
        timeout=WAIT_S,
    )
    assert accepted.next_page_token == ""


async def test_required_fields_and_repeated_enum_rules(channel: grpc.aio.Channel) -> None:
    metering = metering_q_grpc.MeteringQueryServiceStub(channel)
    model = metering_q.USAGE_DIMENSION_MODEL

    assert await refused(metering.GetUsage, metering_q.GetUsageRequest()) == {
        "start_time": "required"
    }
    assert await refused(
        metering.GetUsage,
        metering_q.GetUsageRequest(
            start_time=ts(0),
            group_by=[model, metering_q.USAGE_DIMENSION_UNSPECIFIED, model, 9],  # type: ignore[list-item]
            window=5,  # type: ignore[arg-type]
        ),
    ) == {
        "window": "5 is not a value of orloj.extensions.v1.UsageWindow",
        "group_by[2]": "repeats an earlier value",
        "group_by[1]": "must not be USAGE_DIMENSION_UNSPECIFIED",
        "group_by[3]": "9 is not a value of orloj.extensions.v1.UsageDimension",
    }
    answer = await metering.GetUsage(
        metering_q.GetUsageRequest(start_time=ts(0), group_by=[model]), timeout=WAIT_S
    )
    assert answer.currency == "EUR"


async def test_every_timestamp_in_a_request_must_be_valid(channel: grpc.aio.Channel) -> None:
    sink = metering_pb2_grpc.MeteringSinkStub(channel)
    good = metering_pb2.MeteringEvent(namespace="n", timestamp=ts(1_800_000_000))
    beyond_9999 = metering_pb2.MeteringEvent(namespace="n", timestamp=ts(253_402_300_800))
    bad_nanos = metering_pb2.MeteringEvent(namespace="n", timestamp=ts(0, -1))

    assert await refused(
        sink.RecordMeteringBatch,
        metering_pb2.RecordMeteringBatchRequest(events=[good, beyond_9999, good, bad_nanos]),
    ) == {
        "events[1].timestamp": (
            "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z"
        ),
        "events[3].timestamp": "nanos must be in 0..999999999",
    }
    await sink.RecordMeteringBatch(
        metering_pb2.RecordMeteringBatchRequest(events=[good]), timeout=WAIT_S
    )


async def test_query_bounds_outside_what_stores_hold_are_clamped(
    channel: grpc.aio.Channel,
) -> None:
    metering = metering_q_grpc.MeteringQueryServiceStub(channel)

    async def range_of(start: Timestamp | None, end: Timestamp | None) -> str:
        request = metering_q.ListMeteringEventsRequest(start_time=start, end_time=end)
        answer = await metering.ListMeteringEvents(request, timeout=WAIT_S)
        return answer.next_page_token

    # 0001-01-01 .. 9999-12-31T23:59:59.999999999Z: valid, past int64 nanoseconds.
    assert await range_of(ts(-62_135_596_800), ts(253_402_300_799, 999_999_999)) == (
        f"{MIN_NS}:{MAX_NS}"
    )
    assert await range_of(ts(1, 5), None) == "1000000005:None"
    assert await refused(
        metering.ListMeteringEvents,
        metering_q.ListMeteringEventsRequest(end_time=ts(253_402_300_800)),
    ) == {"end_time": "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z"}


def test_the_rules_of_a_type_are_read_once_and_messages_without_rules_are_not_walked() -> None:
    capabilities = bounds.violations(metering_q.GetUsageResponse())
    assert capabilities == []
    first = bounds._rules(metering_q.ListMeteringEventsRequest.DESCRIPTOR)
    assert first is bounds._rules(metering_q.ListMeteringEventsRequest.DESCRIPTOR)
    checked = {rule.field.name for rule in first}
    assert checked == {
        "start_time",
        "end_time",
        "namespace",
        "task",
        "agent",
        "model",
        "page_size",
        "page_token",
    }
