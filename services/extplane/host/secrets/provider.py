"""`alga.extension.v1.SecretsService`: the calling install's own secrets.

The tenant and install come from the verified token (`current_install()`),
never from the request: a key names a secret of the caller's install only.
The interceptor has already refused a token without `cap:secrets.get`
(SECRET_ERROR_DENIED for Get, PERMISSION_DENIED for List). Reads are counted
by outcome; the value is in the response and nowhere else.
"""

from __future__ import annotations

from typing import Any

import grpc.aio
from prometheus_client import CollectorRegistry

from extplane.host.alga_error import AlgaVariantError
from extplane.host.enforcement import current_install
from extplane.host.secrets.metrics import secret_reads
from extplane.host.secrets.names import check_secret_key
from extplane.host.secrets.sealing import SecretAddress
from extplane.host.secrets.vault import SecretVault
from extplane.runtime import Serving
from extplane_protos.alga.extension.v1 import secrets_pb2, secrets_pb2_grpc

_Context = grpc.aio.ServicerContext[Any, Any]
SECRETS_SERVICE: str = secrets_pb2.DESCRIPTOR.services_by_name["SecretsService"].full_name


class SecretsServicer(secrets_pb2_grpc.SecretsServiceServicer):
    def __init__(self, vault: Serving[SecretVault], registry: CollectorRegistry) -> None:
        self._vault = vault
        self._reads = secret_reads(registry)

    async def Get(  # noqa: N802 - the generated servicer's name
        self, request: secrets_pb2.SecretsServiceGetRequest, context: _Context
    ) -> secrets_pb2.SecretsServiceGetResponse:
        install = current_install()
        at = SecretAddress(
            install.tenant_id, install.install_id, check_secret_key("key", request.key)
        )
        try:
            value = await self._vault.current.read(at)
        except AlgaVariantError as error:
            self._reads.labels(error.variant.name).inc()
            raise
        self._reads.labels("ok").inc()
        return secrets_pb2.SecretsServiceGetResponse(value=value)

    async def List(  # noqa: N802
        self, request: secrets_pb2.SecretsServiceListRequest, context: _Context
    ) -> secrets_pb2.SecretsServiceListResponse:
        install = current_install()
        found = await self._vault.current.store.of_install(install.tenant_id, install.install_id)
        return secrets_pb2.SecretsServiceListResponse(keys=[s.at.key for s in found])
