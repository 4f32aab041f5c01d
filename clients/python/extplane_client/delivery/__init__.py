"""The delivery machinery shared by the runtime-side sinks (metering, audit).

`DeliveryEngine` queues items and sends them from a worker thread through a
`Transport` (its `sender.Sender` does the sending, `window.CallWindow` the unary
calls in flight at once); `grpc_transport.EventTransport` is the transport for the sink
contracts (a unary RPC and a batch RPC), and `sink.QueueingSink` the base of
`GrpcMeteringSink` and `GrpcAuditSink`.
"""

from extplane_client.delivery.engine import DeliveryEngine, DeliveryStats
from extplane_client.delivery.options import MAX_BATCH_LIMIT, DeliveryOptions
from extplane_client.delivery.sender import Transport

__all__ = ["MAX_BATCH_LIMIT", "DeliveryEngine", "DeliveryOptions", "DeliveryStats", "Transport"]
