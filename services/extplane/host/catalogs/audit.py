"""Every catalog load as an audit event: who replaced which tenant's catalog,
and the counts, never the rows (they are the platform's customer data).

Action `catalog.load_clients` / `catalog.load_services`, actor the admin
token's name, resource `catalog/<tenant>/<clients|services>`, namespace the
tenant, outcome `allowed`; details `format`, `bytes`, `loaded_count` and
`previous_count`. Refused files are not stored, so not audited as loads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf.timestamp_pb2 import Timestamp

from extplane_client import AuditSink
from extplane_client.audit_sink import AuditEvent


@dataclass(frozen=True, slots=True)
class Load:
    tenant: str
    catalog: str  # "clients" or "services"
    file_format: str
    size_bytes: int
    loaded: int
    previous: int


class LoadLog:
    """Never blocks, never raises (the sink's promise)."""

    def __init__(self, sink: AuditSink, clock_ns: Callable[[], int]) -> None:
        self._sink = sink
        self._clock_ns = clock_ns

    def record(self, actor: str, load: Load) -> None:
        stamp = Timestamp()
        stamp.FromNanoseconds(self._clock_ns())
        self._sink.record(
            AuditEvent(
                timestamp=stamp,
                action=f"catalog.load_{load.catalog}",
                actor=actor,
                resource=f"catalog/{load.tenant}/{load.catalog}",
                namespace=load.tenant,
                outcome="allowed",
                details={
                    "format": load.file_format,
                    "bytes": str(load.size_bytes),
                    "loaded_count": str(load.loaded),
                    "previous_count": str(load.previous),
                },
            )
        )
