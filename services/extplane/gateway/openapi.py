"""An OpenAPI 3.1 document generated from the HTTP bindings and their descriptors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from google.protobuf.descriptor import Descriptor, FieldDescriptor, ServiceDescriptor
from google.rpc import status_pb2

from extplane.gateway.fields import (
    FieldPath,
    accepts_string,
    is_map,
    json_path,
    proto_path,
    resolve_field_path,
)
from extplane.gateway.registry import HttpBinding
from extplane.gateway.schemas import Schema, SchemaBuilder

OPENAPI_VERSION = "3.1.0"
_OPENAPI_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
# Past this depth nested messages are not offered as query parameters.
_MAX_QUERY_DEPTH = 4


def _query_leaves(
    message: Descriptor, prefix: FieldPath = (), seen: frozenset[str] = frozenset()
) -> Iterator[FieldPath]:
    """Every field a query parameter can set: scalars, enums, repeated scalars, string WKTs."""
    chain = seen | {message.full_name}
    for field in message.fields:
        if is_map(field):
            continue
        path = (*prefix, field)
        if accepts_string(field):
            yield path
            continue
        nested = field.message_type
        walkable = not field.is_repeated and len(path) < _MAX_QUERY_DEPTH
        if nested is not None and walkable and nested.full_name not in chain:
            yield from _query_leaves(nested, path, chain)


def _excluded_by(binding: HttpBinding, path: FieldPath) -> bool:
    dotted = proto_path(path)
    bound = [proto_path(fields) for fields in binding.path_fields]
    if binding.body:
        bound.append(binding.body)
    return any(dotted == b or dotted.startswith(b + ".") for b in bound)


def _parameters(binding: HttpBinding, schemas: SchemaBuilder) -> list[Schema]:
    parameters: list[Schema] = [
        {
            "name": variable.field_path,
            "in": "path",
            "required": True,
            "schema": schemas.single(fields[-1]),
        }
        for variable, fields in zip(binding.template.variables, binding.path_fields, strict=True)
    ]
    if binding.body == "*":
        return parameters
    for path in _query_leaves(binding.request_type):
        if _excluded_by(binding, path):
            continue
        leaf: FieldDescriptor = path[-1]
        parameters.append({"name": json_path(path), "in": "query", "schema": schemas.field(leaf)})
    return parameters


def _response_schema(binding: HttpBinding, schemas: SchemaBuilder) -> Schema:
    if not binding.response_body:
        return schemas.message(binding.response_type)
    return schemas.field(resolve_field_path(binding.response_type, binding.response_body)[-1])


def _request_body(binding: HttpBinding, schemas: SchemaBuilder) -> Schema | None:
    if not binding.body:
        return None
    if binding.body == "*":
        schema = schemas.message(binding.request_type)
    else:
        schema = schemas.field(binding.request_type.fields_by_name[binding.body])
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _name(service: ServiceDescriptor) -> str:
    return service.name


def _tag(service: ServiceDescriptor, comments: Mapping[str, str]) -> Schema:
    tag: Schema = {"name": service.name}
    comment = comments.get(service.full_name)
    if comment:
        tag["description"] = comment
    return tag


def _first_sentence(comment: str) -> str:
    flowing = " ".join(comment.split())
    sentence, period, _ = flowing.partition(". ")
    return sentence + (period.strip() if period else "")


def _operation(
    binding: HttpBinding, schemas: SchemaBuilder, error: Schema, comments: Mapping[str, str]
) -> Schema:
    operation: Schema = {
        "operationId": binding.operation_id,
        "tags": [binding.method.containing_service.name],
        "parameters": _parameters(binding, schemas),
        "responses": {
            "200": {
                "description": "A successful response.",
                "content": {"application/json": {"schema": _response_schema(binding, schemas)}},
            },
            "default": {
                "description": "An error: a google.rpc.Status.",
                "content": {"application/json": {"schema": error}},
            },
        },
    }
    body = _request_body(binding, schemas)
    if body is not None:
        operation["requestBody"] = body
    comment = comments.get(binding.method.full_name)
    if comment:
        operation["summary"] = _first_sentence(comment)
        operation["description"] = comment
    return operation


def openapi_document(
    bindings: Iterable[HttpBinding],
    *,
    title: str,
    version: str,
    comments: Mapping[str, str] | None = None,
) -> Schema:
    """The document; `comments` (full proto name -> comment) become summaries and
    descriptions (see `comments.packaged_comments`)."""
    comments = comments or {}
    schemas = SchemaBuilder(comments)
    error = schemas.message(status_pb2.DESCRIPTOR.message_types_by_name["Status"])
    paths: dict[str, dict[str, Schema]] = {}
    ordered = sorted(bindings, key=lambda b: (b.template.openapi_path(), b.http_method))
    for binding in ordered:
        verb = binding.http_method.lower()
        if verb not in _OPENAPI_METHODS:
            continue
        operations = paths.setdefault(binding.template.openapi_path(), {})
        operations[verb] = _operation(binding, schemas, error, comments)
    services = sorted({binding.method.containing_service for binding in ordered}, key=_name)
    tags = [_tag(service, comments) for service in services]
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version},
        "tags": tags,
        "paths": paths,
        "components": {"schemas": dict(sorted(schemas.components.items()))},
    }
