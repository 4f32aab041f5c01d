"""Every import of the Alga world (`wit/alga-extension.wit`) bound to `HostImports`.

Each WIT function is one RPC (docs/contracts.md, "WIT functions -> RPCs"):
its parameters fill the request's fields in order, the response's one field
is its value. A `result` answers `Case("ok", value)`, or `Case("err",
case)` when the provider's failure carries a variant of the function's
error enum (`extplane_client.alga_errors`, the contract's table, decodes it).

Any other failure **traps the guest's call**: the functions without an
error enum (`context.get-context`, `secrets.list`, `logging.*`) refused with
PERMISSION_DENIED / CAPABILITY_DENIED, an install token the host no longer
accepts, a host that is down or answers outside the contract. The guest has
no WIT value to receive for them, and a silently wrong value would be worse
than a failed execution; the execution fails with `trap: host call ...`.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import wasmtime
from google.protobuf.descriptor import EnumDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from wasmtime.component import Component, Linker

from extplane.host.contract import HOST_REQUIREMENTS
from extplane.runner.wasm import lowering, values
from extplane.runner.wasm.host_imports import HostCallError, HostImports
from extplane.runner.wasm.lowering import Case
from extplane_protos.alga.extension.v1 import (
    clients_pb2,
    context_pb2,
    http_pb2,
    logging_pb2,
    secrets_pb2,
    services_pb2,
    storage_pb2,
    ui_proxy_pb2,
    user_pb2,
    user_v2_pb2,
)

PACKAGE = "alga:extension"


class Shape(enum.Enum):
    NOTHING = "nothing"  # no return value (logging.*)
    VALUE = "value"  # a plain value (context.get-context, secrets.list)
    RESULT = "result"  # result<T, E> / result<_, E>
    RESULT_OPTION = "result-option"  # result<option<T>, E>: an unset field is none


@dataclass(frozen=True)
class Binding:
    interface: str  # WIT interface, e.g. "user-v2"
    function: str  # WIT function, e.g. "get-user"
    method: MethodDescriptor
    params: tuple[str, ...]  # request fields, in WIT parameter order
    result_field: str | None  # the response field holding the value
    shape: Shape
    error_enum: EnumDescriptor | None = field(init=False)

    def __post_init__(self) -> None:
        requirement = HOST_REQUIREMENTS[
            f"/{self.method.containing_service.full_name}/{self.method.name}"
        ]
        denial = requirement.denial
        object.__setattr__(self, "error_enum", None if denial is None else denial.type)
        if (self.error_enum is None) != (self.shape in (Shape.NOTHING, Shape.VALUE)):
            raise RuntimeError(f"{self.name}: its shape and the contract's error enum disagree")

    @property
    def name(self) -> str:
        return f"{self.interface}.{self.function}"


def _method(module: Any, service: str, method: str) -> MethodDescriptor:
    found: MethodDescriptor = module.DESCRIPTOR.services_by_name[service].methods_by_name[method]
    return found


def _b(
    interface: str,
    function: str,
    module: Any,
    rpc: str,
    params: Sequence[str],
    result_field: str | None,
    shape: Shape,
) -> Binding:
    service, method = rpc.split(".")
    return Binding(
        interface, function, _method(module, service, method), tuple(params), result_field, shape
    )


R, RO, V, N = Shape.RESULT, Shape.RESULT_OPTION, Shape.VALUE, Shape.NOTHING
BINDINGS: tuple[Binding, ...] = (
    _b("context", "get-context", context_pb2, "ContextService.GetContext", (), "context", V),
    _b("secrets", "get", secrets_pb2, "SecretsService.Get", ("key",), "value", R),
    _b("secrets", "list", secrets_pb2, "SecretsService.List", (), "keys", V),
    _b("http", "fetch", http_pb2, "HttpService.Fetch", ("request",), "response", R),
    _b("storage", "get", storage_pb2, "StorageService.Get", ("namespace", "key"), "entry", R),
    _b("storage", "put", storage_pb2, "StorageService.Put", ("entry",), "entry", R),
    _b("storage", "delete", storage_pb2, "StorageService.Delete", ("namespace", "key"), None, R),
    _b(
        "storage", "list", storage_pb2, "StorageService.List", ("namespace", "cursor"), "entries", R
    ),
    _b("logging", "info", logging_pb2, "LoggingService.Info", ("message",), None, N),
    _b("logging", "warn", logging_pb2, "LoggingService.Warn", ("message",), None, N),
    _b("logging", "error", logging_pb2, "LoggingService.Error", ("message",), None, N),
    _b("ui-proxy", "call", ui_proxy_pb2, "UiProxyService.Call", ("route", "payload"), "payload", R),
    _b("user", "get-user", user_pb2, "UserService.GetUser", (), "user", R),
    _b("user-v2", "get-user", user_v2_pb2, "UserV2Service.GetUser", (), "user", R),
    _b(
        "clients",
        "list-clients",
        clients_pb2,
        "ClientsService.ListClients",
        ("input",),
        "result",
        R,
    ),
    _b(
        "clients",
        "get-client",
        clients_pb2,
        "ClientsService.GetClient",
        ("client_id",),
        "client",
        RO,
    ),
    _b(
        "services",
        "list-services",
        services_pb2,
        "ServicesService.ListServices",
        ("input",),
        "result",
        R,
    ),
    _b(
        "services",
        "get-service",
        services_pb2,
        "ServicesService.GetService",
        ("service_id",),
        "service",
        RO,
    ),
)
INTERFACES: tuple[str, ...] = ("types", *dict.fromkeys(b.interface for b in BINDINGS))


class HostCallTrapError(Exception):
    """A host call with no WIT value to answer: it traps the guest (see the module doc)."""


@dataclass
class Execution:
    """What the imports of the execution in progress use and count."""

    imports: HostImports
    deadline: float  # time.monotonic() past which a host call is not started
    host_calls: int = 0
    trap: HostCallTrapError | None = None


CURRENT: ContextVar[Execution | None] = ContextVar("extplane_wasm_execution", default=None)


def _host_function(binding: Binding) -> Callable[..., Any]:
    method = binding.method
    request_class = GetMessageClass(method.input_type)
    fields = [method.input_type.fields_by_name[name] for name in binding.params]
    result_field = (
        None
        if binding.result_field is None
        else method.output_type.fields_by_name[binding.result_field]
    )
    error_enum = binding.error_enum

    def trap(execution: Execution, message: str) -> HostCallTrapError:
        execution.trap = HostCallTrapError(f"host call {binding.name}: {message}")
        return execution.trap

    def call(store: Any, *args: Any) -> Any:
        execution = CURRENT.get()
        if execution is None:
            raise HostCallTrapError(f"host call {binding.name} outside an execution")
        execution.host_calls += 1
        request = request_class()
        try:
            for descriptor, value in zip(fields, args, strict=True):
                values.set_field(request, descriptor, value)
        except values.ContractValueError as err:
            raise trap(execution, f"argument outside the contract: {err}") from None
        remaining = execution.deadline - time.monotonic()
        if remaining <= 0:
            raise trap(execution, "the execution's time is up")
        try:
            response: Message = execution.imports.call(method, request, remaining)
        except HostCallError as err:
            if (
                error_enum is not None
                and err.variant is not None
                and err.variant.type is error_enum
            ):
                return Case("err", values.enum_case(error_enum, err.variant.number))
            raise trap(execution, str(err)) from None
        if binding.shape is Shape.NOTHING:
            return None
        try:
            value = _value(response, result_field, binding.shape)
        except values.ContractValueError as err:
            raise trap(execution, f"answer outside the contract: {err}") from None
        return value if binding.shape is Shape.VALUE else Case("ok", value)

    return call


def _value(response: Message, result_field: Any, shape: Shape) -> Any:
    if result_field is None:
        return None
    if shape is Shape.RESULT_OPTION and not response.HasField(result_field.name):
        return None
    return values.field_value(response, result_field)


def imported_names(engine: wasmtime.Engine, component: Component) -> list[str]:
    return list(component.type.imports(engine))


class UnsupportedImportError(Exception):
    """The component imports an interface that is neither the Alga world's nor WASI's."""


def linker_for(engine: wasmtime.Engine, component: Component) -> Linker:
    """A linker of `component`: WASI p2, the Alga imports, and traps for other WASI.

    `wasi:http` is never linked to wasmtime's outgoing handler (it would make
    requests the capability-checked `http` interface never sees): a guest that
    imports it (every componentize-js component does) gets imports that trap
    when called. Any other import outside the world is refused here, before
    anything runs.
    """
    alga = {f"{PACKAGE}/{name}" for name in INTERFACES}
    foreign = [
        name
        for name in imported_names(engine, component)
        if not name.startswith("wasi:") and name.split("@")[0] not in alga
    ]
    if foreign:
        raise UnsupportedImportError(f"component imports {', '.join(sorted(foreign))}")
    lowering.install()
    linker = Linker(engine)
    linker.add_wasip2()
    with linker.root() as root:
        for interface in INTERFACES:
            with root.add_instance(f"{PACKAGE}/{interface}") as instance:
                for binding in BINDINGS:
                    if binding.interface == interface:
                        instance.add_func(binding.function, _host_function(binding))
    if any(name.startswith("wasi:http/") for name in imported_names(engine, component)):
        # Only then: wasmtime 50 also shadows the WASI p2 functions that a guest
        # imports at an older minor version (wasi:cli@0.2.9 of componentize-py)
        # with traps, so a guest importing wasi:http at such a version fails closed.
        linker.define_unknown_imports_as_traps(component)
    return linker
