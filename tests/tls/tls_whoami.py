"""A CapabilityProvider that answers with who the caller's certificate says it is,
wrapped as a GrpcServiceDefinition, for the TLS tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc.aio

from extplane.runtime.peer_identity import client_certificate, client_certificate_subject
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc

SERVICE_NAME = capabilities_pb2.DESCRIPTOR.services_by_name["CapabilityProvider"].full_name


class WhoAmI(capabilities_pb2_grpc.CapabilityProviderServicer):
    async def Capabilities(  # noqa: N802
        self, request: capabilities_pb2.CapabilitiesRequest, context: Any
    ) -> capabilities_pb2.CapabilitiesResponse:
        found = client_certificate(context)
        metadata = {"subject": client_certificate_subject(context) or ""}
        if found is not None:
            metadata["common_name"] = found.common_name or ""
            metadata["uris"] = ",".join(found.uris)
        return capabilities_pb2.CapabilitiesResponse(
            snapshot=capabilities_pb2.CapabilitySnapshot(metadata=metadata)
        )


class WhoAmIDefinition:
    @property
    def name(self) -> str:
        return "whoami"

    @property
    def service_names(self) -> Sequence[str]:
        return (SERVICE_NAME,)

    def add_to_server(self, server: grpc.aio.Server) -> None:
        capabilities_pb2_grpc.add_CapabilityProviderServicer_to_server(WhoAmI(), server)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


async def ask(channel: grpc.aio.Channel, timeout: float = 5.0) -> dict[str, str]:  # noqa: ASYNC109
    """The metadata WhoAmI answers with over `channel`."""
    stub = capabilities_pb2_grpc.CapabilityProviderStub(channel)
    response = await stub.Capabilities(capabilities_pb2.CapabilitiesRequest(), timeout=timeout)
    return dict(response.snapshot.metadata)
