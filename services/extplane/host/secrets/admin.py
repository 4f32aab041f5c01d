"""The gRPC face of secrets for operators: `extplane.admin.v1.SecretsAdminService`.

Changes need `installs.admin`, lists `installs.reader` or `installs.admin`
(the registry's roles: whoever may configure an install may set its
secrets). A secret is set only for an install the registry holds. Nothing
here answers, logs or audits a value.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc

from extplane.errors import FailedPreconditionError, NotFoundError
from extplane.host.installs import validation
from extplane.host.installs.store import InstallStore
from extplane.host.secrets.audit import SecretChanges
from extplane.host.secrets.names import check_secret_key
from extplane.host.secrets.sealing import SecretAddress
from extplane.host.secrets.store import StoredSecret
from extplane.host.secrets.vault import SecretVault
from extplane.runtime import INSTALLS_ADMIN, INSTALLS_READER, ServiceKit, Serving, bounds
from extplane_protos.extplane.admin.v1 import secrets_pb2 as pb
from extplane_protos.extplane.admin.v1 import secrets_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext[Any, Any]
SECRETS_ADMIN: str = pb.DESCRIPTOR.services_by_name["SecretsAdminService"].full_name
MAX_SECRETS_PER_INSTALL = 1000
_READERS = (INSTALLS_READER, INSTALLS_ADMIN)

_logger = logging.getLogger(__name__)


def info_proto(secret: StoredSecret) -> pb.SecretInfo:
    info = pb.SecretInfo(key=secret.at.key, key_id=secret.sealed.key_id)
    info.update_time.FromNanoseconds(secret.updated_ns)
    if secret.expire_ns is not None:
        info.expire_time.FromNanoseconds(secret.expire_ns)
    return info


class SecretsAdminServicer(pb_grpc.SecretsAdminServiceServicer):
    def __init__(
        self,
        vault: Serving[SecretVault],
        installs: InstallStore,
        kit: ServiceKit,
        changes: SecretChanges,
    ) -> None:
        self._vault = vault
        self._installs = installs
        self._kit = kit
        self._changes = changes

    async def _install(self, tenant: str, install_id: str) -> None:
        validation.check_names(tenant, install_id)
        if await self._installs.get(tenant, install_id) is None:
            raise NotFoundError(f"no install {install_id!r} of tenant {tenant!r} in the registry")

    async def SetSecret(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.SetSecretRequest, context: Context
    ) -> pb.SetSecretResponse:
        actor = await self._kit.authorizer.require(context, INSTALLS_ADMIN)
        vault = self._vault.current
        bounds.check(request)
        at = SecretAddress(request.tenant, request.install_id, check_secret_key("key", request.key))
        await self._install(at.tenant, at.install_id)
        expire_ns = bounds.stored_instant_ns(request, "expire_time")
        if (
            await vault.store.get(at) is None
            and await vault.store.count(at.tenant, at.install_id) >= MAX_SECRETS_PER_INSTALL
        ):
            raise FailedPreconditionError(
                f"install {at.install_id!r} already holds its limit of "
                f"{MAX_SECRETS_PER_INSTALL} secrets"
            )
        stored = await vault.set(at, request.value, expire_ns)
        info = info_proto(stored)
        details = {"key_id": stored.sealed.key_id}
        if info.HasField("expire_time"):
            details["expire_time"] = info.expire_time.ToJsonString()
        self._changes.record("secret.set", actor, at, details)
        _logger.info(
            "secret %r of install %s/%s set by %s", at.key, at.tenant, at.install_id, actor
        )
        return pb.SetSecretResponse(secret=info)

    async def DeleteSecret(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.DeleteSecretRequest, context: Context
    ) -> pb.DeleteSecretResponse:
        actor = await self._kit.authorizer.require(context, INSTALLS_ADMIN)
        vault = self._vault.current
        bounds.check(request)
        at = SecretAddress(request.tenant, request.install_id, check_secret_key("key", request.key))
        validation.check_names(at.tenant, at.install_id)
        if not await vault.store.delete(at):
            raise NotFoundError(
                f"no secret {at.key!r} for install {at.install_id!r} of tenant {at.tenant!r}"
            )
        self._changes.record("secret.delete", actor, at, {})
        return pb.DeleteSecretResponse()

    async def ListSecrets(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.ListSecretsRequest, context: Context
    ) -> pb.ListSecretsResponse:
        await self._kit.authorizer.require(context, _READERS)
        vault = self._vault.current
        bounds.check(request)
        await self._install(request.tenant, request.install_id)
        found = await vault.store.of_install(request.tenant, request.install_id)
        return pb.ListSecretsResponse(secrets=[info_proto(s) for s in found])
