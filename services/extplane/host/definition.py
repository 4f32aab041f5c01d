"""The host providers as one deployable `GrpcServiceDefinition`.

It serves the provider servicers it is given; the `CapabilityEnforcement`
interceptor in front of them is the server's (pass `interceptors=` to
`GrpcServer`), so every host RPC is enforced whichever servicer serves it.
It is both a `HostPart` of `HostService` and servable alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc.aio

from extplane.host.context_service import ContextServicer
from extplane.host.parts import PartContext
from extplane.host.user_service import UserServicer, UserV2Servicer
from extplane_protos.alga.extension.v1 import (
    context_pb2,
    context_pb2_grpc,
    user_pb2,
    user_pb2_grpc,
    user_v2_pb2,
    user_v2_pb2_grpc,
)


class HostProviders:
    name = "host"

    def __init__(self) -> None:
        self._context = ContextServicer()

    @property
    def service_names(self) -> Sequence[str]:
        return [
            context_pb2.DESCRIPTOR.services_by_name["ContextService"].full_name,
            user_pb2.DESCRIPTOR.services_by_name["UserService"].full_name,
            user_v2_pb2.DESCRIPTOR.services_by_name["UserV2Service"].full_name,
        ]

    def add_to_server(self, server: grpc.aio.Server) -> None:
        context_pb2_grpc.add_ContextServiceServicer_to_server(self._context, server)
        user_pb2_grpc.add_UserServiceServicer_to_server(UserServicer(), server)
        user_v2_pb2_grpc.add_UserV2ServiceServicer_to_server(UserV2Servicer(), server)

    async def start(self, context: PartContext | None = None) -> None:
        """Nothing to open; a part of `HostService`, or served on its own."""
        return None

    async def stop(self) -> None:
        return None
