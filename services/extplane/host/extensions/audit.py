"""Every upload as an audit event: who stored which version, what it runs and
what it declares; and every component refused at upload, with the reason
(a component importing what the runner does not provide is worth a look).

Action `extension.upload`, actor the admin token's name, resource
`extension/<extension id>@<version>`, no namespace (extensions belong to no
tenant). Outcome `allowed` with details `sha256`, `size_bytes`, `imports`
(JSON) or `grpc_address`, `declared_capabilities` (JSON) and `limits`
(JSON); outcome `denied` with `reason`, `sha256` and `size_bytes`. An
upload answered with the version already stored changes nothing and is not
recorded again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from google.protobuf.timestamp_pb2 import Timestamp

from extplane.host.extensions.model import ExtensionVersion
from extplane_client import AuditSink
from extplane_client.audit_sink import AuditEvent

ACTION = "extension.upload"


def _resource(extension_id: str, version: str) -> str:
    return f"extension/{extension_id}@{version}"


def stored_details(version: ExtensionVersion) -> dict[str, str]:
    details = {
        "declared_capabilities": json.dumps(list(version.declared_capabilities)),
        "limits": json.dumps(
            {
                "timeout_ms": version.limits.timeout_ms,
                "memory_bytes": version.limits.memory_bytes,
                "fuel": version.limits.fuel,
            },
            sort_keys=True,
        ),
    }
    if version.component is not None:
        details["sha256"] = version.component.sha256
        details["size_bytes"] = str(version.component.size_bytes)
        details["imports"] = json.dumps(list(version.component.imports))
    if version.grpc_address is not None:
        details["grpc_address"] = version.grpc_address
    return details


class UploadLog:
    """Never blocks, never raises (the sink's promise)."""

    def __init__(self, sink: AuditSink, clock_ns: Callable[[], int]) -> None:
        self._sink = sink
        self._clock_ns = clock_ns

    def _record(self, actor: str, resource: str, outcome: str, details: Mapping[str, str]) -> None:
        stamp = Timestamp()
        stamp.FromNanoseconds(self._clock_ns())
        self._sink.record(
            AuditEvent(
                timestamp=stamp,
                action=ACTION,
                actor=actor,
                resource=resource,
                outcome=outcome,
                details=dict(details),
            )
        )

    def stored(self, actor: str, version: ExtensionVersion) -> None:
        self._record(actor, version.resource, "allowed", stored_details(version))

    def refused(
        self, actor: str, extension_id: str, version: str, reason: str, sha256: str, size: int
    ) -> None:
        details = {"reason": reason, "sha256": sha256, "size_bytes": str(size)}
        self._record(actor, _resource(extension_id, version), "denied", details)
