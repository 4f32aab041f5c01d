"""What a component's imports call: the host providers, one RPC per WIT function.

`HostImports` is the seam: the linker (`bindings.py`) turns each guest call
into the RPC's request message, calls `HostImports.call`, and maps the
answer (or the `HostCallError`) back to WIT. `GrpcHostImports`, the default,
sends it to the host provider services over a synchronous gRPC channel with
the execution's install token, so the host's capability enforcement decides
every call exactly as for any other caller.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

import grpc
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

from extplane.host.enforcement import TOKEN_METADATA_KEY
from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import (
    clients_pb2_grpc,
    context_pb2_grpc,
    http_pb2_grpc,
    logging_pb2_grpc,
    secrets_pb2_grpc,
    services_pb2_grpc,
    storage_pb2_grpc,
    ui_proxy_pb2_grpc,
    user_pb2_grpc,
    user_v2_pb2_grpc,
)

# The generated stub of every host interface, by service full name.
_STUBS: dict[str, Callable[[grpc.Channel], Any]] = {
    "alga.extension.v1.ContextService": context_pb2_grpc.ContextServiceStub,
    "alga.extension.v1.SecretsService": secrets_pb2_grpc.SecretsServiceStub,
    "alga.extension.v1.HttpService": http_pb2_grpc.HttpServiceStub,
    "alga.extension.v1.StorageService": storage_pb2_grpc.StorageServiceStub,
    "alga.extension.v1.LoggingService": logging_pb2_grpc.LoggingServiceStub,
    "alga.extension.v1.UiProxyService": ui_proxy_pb2_grpc.UiProxyServiceStub,
    "alga.extension.v1.UserService": user_pb2_grpc.UserServiceStub,
    "alga.extension.v1.UserV2Service": user_v2_pb2_grpc.UserV2ServiceStub,
    "alga.extension.v1.ClientsService": clients_pb2_grpc.ClientsServiceStub,
    "alga.extension.v1.ServicesService": services_pb2_grpc.ServicesServiceStub,
}


class HostCallError(Exception):
    """A host call that did not succeed; `variant` is its WIT error, if it carries one."""

    def __init__(
        self, code: grpc.StatusCode, message: str, variant: alga_errors.Variant | None = None
    ) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.variant = variant


class HostImports(Protocol):
    """The host providers as the imports of one execution see them."""

    def call(self, method: MethodDescriptor, request: Message, timeout_s: float) -> Message:
        """The RPC's response; raises HostCallError when it failed."""
        ...


class HostChannels:
    """One synchronous channel (and its stubs) per host address, for the process's life."""

    def __init__(self) -> None:
        self._channels: dict[str, tuple[grpc.Channel, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def stubs(self, address: str) -> dict[str, Any]:
        with self._lock:
            known = self._channels.get(address)
            if known is None:
                channel = grpc.insecure_channel(address)
                known = (channel, {name: stub(channel) for name, stub in _STUBS.items()})
                self._channels[address] = known
            return known[1]

    def close(self) -> None:
        with self._lock:
            channels, self._channels = self._channels, {}
        for channel, _ in channels.values():
            channel.close()


class GrpcHostImports:
    """Calls the host providers at `address` as the install `token` was issued for."""

    def __init__(self, channels: HostChannels, address: str, token: str) -> None:
        self._stubs = channels.stubs(address)
        self._metadata = ((TOKEN_METADATA_KEY, token),)

    def call(self, method: MethodDescriptor, request: Message, timeout_s: float) -> Message:
        rpc = getattr(self._stubs[method.containing_service.full_name], method.name)
        try:
            response: Message = rpc(request, metadata=self._metadata, timeout=timeout_s)
        except grpc.RpcError as err:
            code = err.code() if callable(getattr(err, "code", None)) else None
            details = err.details() if callable(getattr(err, "details", None)) else None
            raise HostCallError(
                code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN,
                str(details or ""),
                alga_errors.variant_from_error(err),
            ) from None
        return response
