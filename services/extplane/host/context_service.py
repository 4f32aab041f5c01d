"""The Alga `context` interface: `get-context`, answered from the verified
install token alone (no store, no request field can change it)."""

from __future__ import annotations

from typing import Any

import grpc.aio

from extplane.host.enforcement import current_install
from extplane_protos.alga.extension.v1 import context_pb2, context_pb2_grpc, types_pb2


class ContextServicer(context_pb2_grpc.ContextServiceServicer):
    async def GetContext(  # noqa: N802 - the generated servicer's name
        self,
        request: context_pb2.GetContextRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> context_pb2.GetContextResponse:
        install = current_install()
        return context_pb2.GetContextResponse(
            context=types_pb2.ContextData(
                request_id=install.request_id,
                tenant_id=install.tenant_id,
                extension_id=install.extension_id,
                install_id=install.install_id,
                version_id=install.version_id,
            )
        )
