"""An OpenAPI 3.1 document generated from the HTTP bindings and their descriptors.

Two things the descriptors do not say come from the caller: which services need
a bearer token (`bearer_services`, declared as the `bearerAuth` scheme) and
which media types a download may have (`download_media_types`, by full method
name; `*/*` otherwise).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence

from google.protobuf.descriptor import Descriptor, FieldDescriptor, ServiceDescriptor
from google.rpc import status_pb2

from extplane.gateway.constraints import body_keywords, query_schema
from extplane.gateway.enums import spellings
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
from extplane.gateway.streaming import NDJSON
from extplane.runtime import bounds

OPENAPI_VERSION = "3.1.0"
BEARER_SCHEME = "bearerAuth"
ANY_MEDIA_TYPE = "*/*"
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


def _enum_note(field: FieldDescriptor) -> str:
    forms = spellings(field.enum_type)
    shorts = ", ".join(f"`{name}`" for name in dict.fromkeys(forms.short_names))
    note = (
        f"One of {shorts}, in any case; the full value name "
        f"(`{forms.full_names[-1]}`) or its number work too."
    )
    if field.is_repeated:
        note += " Repeat the parameter for several values."
    return note


def _query_parameter(
    path: FieldPath, schemas: SchemaBuilder, comments: Mapping[str, str]
) -> Schema:
    leaf: FieldDescriptor = path[-1]
    description = comments.get(leaf.full_name, "")
    if leaf.enum_type is not None:
        note = _enum_note(leaf)
        description = f"{description}\n\n{note}" if description else note
    parameter: Schema = {
        "name": json_path(path),
        "in": "query",
        "schema": query_schema(leaf, schemas.single),
    }
    # Required when the field and every message it sits in are.
    if all(bounds.is_required(field) for field in path):
        parameter["required"] = True
    if description:
        parameter["description"] = description
    return parameter


def _parameters(
    binding: HttpBinding, schemas: SchemaBuilder, comments: Mapping[str, str]
) -> list[Schema]:
    parameters: list[Schema] = [
        {
            "name": variable.field_path,
            "in": "path",
            "required": True,
            "schema": {**schemas.single(fields[-1]), **body_keywords(fields[-1])},
        }
        for variable, fields in zip(binding.template.variables, binding.path_fields, strict=True)
    ]
    if binding.body == "*":
        return parameters
    for path in _query_leaves(binding.request_type):
        if _excluded_by(binding, path):
            continue
        parameters.append(_query_parameter(path, schemas, comments))
    return parameters


def _response_schema(binding: HttpBinding, schemas: SchemaBuilder) -> Schema:
    if not binding.response_body:
        return schemas.message(binding.response_type)
    return schemas.field(resolve_field_path(binding.response_type, binding.response_body)[-1])


def _request_body(binding: HttpBinding, schemas: SchemaBuilder) -> Schema | None:
    if not binding.body:
        return None
    if binding.body == "*":
        bound = {fields[0].json_name for fields in binding.path_fields if len(fields) == 1}
        schema = (
            schemas.without_required(binding.request_type, bound)
            if bound
            else schemas.message(binding.request_type)
        )
    else:
        schema = schemas.field(binding.request_type.fields_by_name[binding.body])
    body: Schema = {"content": {"application/json": {"schema": schema}}}
    # With every required field set by the path, no body at all is a request too.
    if "$ref" in schema or schema.get("required"):
        body["required"] = True
    return body


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


def _success(
    binding: HttpBinding,
    schemas: SchemaBuilder,
    error: Schema,
    download_media_types: Mapping[str, Sequence[str]],
) -> Schema:
    if binding.raw_body:
        media_types = download_media_types.get(binding.method.full_name) or [ANY_MEDIA_TYPE]
        raw: Schema = {"type": "string", "format": "binary"}
        how = "streamed as the upstream sends them" if binding.server_streaming else "as they are"
        return {
            "description": f"The raw bytes of the answer (google.api.HttpBody), {how}. "
            "A failure after the first byte cuts the transfer short.",
            "content": {media_type: {"schema": raw} for media_type in media_types},
        }
    if binding.server_streaming:
        line: Schema = {
            "type": "object",
            "properties": {"result": _response_schema(binding, schemas), "error": error},
        }
        return {
            "description": 'A stream: one JSON object per line, {"result": ...} per message; '
            'a failure after the first line ends it with {"error": ...} and cuts the '
            "transfer short.",
            "content": {NDJSON: {"schema": line}},
        }
    return {
        "description": "A successful response.",
        "content": {"application/json": {"schema": _response_schema(binding, schemas)}},
    }


def _error_response(description: str, error: Schema) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": error}}}


def _operation(
    binding: HttpBinding,
    schemas: SchemaBuilder,
    error: Schema,
    comments: Mapping[str, str],
    *,
    bearer: bool,
    download_media_types: Mapping[str, Sequence[str]],
) -> Schema:
    responses: Schema = {"200": _success(binding, schemas, error, download_media_types)}
    if bearer:
        responses["401"] = _error_response(
            "No bearer token, or one the service does not know (with a "
            '`WWW-Authenticate: Bearer realm="..."` challenge).',
            error,
        )
        responses["403"] = _error_response("The token lacks the role this call needs.", error)
    responses["default"] = _error_response("An error: a google.rpc.Status.", error)
    operation: Schema = {
        "operationId": binding.operation_id,
        "tags": [binding.method.containing_service.name],
        "parameters": _parameters(binding, schemas, comments),
        "responses": responses,
    }
    if bearer:
        operation["security"] = [{BEARER_SCHEME: []}]
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
    bearer_services: Collection[str] = (),
    public_methods: Collection[str] = (),
    download_media_types: Mapping[str, Sequence[str]] | None = None,
) -> Schema:
    """The document; `comments` (full proto name -> comment) become summaries and
    descriptions (see `comments.packaged_comments`). Routes of `bearer_services`
    (full service names) require the `bearerAuth` scheme, but `public_methods`
    (full method names) of them."""
    comments = comments or {}
    download_media_types = download_media_types or {}
    schemas = SchemaBuilder(comments)
    error = schemas.message(status_pb2.DESCRIPTOR.message_types_by_name["Status"])
    paths: dict[str, dict[str, Schema]] = {}
    ordered = sorted(bindings, key=lambda b: (b.template.openapi_path(), b.http_method))
    secured = False
    for binding in ordered:
        verb = binding.http_method.lower()
        if verb not in _OPENAPI_METHODS:
            continue
        bearer = (
            binding.service_name in bearer_services
            and binding.method.full_name not in public_methods
        )
        secured = secured or bearer
        operations = paths.setdefault(binding.template.openapi_path(), {})
        operations[verb] = _operation(
            binding,
            schemas,
            error,
            comments,
            bearer=bearer,
            download_media_types=download_media_types,
        )
    services = sorted({binding.method.containing_service for binding in ordered}, key=_name)
    tags = [_tag(service, comments) for service in services]
    components: Schema = {"schemas": dict(sorted(schemas.components.items()))}
    if secured:
        components["securitySchemes"] = {
            BEARER_SCHEME: {
                "type": "http",
                "scheme": "bearer",
                "description": "A token from the services' configuration, carrying roles "
                "(e.g. `metering.reader`, `audit.reader`).",
            }
        }
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version},
        "tags": tags,
        "paths": paths,
        "components": components,
    }
