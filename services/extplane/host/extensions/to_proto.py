"""Extension versions as the contract's messages."""

from __future__ import annotations

from extplane.host.extensions.model import ExtensionVersion
from extplane_protos.extplane.admin.v1 import extensions_pb2 as pb


def version_proto(version: ExtensionVersion) -> pb.ExtensionVersion:
    limits = version.limits
    answer = pb.ExtensionVersion(
        extension_id=version.extension_id,
        version=version.version,
        declared_capabilities=version.declared_capabilities,
        limits=pb.ExecutionLimitsSpec(
            timeout_ms=limits.timeout_ms, memory_bytes=limits.memory_bytes, fuel=limits.fuel
        ),
    )
    if version.component is not None:
        ref = version.component
        answer.component.CopyFrom(
            pb.ComponentRef(sha256=ref.sha256, size_bytes=ref.size_bytes, imports=ref.imports)
        )
    elif version.grpc_address is not None:
        answer.grpc_address = version.grpc_address
    answer.create_time.FromNanoseconds(version.created_ns)
    return answer
