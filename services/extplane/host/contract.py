"""What each host RPC requires, read from the Alga contract's descriptors.

Every service of `alga.extension.v1` carrying the `required_capability`
option is a host interface: each of its RPCs needs that capability. A call
without it is answered with the interface's own denial variant where the WIT
function has an error enum with one (the "error enum" column of
docs/contracts.md, the only knowledge kept here, since the descriptors do not
link an RPC to its error enum), and with PERMISSION_DENIED plus ErrorInfo
reason `CAPABILITY_DENIED` otherwise. A newly annotated service is enforced
without any change here; it answers `CAPABILITY_DENIED` until listed below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import grpc
from google.protobuf.descriptor import EnumDescriptor, FileDescriptor, ServiceDescriptor

from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import (
    capability_pb2,
    clients_pb2,
    context_pb2,
    handler_pb2,
    http_pb2,
    logging_pb2,
    secrets_pb2,
    services_pb2,
    storage_pb2,
    types_pb2,
    ui_proxy_pb2,
    user_pb2,
    user_v2_pb2,
)

PACKAGE = "alga.extension.v1"
ALGA_FILES: tuple[FileDescriptor, ...] = tuple(
    module.DESCRIPTOR
    for module in (
        clients_pb2,
        context_pb2,
        handler_pb2,
        http_pb2,
        logging_pb2,
        secrets_pb2,
        services_pb2,
        storage_pb2,
        ui_proxy_pb2,
        user_pb2,
        user_v2_pb2,
    )
)

# RPC -> the WIT error enum its `result` carries (docs/contracts.md, checked
# against it by tests/host). RPCs whose WIT function cannot fail are absent.
_ERROR_ENUMS: Mapping[str, EnumDescriptor] = {
    f"{PACKAGE}.{name}": enum.DESCRIPTOR
    for name, enum in (
        ("SecretsService.Get", types_pb2.SecretError),
        ("HttpService.Fetch", types_pb2.HttpError),
        ("StorageService.Get", types_pb2.StorageError),
        ("StorageService.Put", types_pb2.StorageError),
        ("StorageService.Delete", types_pb2.StorageError),
        ("StorageService.List", types_pb2.StorageError),
        ("UiProxyService.Call", types_pb2.ProxyError),
        ("UserService.GetUser", types_pb2.UserError),
        ("UserV2Service.GetUser", types_pb2.UserError),
        ("ClientsService.ListClients", types_pb2.ClientReadError),
        ("ClientsService.GetClient", types_pb2.ClientReadError),
        ("ServicesService.ListServices", types_pb2.ServiceReadError),
        ("ServicesService.GetService", types_pb2.ServiceReadError),
    )
}


@dataclass(frozen=True)
class Requirement:
    """What one host RPC needs, and how a call without it is refused."""

    service: str  # full name, e.g. alga.extension.v1.SecretsService
    method: str  # e.g. Get
    capability: str
    denial: alga_errors.Variant | None  # None: PERMISSION_DENIED + CAPABILITY_DENIED

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.method}"


def required_capability(service: ServiceDescriptor) -> str | None:
    options = service.GetOptions()
    if not options.HasExtension(capability_pb2.required_capability):
        return None
    return options.Extensions[capability_pb2.required_capability] or None


def denial_variant(enum: EnumDescriptor) -> alga_errors.Variant:
    """The one value of `enum` that answers PERMISSION_DENIED."""
    found = [
        value
        for value in alga_errors.error_variants()
        if value.type is enum and alga_errors.status_for(value) is grpc.StatusCode.PERMISSION_DENIED
    ]
    if len(found) != 1:
        raise RuntimeError(f"{enum.full_name} has {len(found)} PERMISSION_DENIED variants, not 1")
    return found[0]


def host_requirements(files: tuple[FileDescriptor, ...] = ALGA_FILES) -> Mapping[str, Requirement]:
    """Every host RPC by its gRPC path ("/package.Service/Method")."""
    found: dict[str, Requirement] = {}
    seen: set[str] = set()
    for file in files:
        for service in file.services_by_name.values():
            capability = required_capability(service)
            if capability is None:
                continue
            for method in service.methods:
                seen.add(method.full_name)
                enum = _ERROR_ENUMS.get(method.full_name)
                requirement = Requirement(
                    service=service.full_name,
                    method=method.name,
                    capability=capability,
                    denial=None if enum is None else denial_variant(enum),
                )
                found[requirement.path] = requirement
    unknown = set(_ERROR_ENUMS) - seen
    if files is ALGA_FILES and unknown:
        raise RuntimeError(f"error enums listed for RPCs the contract lacks: {sorted(unknown)}")
    return MappingProxyType(found)


HOST_REQUIREMENTS = host_requirements()
