"""What the host tests share. The registry's admin tokens and the registry served
on a real server; and a real host server: GrpcServer with the capability enforcement,
the real ContextService, and a recording generic servicer for every other
Alga service (their providers are other work), plus token-making helpers."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
import grpc.aio
import jwt
from alga_descriptors import alga_services
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from google.rpc.error_details_pb2 import ErrorInfo
from grpc_status import rpc_status

from extplane.host import (
    TOKEN_METADATA_KEY,
    CapabilityEnforcement,
    HostProviders,
    InstallClaims,
    InstallTokenVerifier,
    current_install,
)
from extplane.host.service import HostService
from extplane.keys import SigningKey
from extplane.runtime import GrpcServer
from extplane_client import InstallsClient
from extplane_client.audit_sink import AuditEvent, AuditSink
from extplane_protos.alga.extension.v1 import capability_pb2, handler_pb2

ALL_CAPABILITIES = frozenset(
    service.GetOptions().Extensions[capability_pb2.required_capability]
    for service in alga_services()
    if service.GetOptions().HasExtension(capability_pb2.required_capability)
)


@dataclass
class AuditLog:
    """An in-process `AuditSink`: what the enforcement recorded."""

    events: list[AuditEvent] = field(default_factory=list)

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)

    def flush(self, timeout: float | None = 10.0) -> bool:
        return True

    def close(self, timeout: float | None = 10.0) -> bool:
        return True


@dataclass
class Recorder:
    """Which generic handler ran, with the install it saw."""

    calls: list[tuple[str, InstallClaims | None]] = field(default_factory=list)


def _recording_handler(
    method: MethodDescriptor, recorder: Recorder, enforced: bool
) -> grpc.RpcMethodHandler[Any, Any]:
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)

    async def behave(_request: Message, _context: grpc.aio.ServicerContext[Any, Any]) -> Message:
        recorder.calls.append((method.full_name, current_install() if enforced else None))
        return response_class()

    return grpc.unary_unary_rpc_method_handler(
        behave,
        request_deserializer=request_class.FromString,
        response_serializer=lambda message: message.SerializeToString(),
    )


class _TestHost:
    """HostProviders plus a recording servicer for every other Alga service."""

    name = "host"

    def __init__(self, recorder: Recorder) -> None:
        self._providers = HostProviders()
        self._recorder = recorder
        served = set(self._providers.service_names)
        self._others: list[ServiceDescriptor] = [
            s for s in alga_services() if s.full_name not in served
        ]

    @property
    def service_names(self) -> Sequence[str]:
        return [*self._providers.service_names, *(s.full_name for s in self._others)]

    def add_to_server(self, server: grpc.aio.Server) -> None:
        self._providers.add_to_server(server)
        for service in self._others:
            enforced = (
                service.full_name
                != handler_pb2.DESCRIPTOR.services_by_name["HandlerService"].full_name
            )
            handlers = {
                m.name: _recording_handler(m, self._recorder, enforced) for m in service.methods
            }
            server.add_generic_rpc_handlers(
                [grpc.method_handlers_generic_handler(service.full_name, handlers)]
            )

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


@asynccontextmanager
async def serve_host(
    verifier: InstallTokenVerifier,
    recorder: Recorder | None = None,
    audit: AuditSink | None = None,
) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to a real host server on 127.0.0.1 (ephemeral port)."""
    server = GrpcServer(
        _TestHost(recorder or Recorder()),
        host="127.0.0.1",
        port=0,
        shutdown_grace_s=0,
        interceptors=[CapabilityEnforcement(verifier, audit=audit)],
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            yield channel
    finally:
        await server.stop(0)


def token_metadata(token: str) -> tuple[tuple[str, str], ...]:
    return ((TOKEN_METADATA_KEY, token),)


def error_info(error: grpc.aio.AioRpcError) -> ErrorInfo | None:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return None
    info = ErrorInfo()
    for detail in status.details:
        if detail.Unpack(info):
            return info
    return None


def private_key(key: SigningKey) -> Ed25519PrivateKey:
    loaded = serialization.load_pem_private_key(key.private_pem(), password=None)
    assert isinstance(loaded, Ed25519PrivateKey)
    return loaded


def sign(payload: dict[str, Any], key: SigningKey, **header: Any) -> str:
    """An EdDSA JWT over `payload` signed by `key` (a header value None: left out)."""
    headers = {name: value for name, value in {"kid": key.key_id, **header}.items() if value}
    return jwt.encode(payload, private_key(key), algorithm="EdDSA", headers=headers)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unverified_payload(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def compact(header: dict[str, Any], payload: dict[str, Any], signature: bytes) -> str:
    encode = lambda value: b64url(json.dumps(value, separators=(",", ":")).encode())  # noqa: E731
    return f"{encode(header)}.{encode(payload)}.{b64url(signature)}"


ADMIN_TOKEN = "installs-admin-token-0123456789"
READER_TOKEN = "installs-reader-token-0123456789"
OTHER_TOKEN = "metering-reader-token-0123456789"
AUTH = {
    "tokens": [
        {"name": "platform-admin", "token": ADMIN_TOKEN, "roles": ["installs.admin"]},
        {"name": "support-desk", "token": READER_TOKEN, "roles": ["installs.reader"]},
        {"name": "billing", "token": OTHER_TOKEN, "roles": ["metering.reader"]},
    ]
}


@dataclass
class Registry:
    service: HostService
    address: str
    channel: grpc.aio.Channel

    def client(self, token: str | None = ADMIN_TOKEN) -> InstallsClient:
        return InstallsClient(self.channel, token=token)
