"""Upstreams that are another install's handler (`extension:<install id>`): the
call becomes an `ExecuteRequest` the runner's `alga.extension.v1.HandlerService`
executes, at `runner_address`.

The context is the target install's (its tenant is always the caller's: an
install id names an install of the caller's tenant only), with the caller's
request id; the HTTP request is the call's method, `/<remainder>[?query]`, the
ui-proxy's headers (which say who is calling) and the payload. Without a
runner configured such a route answers `internal`, saying so.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
import grpc.aio

from extplane.host.installs.model import Install
from extplane.host.ui_proxy.dialer import (
    UpstreamResponse,
    UpstreamTooLargeError,
    UpstreamUnreachableError,
)
from extplane.runtime.channels import create_channel
from extplane_client.tls import ClientTls
from extplane_protos.alga.extension.v1 import handler_pb2, handler_pb2_grpc, types_pb2


class RunnerNotConfiguredError(Exception):
    """No `runner_address`: extension upstreams cannot be reached."""


class RunnerHandlers:
    """`runner_token`, when set, is sent as `authorization: Bearer <token>` (the
    runner authenticates the host as it would any caller of Execute)."""

    def __init__(
        self, address: str | None, *, token: str | None = None, tls: ClientTls | None = None
    ) -> None:
        self.address = address
        self._token = token
        self._tls = tls
        self._channel: grpc.aio.Channel | None = None
        self._stub: handler_pb2_grpc.HandlerServiceAsyncStub | None = None

    def _runner(self) -> handler_pb2_grpc.HandlerServiceAsyncStub:
        if self.address is None:
            raise RunnerNotConfiguredError(
                "this route's upstream is an extension, but the host has no runner_address "
                "(EXTPLANE_HOST_PROVIDERS__RUNNER_ADDRESS) to execute it"
            )
        if self._stub is None:
            self._channel = create_channel(self.address, tls=self._tls)
            self._stub = handler_pb2_grpc.HandlerServiceStub(self._channel)
        return self._stub

    async def execute(
        self,
        target: Install,
        *,
        request_id: str,
        method: str,
        path: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        timeout_s: float,
        max_response_bytes: int,
    ) -> UpstreamResponse:
        stub = self._runner()
        http = types_pb2.HttpRequest(
            method=method,
            url=path,
            headers=[types_pb2.HttpHeader(name=n, value=v) for n, v in headers],
        )
        if body is not None:
            http.body = body
        request = handler_pb2.ExecuteRequest(
            context=types_pb2.ContextData(
                request_id=request_id,
                tenant_id=target.tenant,
                extension_id=target.extension_id,
                install_id=target.install_id,
                version_id=target.settings.version,
            ),
            http=http,
        )
        metadata = () if self._token is None else (("authorization", f"Bearer {self._token}"),)
        try:
            response = await stub.Execute(request, timeout=timeout_s, metadata=metadata)
        except grpc.aio.AioRpcError as error:
            raise UpstreamUnreachableError(
                f"the runner failed to execute the handler ({error.code().name})"
            ) from None
        if len(response.body) > max_response_bytes:
            raise UpstreamTooLargeError(
                f"the handler answered more than {max_response_bytes} bytes"
            )
        return UpstreamResponse(response.status, response.body)

    async def aclose(self) -> None:
        channel, self._channel, self._stub = self._channel, None, None
        if channel is not None:
            await channel.close()
