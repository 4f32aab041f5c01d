"""Every RPC of the query services has a typed client method (as the Temporal SDK
checks its clients against the generated stubs): a new RPC fails here until the
client covers it."""

from __future__ import annotations

import inspect
import re

import grpc
import pytest
from google.protobuf.descriptor import ServiceDescriptor

from extplane_client import (
    AuditQueryClient,
    CatalogsClient,
    ExtensionLogsClient,
    ExtensionsClient,
    InstallsClient,
    MeteringQueryClient,
)
from extplane_client._rpc import ChannelClient
from extplane_client.secrets_admin import SecretsAdminClient
from extplane_protos.extplane.admin.v1 import (
    catalogs_pb2,
    catalogs_pb2_grpc,
    extension_logs_pb2,
    extension_logs_pb2_grpc,
    extensions_pb2,
    extensions_pb2_grpc,
    installs_pb2,
    installs_pb2_grpc,
    secrets_pb2,
    secrets_pb2_grpc,
)
from extplane_protos.orloj.extensions.v1 import (
    audit_query_pb2,
    audit_query_pb2_grpc,
    metering_query_pb2,
    metering_query_pb2_grpc,
)

CASES = [
    (
        metering_query_pb2.DESCRIPTOR.services_by_name["MeteringQueryService"],
        metering_query_pb2_grpc.MeteringQueryServiceStub,
        MeteringQueryClient,
    ),
    (
        audit_query_pb2.DESCRIPTOR.services_by_name["AuditQueryService"],
        audit_query_pb2_grpc.AuditQueryServiceStub,
        AuditQueryClient,
    ),
    (
        installs_pb2.DESCRIPTOR.services_by_name["InstallRegistryService"],
        installs_pb2_grpc.InstallRegistryServiceStub,
        InstallsClient,
    ),
    (
        extension_logs_pb2.DESCRIPTOR.services_by_name["ExtensionLogsService"],
        extension_logs_pb2_grpc.ExtensionLogsServiceStub,
        ExtensionLogsClient,
    ),
    (
        secrets_pb2.DESCRIPTOR.services_by_name["SecretsAdminService"],
        secrets_pb2_grpc.SecretsAdminServiceStub,
        SecretsAdminClient,
    ),
    (
        catalogs_pb2.DESCRIPTOR.services_by_name["CatalogAdminService"],
        catalogs_pb2_grpc.CatalogAdminServiceStub,
        CatalogsClient,
    ),
    (
        extensions_pb2.DESCRIPTOR.services_by_name["ExtensionRegistryService"],
        extensions_pb2_grpc.ExtensionRegistryServiceStub,
        ExtensionsClient,
    ),
]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize(("service", "stub_type", "client_type"), CASES)
async def test_the_typed_client_has_a_method_for_every_rpc_of_the_stub(
    service: ServiceDescriptor, stub_type: type, client_type: type[ChannelClient]
) -> None:
    async with grpc.aio.insecure_channel("127.0.0.1:1") as channel:
        stub = stub_type(channel)
        stub_methods = {name for name in vars(stub) if not name.startswith("_")}
    rpcs = {method.name: method for method in service.methods}
    assert stub_methods == set(rpcs), "the generated stub and the descriptors disagree"

    for name, method in rpcs.items():
        member = getattr(client_type, _snake(name), None)
        assert member is not None, f"{client_type.__name__} has no method for {service.name}.{name}"
        if method.server_streaming:
            assert inspect.isasyncgenfunction(member), f"{name} streams: an async iterator"
        else:
            assert inspect.iscoroutinefunction(member), f"{name}: a coroutine"
