"""The host service for the extension registry tests: registry, enforcement and
the extension registry on one real server over either store (its upload
limit raised as the suite raises it), with an in-process audit sink; and
small test components made from component-model WAT text.

A test component imports the interfaces it is given and exports `handler`
(one parameter, a record result) from a core module that never runs: the
registry only compiles and inspects components. `with_custom_section` pads
one to any size while keeping it valid.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import wasmtime
from host_support import ADMIN_TOKEN, AUTH, OTHER_TOKEN, READER_TOKEN, AuditLog
from prometheus_client import CollectorRegistry

from extplane.host.config import HostSettings
from extplane.host.service import HostService
from extplane.runtime import GrpcServer
from extplane.runtime.auth import AuthSettings
from extplane.runtime.kit import ServiceKit
from extplane_client import ExtensionsClient, InstallsClient
from extplane_client.audit_sink import AuditEvent
from extplane_client.extensions import COMPONENT_CHANNEL_OPTIONS

ISSUER_TOKEN = "extensions-issuer-token-0123456789"
EXTENSION_AUTH = {
    "tokens": [
        *AUTH["tokens"],
        {"name": "runner", "token": ISSUER_TOKEN, "roles": ["installs.issuer"]},
    ]
}
__all__ = ["ADMIN_TOKEN", "ISSUER_TOKEN", "OTHER_TOKEN", "READER_TOKEN"]

# Instance types of some imports, as a component declares them.
LOGGING = '(instance (export "info" (func (param "message" string))))'
EMPTY = "(instance)"

_HANDLER = """
  (type $header (record (field "name" string) (field "value" string)))
  (export $header-type "http-header" (type $header))
  (type $response (record
    (field "status" u16)
    (field "headers" (list $header-type))
    (field "body" (option (list u8)))))
  (export $response-type "execute-response" (type $response))
  (core module $guest
    (memory (export "memory") 1)
    (func (export "handler") (param i32) (result i32) unreachable)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) unreachable))
  (core instance $guest (instantiate $guest))
  (func (export "handler") (param "request" u32) (result $response-type)
    (canon lift (core func $guest "handler")
      (memory (core memory $guest "memory"))
      (realloc (core func $guest "realloc"))))
"""


def component(
    imports: Sequence[tuple[str, str]] = (), *, handler: bool = True, marker: str = ""
) -> bytes:
    """A component importing each (name, instance type); `marker` makes its bytes
    differ from another's with the same imports."""
    lines = [f'(import "{name}" {kind})' for name, kind in imports]
    if marker:
        lines.append(f'(core module (@custom "marker" "{marker}"))')
    return bytes(wasmtime.wat2wasm(f"(component {' '.join(lines)} {_HANDLER if handler else ''})"))


def _leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def with_custom_section(base: bytes, total: int) -> bytes:
    """`base` with a custom section appended so the whole is exactly `total` bytes."""
    name = b"padding"
    for header in range(1, 12):
        payload = total - len(base) - 1 - header - 1 - len(name)
        section = bytes([len(name)]) + name + b"\0" * payload
        encoded = _leb128(len(section))
        if len(encoded) == header:
            return base + b"\x00" + encoded + section
    raise ValueError(f"cannot pad to {total} bytes")


@dataclass
class ExtensionsHost:
    service: HostService
    address: str
    channel: grpc.aio.Channel
    audit: AuditLog

    def client(self, token: str | None = ADMIN_TOKEN) -> ExtensionsClient:
        return ExtensionsClient(self.channel, token=token)

    def installs(self, token: str | None = ADMIN_TOKEN) -> InstallsClient:
        return InstallsClient(self.channel, token=token)

    def uploads(self) -> list[AuditEvent]:
        return [e for e in self.audit.events if e.action == "extension.upload"]


@asynccontextmanager
async def serve_extensions_host(database_url: str, data_dir: Path) -> AsyncIterator[ExtensionsHost]:
    kit = ServiceKit.for_directory(
        data_dir, auth=AuthSettings.model_validate(EXTENSION_AUTH), registry=CollectorRegistry()
    )
    service = HostService(HostSettings(port=0, database_url=database_url), kit)
    audit = AuditLog()
    # The deployed sink goes to the audit service; here the events are kept to read.
    service._audit_sink = lambda: audit  # type: ignore[method-assign]
    server = GrpcServer(
        service,
        host="127.0.0.1",
        port=0,
        shutdown_grace_s=0,
        interceptors=service.interceptors,
        max_receive_message_bytes=service.max_receive_message_bytes,
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(
            server.address, options=list(COMPONENT_CHANNEL_OPTIONS)
        ) as channel:
            yield ExtensionsHost(service, server.address, channel, audit)
    finally:
        await server.stop(0)
