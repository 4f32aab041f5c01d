"""Dispatch to an extension that implements `alga.extension.v1.HandlerService`
over gRPC, in any language (a version with a `grpc_address`).

The call carries the execution's install token and the host's address
(`handler_metadata`), so the handler can call the host providers as the
install, exactly as a component's imports do; its deadline is the
execution's timeout. Whatever status the handler fails with is the
extension's failure (UNAVAILABLE, `HANDLER_FAILED`, the handler's code
named), never passed through as if the runner had said it: a handler's
PERMISSION_DENIED is not the caller's.
"""

from __future__ import annotations

import grpc

from extplane.runner.errors import ExecutionError, failure_error, handler_failed
from extplane.runner.handler_metadata import HOST_ADDRESS_KEY, INSTALL_TOKEN_KEY
from extplane.runner.jobs import ExecutionLimits
from extplane.runtime.channels import create_channel
from extplane.runtime.lifecycle import AsyncLifecycle
from extplane_client.tls import ClientTls
from extplane_protos.alga.extension.v1 import handler_pb2, handler_pb2_grpc

# Room beyond the body cap for the headers and the envelope.
_ENVELOPE_BYTES = 256 * 1024


class GrpcHandlers(AsyncLifecycle):
    """One cached channel per handler address; `stop()` closes them."""

    def __init__(self, *, host_address: str, tls: ClientTls | None, max_response_bytes: int):
        self._host_address = host_address
        self._tls = tls
        self._max_receive = max_response_bytes + _ENVELOPE_BYTES
        self._channels: dict[str, grpc.aio.Channel] = {}

    def _channel(self, address: str) -> grpc.aio.Channel:
        channel = self._channels.get(address)
        if channel is None:
            channel = create_channel(
                address,
                tls=self._tls,
                options=[("grpc.max_receive_message_length", self._max_receive)],
            )
            self._channels[address] = channel
        return channel

    async def execute(
        self,
        address: str,
        request: handler_pb2.ExecuteRequest,
        install_token: str,
        limits: ExecutionLimits,
    ) -> handler_pb2.ExecuteResponse:
        stub = handler_pb2_grpc.HandlerServiceStub(self._channel(address))
        try:
            response: handler_pb2.ExecuteResponse = await stub.Execute(
                request,
                metadata=(
                    (INSTALL_TOKEN_KEY, install_token),
                    (HOST_ADDRESS_KEY, self._host_address),
                ),
                timeout=limits.timeout_ms / 1000,
            )
        except grpc.aio.AioRpcError as error:
            raise _failure(error) from None
        if len(response.body) > limits.max_response_bytes:
            raise failure_error("response too large")
        return response

    async def stop(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close(None)


def _failure(error: grpc.aio.AioRpcError) -> ExecutionError:
    code = error.code()
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return failure_error("timeout")
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than" in (error.details() or ""):
        return failure_error("response too large")
    if code is grpc.StatusCode.UNAVAILABLE:
        return handler_failed("the extension's handler is unreachable")
    return handler_failed(f"the extension's handler failed with {code.name}")
