"""The checks of an event sink (MeteringSink, AuditSink), generated from a SinkContract:
liveness, then the unary RPC's clauses, then the batch RPC's, then the sink's own."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from extplane_client.conformance._model import Check
from extplane_client.conformance._probe import Method, Probe
from extplane_client.conformance.liveness import liveness_checks
from extplane_client.conformance.sink_batch import batch_checks
from extplane_client.conformance.sink_contract import SinkContract
from extplane_client.conformance.sink_unary import unary_checks


def sink_checks(sink: SinkContract) -> tuple[Check, ...]:
    """Every check of `sink`, in the order they run (facts flow forward)."""

    def good(probe: Probe) -> tuple[Method[Any, Any], Message]:
        return sink.unary, sink.wrap(sink.fresh_event(probe))

    return (
        *liveness_checks(sink.prefix, good, sink.service),
        *unary_checks(sink),
        *batch_checks(sink),
        *sink.extra,
    )
