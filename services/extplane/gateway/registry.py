"""Every HTTP binding, read from the `google.api.http` options of the descriptors.

No route is hand-written: importing each generated module under a package puts
its files in the default descriptor pool, and each method's HttpRule (plus its
`additional_bindings`) becomes one `HttpBinding`. A proto that gains an
annotation is served with no gateway change.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import (
    Descriptor,
    FieldDescriptor,
    FileDescriptor,
    MethodDescriptor,
    ServiceDescriptor,
)

from extplane.gateway.errors import BindingError
from extplane.gateway.fields import FieldPathError, accepts_string, resolve_field_path
from extplane.gateway.template import PathTemplate, TemplateError, parse_template

logger = logging.getLogger(__name__)

PROTOS_PACKAGE = "extplane_protos"
HTTP_BODY = "google.api.HttpBody"
_PATTERNS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class HttpBinding:
    """One (HTTP method, path template) pair that calls one unary or server-streaming RPC."""

    method: MethodDescriptor
    http_method: str
    template: PathTemplate
    body: str
    response_body: str
    # 0 for the rule itself, n for its n-th additional binding.
    binding_index: int = 0
    path_fields: tuple[tuple[FieldDescriptor, ...], ...] = field(default=(), compare=False)

    @property
    def service_name(self) -> str:
        name: str = self.method.containing_service.full_name
        return name

    @property
    def rpc_path(self) -> str:
        return f"/{self.service_name}/{self.method.name}"

    @cached_property
    def operation_id(self) -> str:
        base = f"{self.method.containing_service.name}_{self.method.name}"
        return base if self.binding_index == 0 else f"{base}{self.binding_index + 1}"

    @property
    def request_type(self) -> Descriptor:
        return self.method.input_type

    @property
    def response_type(self) -> Descriptor:
        return self.method.output_type

    @property
    def server_streaming(self) -> bool:
        streaming: bool = self.method.server_streaming
        return streaming

    @property
    def raw_body(self) -> bool:
        """True when the response is `google.api.HttpBody`: its bytes are the HTTP body."""
        name: str = self.method.output_type.full_name
        return name == HTTP_BODY


def _http_rule(method: MethodDescriptor) -> http_pb2.HttpRule | None:
    options = method.GetOptions()
    # typeshed types extension handles as plain FieldDescriptors.
    extension: Any = annotations_pb2.http
    if not options.HasExtension(extension):
        return None
    rule: http_pb2.HttpRule = options.Extensions[extension]
    return rule


def _http_rules(rule: http_pb2.HttpRule) -> Iterator[http_pb2.HttpRule]:
    yield rule
    # The spec forbids nesting additional_bindings, so one level is all there is.
    yield from rule.additional_bindings


def _verb_and_path(rule: http_pb2.HttpRule) -> tuple[str, str]:
    kind = rule.WhichOneof("pattern")
    if kind in _PATTERNS:
        return kind.upper(), str(getattr(rule, kind))
    if kind == "custom":
        return rule.custom.kind.upper(), rule.custom.path
    raise BindingError("an HttpRule without a pattern (get, post, ...)")


def _binding(method: MethodDescriptor, rule: http_pb2.HttpRule, binding_index: int) -> HttpBinding:
    where = f"{method.full_name} (binding {binding_index})"
    verb, path = _verb_and_path(rule)
    try:
        template = parse_template(path)
        path_fields = tuple(
            resolve_field_path(method.input_type, variable.field_path)
            for variable in template.variables
        )
        if rule.body not in ("", "*", *method.input_type.fields_by_name):
            raise FieldPathError(f"body {rule.body!r} is not a top-level request field")
        if rule.response_body:
            resolve_field_path(method.output_type, rule.response_body)
    except (TemplateError, FieldPathError) as exc:
        raise BindingError(f"{where}: {exc}") from exc
    for fields in path_fields:
        leaf = fields[-1]
        if leaf.is_repeated or not accepts_string(leaf):
            raise BindingError(f"{where}: path field {leaf.full_name} must be a singular scalar")
    if verb in ("GET", "DELETE") and rule.body:
        raise BindingError(f"{where}: {verb} must not have a body")
    if rule.response_body and method.output_type.full_name == HTTP_BODY:
        raise BindingError(f"{where}: an HttpBody response is the body; response_body has no use")
    return HttpBinding(
        method=method,
        http_method=verb,
        template=template,
        body=rule.body,
        response_body=rule.response_body,
        binding_index=binding_index,
        path_fields=path_fields,
    )


def bindings_for_service(service: ServiceDescriptor) -> list[HttpBinding]:
    bindings: list[HttpBinding] = []
    for method in service.methods:
        rule = _http_rule(method)
        if rule is None:
            continue
        if method.client_streaming:
            logger.warning(
                "%s streams requests; the gateway serves unary and server-streaming RPCs only",
                method.full_name,
            )
            continue
        rules = _http_rules(rule)
        bindings.extend(_binding(method, rule, index) for index, rule in enumerate(rules))
    return bindings


def bindings_for_files(files: Iterable[FileDescriptor]) -> list[HttpBinding]:
    return [
        binding
        for file in files
        for service in file.services_by_name.values()
        for binding in bindings_for_service(service)
    ]


def generated_files(package: str = PROTOS_PACKAGE) -> list[FileDescriptor]:
    """Import every `*_pb2` module under `package`; their file descriptors, sorted by name."""
    root = importlib.import_module(package)
    files: dict[str, FileDescriptor] = {}
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        if not info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(info.name)
        descriptor: FileDescriptor = module.DESCRIPTOR
        files[descriptor.name] = descriptor
    return [files[name] for name in sorted(files)]


def load_bindings(package: str = PROTOS_PACKAGE) -> list[HttpBinding]:
    """Every HTTP binding of every service generated under `package`."""
    return bindings_for_files(generated_files(package))
