"""A typed async client for `extplane.admin.v1.SecretsAdminService`.

    async with SecretsAdminClient("127.0.0.1:50054", token=admin_token) as client:
        await client.set_secret(tenant="acme", install_id="inst-1", key="API_KEY", value=v)
        for info in await client.list_secrets(tenant="acme", install_id="inst-1"):
            ...

Changes need a token with `installs.admin`; lists `installs.reader` or
`installs.admin`. No call answers a value. A failed call raises
`SecretsAdminError` carrying the gRPC status code.
"""

from __future__ import annotations

import functools

from google.protobuf.timestamp_pb2 import Timestamp

from extplane_client._rpc import ChannelClient
from extplane_client.errors import ExtplaneError
from extplane_protos.extplane.admin.v1 import secrets_pb2 as pb
from extplane_protos.extplane.admin.v1 import secrets_pb2_grpc

SecretInfo = pb.SecretInfo


class SecretsAdminError(ExtplaneError):
    """A secrets admin call failed; `code` says how (NOT_FOUND, PERMISSION_DENIED, ...)."""


class SecretsAdminClient(ChannelClient):
    """Calls the secrets admin service of one host."""

    error_type = SecretsAdminError

    @functools.cached_property
    def _stub(self) -> secrets_pb2_grpc.SecretsAdminServiceAsyncStub:
        return secrets_pb2_grpc.SecretsAdminServiceStub(self._channel)

    async def set_secret(
        self,
        *,
        tenant: str,
        install_id: str,
        key: str,
        value: str,
        expire_time_ns: int | None = None,
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> pb.SecretInfo:
        request = pb.SetSecretRequest(tenant=tenant, install_id=install_id, key=key, value=value)
        if expire_time_ns is not None:
            stamp = Timestamp()
            stamp.FromNanoseconds(expire_time_ns)
            request.expire_time.CopyFrom(stamp)
        response = await self._unary(self._stub.SetSecret, request, timeout)
        return response.secret

    async def delete_secret(
        self,
        *,
        tenant: str,
        install_id: str,
        key: str,
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> None:
        request = pb.DeleteSecretRequest(tenant=tenant, install_id=install_id, key=key)
        await self._unary(self._stub.DeleteSecret, request, timeout)

    async def list_secrets(
        self,
        *,
        tenant: str,
        install_id: str,
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> list[pb.SecretInfo]:
        request = pb.ListSecretsRequest(tenant=tenant, install_id=install_id)
        response = await self._unary(self._stub.ListSecrets, request, timeout)
        return list(response.secrets)
