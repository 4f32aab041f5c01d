"""The hand-written wire pieces agree with protobuf's own encoder and decoder."""

from __future__ import annotations

import uuid

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from extplane_client.delivery import wire
from extplane_client.delivery.grpc_transport import EventTransport, SinkChannel
from extplane_protos.orloj.extensions.v1 import audit_pb2, metering_pb2
from tests.adapter.sinks import FAST, metering_event
from tests.loopback import dead_address


@pytest.mark.parametrize("value", [1, 127, 128, 300, 16_383, 16_384, 2**31, 2**63 - 1])
def test_varint_matches_protobuf(value: int) -> None:
    encoded = metering_pb2.MeteringEvent(tokens_in=value).SerializeToString()

    # tokens_in is field 6, a varint: tag 0x30 then the value.
    assert encoded == b"\x30" + wire.varint(value)


def test_zero_is_one_byte() -> None:
    # proto3 does not encode a zero field, so protobuf cannot be asked for this one.
    assert wire.varint(0) == b"\x00"


def test_a_negative_varint_is_refused() -> None:
    with pytest.raises(ValueError, match="never negative"):
        wire.varint(-1)


def test_requests_built_from_encodings_decode_as_the_contract_says() -> None:
    events = [metering_event(index) for index in range(3)]
    encodings = [event.SerializeToString() for event in events]

    batch = metering_pb2.RecordMeteringBatchRequest.FromString(wire.repeated(1, encodings))
    unary = metering_pb2.RecordMeteringRequest.FromString(wire.length_delimited(1, encodings[0]))

    assert list(batch.events) == events
    assert unary.event == events[0]
    assert wire.repeated(1, encodings) == (
        metering_pb2.RecordMeteringBatchRequest(events=events).SerializeToString()
    )


def test_prepare_adds_an_id_and_the_recorded_time_once() -> None:
    channel = SinkChannel(dead_address(), delivery=FAST)
    service = audit_pb2.DESCRIPTOR.services_by_name["AuditSink"]
    transport = EventTransport(channel, service, unary="RecordAudit", batch="RecordAuditBatch")
    try:
        event = audit_pb2.AuditEvent(action="a", actor="b", details={"k": "v"})
        recorded_ns = 1_800_000_000_123_456_789

        stamped = audit_pb2.AuditEvent.FromString(
            transport.prepare((event.SerializeToString(), True, recorded_ns))
        )
        kept_id = audit_pb2.AuditEvent.FromString(
            transport.prepare((audit_pb2.AuditEvent(event_id="mine").SerializeToString(), False, 0))
        )
    finally:
        transport.close()

    assert uuid.UUID(stamped.event_id).version == 7
    assert stamped.timestamp == Timestamp(seconds=1_800_000_000, nanos=123_456_789)
    assert stamped.action == "a"
    assert dict(stamped.details) == {"k": "v"}
    assert kept_id.event_id == "mine"
    assert not kept_id.HasField("timestamp")
